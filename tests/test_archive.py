"""The archive: every published post, newest first, 20 a page; checked against a
brute-force computation, in the HTML and in the query plan."""

import datetime
import re

import pytest
from bs4 import BeautifulSoup

from blog import archive
from blog.db import db
from blog.models import DRAFT, PUBLISHED, TRASHED, Post, utcnow
from blog.queries import readers, trash
from tests.test_home import BASE, all_pages, entry_ids, random_site


def expected_archive():
    """Brute force: every published post by (published_at, id), newest first."""
    with db.connection_context():
        posts = list(Post.select().where(Post.status == PUBLISHED))
    return [post.id for post in sorted(posts, key=lambda p: (p.published_at, p.id),
                                       reverse=True)]


@pytest.mark.parametrize('seed', [1, 2])
def test_the_archive_is_every_published_post_newest_first(client, monkeypatch, seed):
    monkeypatch.setattr(archive, 'PER_PAGE', 7)
    random_site(seed)  # drafts, deleted posts and ties in time
    with db.connection_context():
        some = Post.select(Post.id).where(Post.status == PUBLISHED).limit(3)
        for row in some:
            trash.trash(row.id, None, utcnow())
        assert Post.select().where(Post.status == TRASHED).count() == 3
    expected = expected_archive()
    ids, pages = all_pages(client, '/archive')
    assert ids == expected
    assert pages == -(-len(expected) // 7)
    client.get('/archive?page=%d' % (pages + 1), status=404)


def test_entries_show_title_author_date_and_excerpt(client, make_user, make_post):
    alice = make_user('alice', display_name='Alice Liddell')
    older = make_post(alice, title='Older', body='old words', published_at=BASE)
    newest = make_post(alice, title='Down the <rabbit> hole', body='She *fell*.',
                       published_at=BASE + datetime.timedelta(days=1))
    make_post(alice, title='A draft', status=DRAFT)
    response = client.get('/archive')
    assert entry_ids(response) == [newest.id, older.id]  # both of one author's posts
    assert '&lt;rabbit&gt;' in response.text and 'A draft' not in response.text
    soup = BeautifulSoup(response.text, 'html.parser')
    first = soup.find('ol', class_='post-list').li
    assert first.find('a', href='/authors/alice').text == 'Alice Liddell'
    assert first.time['datetime'] == '2024-01-02T12:00:00Z'
    assert first.find('p', class_='excerpt').text == 'She fell.'
    assert soup.find('link', rel='canonical')['href'].endswith('/archive')


def test_the_homepage_and_every_page_link_to_the_archive(client, make_user, make_post):
    make_post(make_user('alice'))
    soup = BeautifulSoup(client.get('/').text, 'html.parser')
    assert soup.find('main').find('a', href='/archive')  # "or the archive for every post"
    assert soup.find('nav').find('a', href='/archive').text == 'Archive'


def test_an_empty_archive_is_a_page_and_page_two_is_404(client):
    assert 'Nothing has been published yet' in client.get('/archive').text
    client.get('/archive?page=2', status=404)
    client.get('/archive?page=0', status=404)
    client.get('/archive?page=x', status=404)


def test_a_new_post_is_in_the_cached_archive_at_once(client, make_user, make_post):
    alice = make_user('alice')
    make_post(alice, title='First')
    assert 'Second' not in client.get('/archive').text
    make_post(alice, title='Second')  # the insert bumps the cache generation
    assert 'Second' in client.get('/archive').text


def test_a_page_reads_only_the_published_date_index(dbconn):
    sql, params = readers.archive_posts(21, 40000).sql()
    plan = ' '.join(row[3] for row in dbconn.execute_sql('EXPLAIN QUERY PLAN ' + sql, params))
    # One walk, of the partial date index alone (from now back: scheduled posts are
    # ahead); the rest are lookups by id.
    walks = re.findall(r'(?:SCAN|SEARCH) \w+ USING (?:COVERING )?INDEX (\w+)', plan)
    assert walks == ['post_published'] and 'SCAN' not in plan, plan
    assert 'post_published (published_at<?)' in plan, plan
    # The ids come in index order; the only sort is of the page's own rows.
    assert plan.count('TEMP B-TREE') == 1 and plan.endswith('FOR ORDER BY'), plan
