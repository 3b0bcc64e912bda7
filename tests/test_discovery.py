"""/sitemap.xml and /robots.txt."""

import datetime
import time
import xml.etree.ElementTree as ET

import pytest

from blog import discovery
from blog.db import db
from blog.models import DRAFT, Post, utcnow
from blog.render import iso_datetime
from tests.conftest import post_path

NS = '{http://www.sitemaps.org/schemas/sitemap/0.9}'


def urlset(response):
    assert response.headers['Content-Type'] == 'application/xml; charset=utf-8'
    root = ET.fromstring(response.body)  # noqa: S314 - our own output
    assert root.tag == NS + 'urlset'
    return {url.find(NS + 'loc').text: getattr(url.find(NS + 'lastmod'), 'text', None)
            for url in root.findall(NS + 'url')}


@pytest.fixture
def site(make_user, make_post):
    alice = make_user('alice')
    bob = make_user('bob')
    make_user('carol')  # nothing published: no author page in the sitemap
    first = make_post(alice, title='One', tags=['python', 'café'])
    second = make_post(bob, title='Two', tags=['python'])
    draft = make_post(alice, title='Draft', status=DRAFT, tags=['secret'])
    with db.connection_context():
        Post.update(updated_at=datetime.datetime(2026, 1, 2, 3, 4, 5, 678),
                    published_at=datetime.datetime(2026, 1, 1, 8, 0)).where(
            Post.id == first.id).execute()
    return first, second, draft


def test_sitemap_lists_public_pages_with_absolute_urls(client, site):
    first, second, draft = site
    urls = urlset(client.get('/sitemap.xml', headers={'Host': 'evil.example'}))
    assert set(urls) == {
        'http://blog.test/', 'http://blog.test/authors',
        'http://blog.test' + post_path(first.id), 'http://blog.test' + post_path(second.id),
        'http://blog.test/authors/alice', 'http://blog.test/authors/bob',
        'http://blog.test/tags/python', 'http://blog.test/tags/caf%C3%A9',
    }
    assert urls['http://blog.test' + post_path(first.id)] == '2026-01-02T03:04:05Z'
    assert urls['http://blog.test' + post_path(second.id)].endswith('Z')
    assert urls['http://blog.test/tags/python'] is None  # only posts carry <lastmod>


def test_sitemap_follows_writes(client, site):
    first, second, draft = site
    assert 'http://blog.test' + post_path(draft.id) not in urlset(client.get('/sitemap.xml'))
    with db.connection_context():
        saved = Post.get_by_id(draft.id)
        saved.status = 'published'
        saved.save_optimistic()
    urls = urlset(client.get('/sitemap.xml'))
    assert 'http://blog.test' + post_path(draft.id) in urls
    assert 'http://blog.test/tags/secret' in urls


def test_empty_site_has_a_valid_sitemap(client):
    assert set(urlset(client.get('/sitemap.xml'))) == {'http://blog.test/',
                                                      'http://blog.test/authors'}


def test_big_site_gets_a_sitemap_index(client, site, monkeypatch, make_user, make_post):
    monkeypatch.setattr(discovery, 'CHUNK', 2)
    response = client.get('/sitemap.xml')
    root = ET.fromstring(response.body)  # noqa: S314 - our own output
    assert root.tag == NS + 'sitemapindex'
    parts = [s.find(NS + 'loc').text for s in root.findall(NS + 'sitemap')]
    assert parts == ['http://blog.test/sitemap.xml?part=%s' % p for p in
                     ('pages-1', 'posts-1', 'authors-1', 'tags-1')]
    everything = {}
    for part in parts:
        everything.update(urlset(client.get(part.replace('http://blog.test', ''))))
    assert len(everything) == 8
    client.get('/sitemap.xml?part=posts-2', status=404)
    for bad in ('nope', 'posts-0', 'posts-x', 'posts-9999999', 'posts-1-1'):
        client.get('/sitemap.xml?part=' + bad, status=404)


def test_robots_txt(client):
    response = client.get('/robots.txt', headers={'Host': 'evil.example'})
    assert response.headers['Content-Type'] == 'text/plain; charset=utf-8'
    lines = response.text.splitlines()
    assert lines[0] == 'User-agent: *'
    assert 'Allow: /' in lines
    for path in ('/admin', '/settings', '/login', '/register', '/posts/new'):
        assert 'Disallow: %s' % path in lines
    assert 'Disallow: /' not in lines
    assert 'Sitemap: http://blog.test/sitemap.xml' in lines


def test_a_scheduled_post_is_listed_from_its_moment_with_that_as_its_lastmod(
        client, make_user, make_post):
    soon = utcnow() + datetime.timedelta(seconds=1)
    post = make_post(make_user('dana'), title='Later', published_at=soon)
    with db.connection_context():
        Post.update(updated_at=soon - datetime.timedelta(days=3)).where(
            Post.id == post.id).execute()
    assert not any('/posts/%d-' % post.id in loc for loc in urlset(client.get('/sitemap.xml')))
    time.sleep(max(0.0, (soon - utcnow()).total_seconds()) + 0.05)
    urls = urlset(client.get('/sitemap.xml'))
    assert urls['http://blog.test' + post_path(post.id)] == iso_datetime(soon)
