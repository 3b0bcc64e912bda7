"""Atom feeds: /feed.atom, /authors/<username>/feed.atom, /tags/<tag>/feed.atom."""

import datetime
import xml.etree.ElementTree as ET

import feedparser
import pytest

from blog import feeds
from blog.db import db
from blog.models import DRAFT, Post
from tests.conftest import PASSWORD, post_path

ATOM = '{http://www.w3.org/2005/Atom}'


def parse(response):
    assert response.headers['Content-Type'] == 'application/atom+xml; charset=utf-8'
    ET.fromstring(response.body)  # noqa: S314 - ours; well-formed whatever the titles
    feed = feedparser.parse(response.body)
    assert not feed.bozo, feed.get('bozo_exception')
    return feed


def ago(minutes):
    return datetime.datetime(2026, 1, 31, 12, 0) - datetime.timedelta(minutes=minutes)


@pytest.fixture
def alice(make_user):
    return make_user('alice', display_name='Alice <Liddell> & "Co"')


@pytest.mark.parametrize('title', [
    'Less < more & "quotes" \'too\'',
    'Ünïcödé ✓ 日本語 😀',
    'Control\x01 char\x1f and \ufffe',
    ']]> <![CDATA[ not really',
])
def test_any_title_makes_a_valid_feed(client, alice, make_post, title):
    make_post(alice, title=title, body='Body with <script>alert(1)</script> & *em*.')
    feed = parse(client.get('/feed.atom'))
    assert len(feed.entries) == 1
    entry = feed.entries[0]
    assert entry.title == feeds.xml_text(title).strip()
    assert entry.author == 'Alice <Liddell> & "Co"'
    # The sanitized HTML travels escaped inside <content type="html">.
    content = entry.content[0]
    assert content.type == 'text/html'
    assert '<em>em</em>' in content.value
    assert '<script>' not in content.value


def test_site_feed_has_absolute_links_and_dates(client, alice, make_user, make_post):
    bob = make_user('bob')
    first = make_post(alice, title='First', tags=['python', 'web'], published_at=ago(10))
    second = make_post(bob, title='Second', published_at=ago(5))
    response = client.get('/feed.atom', headers={'Host': 'evil.example'})
    feed = parse(response)
    assert feed.feed.title == 'Blog: latest posts'
    assert feed.feed.id == 'http://blog.test/feed.atom'
    links = {link.rel: link.href for link in feed.feed.links}
    assert links == {'self': 'http://blog.test/feed.atom', 'alternate': 'http://blog.test/'}
    assert [e.title for e in feed.entries] == ['Second', 'First']
    entry = feed.entries[1]
    assert entry.link == 'http://blog.test' + post_path(first.id)
    # The bare address: an entry keeps its id whatever its slug becomes.
    assert entry.id == 'tag:blog.test,2026-01-31:/posts/%d' % first.id
    assert entry.published == '2026-01-31T11:50:00Z'
    assert [t.term for t in entry.tags] == ['python', 'web']
    assert entry.author_detail.href == 'http://blog.test/authors/alice'
    assert 'evil.example' not in response.text
    root = ET.fromstring(response.body)  # noqa: S314 - our own output
    assert root.find(ATOM + 'updated').text == feed.entries[0].updated
    assert feed.entries[0].id.endswith(':/posts/%d' % second.id)


def test_drafts_never_appear(client, alice, make_post):
    make_post(alice, title='Public')
    make_post(alice, title='Secret draft', status=DRAFT, tags=['python'])
    make_post(alice, title='Tagged', tags=['python'])
    for path in ('/feed.atom', '/authors/alice/feed.atom', '/tags/python/feed.atom'):
        response = client.get(path)
        parse(response)
        assert 'Secret draft' not in response.text


def test_at_most_20_newest_first(client, alice, make_post):
    for i in range(25):
        make_post(alice, title='Post %02d' % i, published_at=ago(100 - i))
    feed = parse(client.get('/feed.atom'))
    assert [e.title for e in feed.entries] == ['Post %02d' % i for i in range(24, 4, -1)]


def test_entry_id_is_stable_and_updated_moves_on_edit(client, alice, make_post):
    post = make_post(alice, title='Before', published_at=ago(60))
    with db.connection_context():
        Post.update(updated_at=ago(60)).where(Post.id == post.id).execute()
    before = parse(client.get('/feed.atom')).entries[0]
    with db.connection_context():
        saved = Post.get_by_id(post.id)
        saved.title = 'After'
        saved.save_optimistic()
    after = parse(client.get('/feed.atom')).entries[0]  # the cache noticed the write
    assert after.title == 'After'
    assert after.id == before.id
    assert after.published == before.published
    assert after.updated > before.updated


def test_author_feed(client, alice, make_user, make_post):
    bob = make_user('bob', display_name='Bob')
    make_post(alice, title='By Alice')
    make_post(bob, title='By Bob')
    feed = parse(client.get('/authors/bob/feed.atom'))
    assert [e.title for e in feed.entries] == ['By Bob']
    assert feed.feed.title == 'Blog: posts by Bob'
    assert feed.feed.link == 'http://blog.test/authors/bob'
    make_user('carol')
    assert parse(client.get('/authors/carol/feed.atom')).entries == []


def test_tag_feed(client, alice, make_post):
    make_post(alice, title='Tagged', tags=['python'])
    make_post(alice, title='Other', tags=['rust'])
    feed = parse(client.get('/tags/python/feed.atom'))
    assert [e.title for e in feed.entries] == ['Tagged']
    assert feed.feed.link == 'http://blog.test/tags/python'
    assert feed.feed.id == 'http://blog.test/tags/python/feed.atom'


@pytest.mark.parametrize('path', [
    '/authors/nobody/feed.atom',
    '/tags/nothing/feed.atom',
    '/tags/secret/feed.atom',  # only a draft carries it
    '/tags/' + 'x' * 300 + '/feed.atom',
])
def test_unknown_author_or_tag_is_404(client, alice, make_post, path):
    make_post(alice, title='Draft', status=DRAFT, tags=['secret'])
    client.get(path, status=404)


@pytest.mark.parametrize('path, location', [
    ('/tags/Python/feed.atom', '/tags/python/feed.atom'),
    ('/authors/ALICE/feed.atom', '/authors/alice/feed.atom'),
])
def test_non_normalised_names_redirect_permanently(client, alice, make_post, path, location):
    make_post(alice, tags=['python'])
    response = client.get(path, status=301)
    assert response.headers['Location'] == location


def test_conditional_get_answers_304(client, alice, make_post):
    make_post(alice, title='One')
    first = client.get('/feed.atom')
    etag = first.headers['ETag']
    client.get('/feed.atom', headers={'If-None-Match': etag}, status=304)
    make_post(alice, title='Two')
    again = client.get('/feed.atom', headers={'If-None-Match': etag}, status=200)
    assert again.headers['ETag'] != etag and 'Two' in again.text


def test_pages_link_their_feeds(client, alice, make_post):
    make_post(alice, tags=['python'])
    home = client.get('/')
    assert 'type="application/atom+xml"' in home.text and 'href="/feed.atom"' in home.text
    tag_page = client.get('/tags/python')
    assert 'rel="alternate" type="application/atom+xml"' in tag_page.text
    assert 'href="/tags/python/feed.atom"' in tag_page.text


def test_feed_reader_subscribes_without_signing_in(client, alice, make_post, auth):
    make_post(alice, title='Hello readers')
    auth.login('alice', PASSWORD)
    signed_in = client.get('/feed.atom').text
    auth.logout()
    assert client.get('/feed.atom').text == signed_in


def test_entries_past_the_size_limit_get_a_summary_and_a_link(client, alice, make_post):
    long_body = 'Opening words about *snakes* & <ladders>.\n\n' + ''.join(
        'Paragraph %d has **bold** text and a [link](https://example.com/%d).\n\n'
        % (i, i) for i in range(1000))
    big = make_post(alice, title='Big', body=long_body, published_at=ago(10))
    small = make_post(alice, title='Small', body='Short *and* whole.', published_at=ago(5))
    assert len(big.html) > feeds.ENTRY_HTML_MAX >= len(small.html)
    response = client.get('/feed.atom')
    assert len(response.body) < feeds.ENTRY_HTML_MAX + 10_000
    by_title = {entry.title: entry.content[0].value for entry in parse(response).entries}
    assert by_title['Small'] == small.html.strip()  # under the limit: the whole HTML
    summary = by_title['Big']
    assert summary.startswith('<p>Opening words about snakes &amp; &lt;ladders&gt;.')
    assert 'Paragraph 999' not in summary and '<strong>' not in summary
    assert summary.endswith('<p><a href="http://blog.test%s">Read the whole post</a>'
                            '</p>' % post_path(big))
    ET.fromstring('<div>%s</div>' % summary)  # noqa: S314 - well-formed markup on its own
