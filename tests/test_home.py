"""The homepage: each author's latest published post, newest first, 20 a page;
checked against a brute-force computation, with its cache and conditional GET."""

import datetime
import email.utils
import random
import re

import pytest
from bs4 import BeautifulSoup

from blog import home
from blog.db import db
from blog.models import DRAFT, PUBLISHED, TRASHED, AuthorLatest, Post, User, utcnow
from blog.queries import listings as queries
from blog.queries import trash
from tests.conftest import post_id_in, post_path

BASE = datetime.datetime(2024, 1, 1, 12, 0, 0)


def entry_ids(response):
    """Post ids on a homepage, in page order."""
    soup = BeautifulSoup(response.text, 'html.parser')
    listing = soup.find('ol', class_='post-list')
    if listing is None:
        return []
    return [post_id_in(li.h2.a['href']) for li in listing.find_all('li')]


def all_pages(client, path='/'):
    """Post ids over every page, following the 'Older' links."""
    ids, page = [], 1
    while True:
        response = client.get(path if page == 1 else '%s?page=%d' % (path, page))
        ids.extend(entry_ids(response))
        if 'rel="next"' not in response.text:
            return ids, page
        page += 1


def expected_homepage():
    """Brute force: every published post, latest per author by (published_at, id)."""
    with db.connection_context():
        posts = list(Post.select().where(Post.status == PUBLISHED))
    latest = {}
    for post in posts:
        key = (post.published_at, post.id)
        if post.author_id not in latest or key > latest[post.author_id][0]:
            latest[post.author_id] = (key, post.id)
    return [post_id for _, post_id in sorted(latest.values(), reverse=True)]


def random_site(seed, authors=30, posts=150):
    """Authors (some with no posts), drafts, deleted posts and many ties in time,
    inserted in bulk (the schema's triggers still run for every row)."""
    rng = random.Random(seed)
    now = utcnow()
    with db.connection_context(), db.atomic():
        User.insert_many([{'username': 'user%02d' % n, 'password': 'x',
                           'display_name': rng.choice(['', 'Name %d' % n]),
                           'created_at': now, 'updated_at': now}
                          for n in range(authors)]).execute()
        writers = [user.id for user in User.select(User.id)][:authors - 4]  # 4 never write
        rows = []
        for _ in range(posts):
            # Few distinct times: ties within one author and between authors.
            when = BASE + datetime.timedelta(seconds=rng.randint(0, 12))
            draft = rng.random() < 0.15
            rows.append({'author': rng.choice(writers), 'title': 'draft' if draft else 'post',
                         'slug': 'draft' if draft else 'post',
                         'body': 'b', 'html': '<p>b</p>',
                         'status': DRAFT if draft else PUBLISHED,
                         'published_at': None if draft else when,
                         'created_at': now, 'updated_at': now})
        Post.insert_many(rows).execute()
        ids = [row.id for row in Post.select(Post.id)]
        Post.delete().where(Post.id.in_(rng.sample(ids, len(ids) // 10))).execute()


@pytest.mark.parametrize('seed', [1, 2, 3])
@pytest.mark.parametrize('first_window, ordered_window', [
    (2000, 20000),  # the defaults: a small site is the ordering's walk
    (1, 10 ** 9),  # windows grow 1, 8, 64, ... until they hold the page
    (7, 10 ** 9),
    (3, 20),  # windows, then the ordering for the deeper pages
    (1, 1),  # the ordering only
])
def test_homepage_matches_brute_force(client, monkeypatch, seed, first_window,
                                      ordered_window):
    monkeypatch.setattr(home, 'FIRST_WINDOW', first_window)
    monkeypatch.setattr(home, 'ORDERED_WINDOW', ordered_window)
    monkeypatch.setattr(home, 'PER_PAGE', 7)
    random_site(seed)
    expected = expected_homepage()
    ids, pages = all_pages(client)
    assert ids == expected
    assert pages == -(-len(expected) // 7)
    client.get('/?page=%d' % (pages + 1), status=404)


@pytest.mark.parametrize('seed', [1, 2, 3])
@pytest.mark.parametrize('limit', [1, 3, 8])
def test_the_window_query_gives_every_slice_exactly(site, seed, limit):
    # Every slice straight from the shortcut (no window growth or ordering walk to
    # fall back on), with many ties at the slices' edges: the post-id lookup runs for
    # the slice's dates only, and a tie at the last date must still be in.
    random_site(seed)
    expected = expected_homepage()
    now = utcnow()
    with db.connection_context():
        for offset in range(len(expected) + 1):
            rows = queries.homepage_posts(offset, limit, now, BASE - datetime.timedelta(1))
            assert [row.id for row in rows] == expected[offset:offset + limit], offset


def test_entries_show_title_author_date_and_excerpt(client, make_user, make_post):
    alice = make_user('alice', display_name='Alice Liddell')
    bob = make_user('bob')
    make_post(alice, title='Older', body='old', published_at=BASE)
    newest = make_post(alice, title='Down the <rabbit> hole',
                       body='# Chapter\n\nShe *fell* & fell.\n\n```\ncode()\n```\n',
                       published_at=BASE + datetime.timedelta(days=1))
    bobs = make_post(bob, title="Bob's", published_at=BASE + datetime.timedelta(hours=1))
    make_post(bob, title='Bob draft', status=DRAFT)
    response = client.get('/')
    assert entry_ids(response) == [newest.id, bobs.id]
    soup = BeautifulSoup(response.text, 'html.parser')
    first = soup.find('ol', class_='post-list').li
    assert first.h2.a['href'] == post_path(newest)
    assert first.h2.a.text == 'Down the <rabbit> hole'  # escaped in the HTML
    assert '&lt;rabbit&gt;' in response.text
    author = first.find('a', href='/authors/alice')
    assert author.text == 'Alice Liddell'
    assert first.time['datetime'] == '2024-01-02T12:00:00Z'
    assert first.find('p', class_='excerpt').text == 'She fell & fell.'  # no heading, no code
    assert 'Older' not in response.text and 'Bob draft' not in response.text
    second = soup.find('ol', class_='post-list').find_all('li')[1]
    assert second.find('a', href='/authors/bob').text == 'bob'  # no display name


def test_empty_site_is_a_friendly_page_and_page_two_is_404(client):
    response = client.get('/')
    assert 'Nothing has been published yet' in response.text
    assert '<a href="/register">Register</a>' in response.text
    client.get('/?page=2', status=404)


def test_drafts_only_is_still_empty(client, make_user, make_post):
    make_post(make_user('alice'), status=DRAFT)
    assert 'Nothing has been published yet' in client.get('/').text


@pytest.fixture
def fortyfive(make_user, make_post):
    """45 authors, one post each, author n's post n minutes after BASE."""
    for n in range(45):
        make_post(make_user('author%02d' % n), title='Post %d' % n,
                  published_at=BASE + datetime.timedelta(minutes=n))


def test_pagination_edges(client, fortyfive):
    first = client.get('/')
    assert len(entry_ids(first)) == 20
    assert 'Post 44' in first.text and 'Post 25' in first.text and 'Post 24' not in first.text
    assert 'rel="prev"' not in first.text and 'href="/?page=2"' in first.text
    second = client.get('/?page=2')
    assert 'rel="prev" href="/"' in second.text and 'rel="next" href="/?page=3"' in second.text
    last = client.get('/?page=3')
    assert len(entry_ids(last)) == 5 and 'Post 0' in last.text
    assert 'rel="next"' not in last.text and 'rel="prev" href="/?page=2"' in last.text
    client.get('/?page=4', status=404)
    client.get('/?page=1')


@pytest.mark.parametrize('query', ['abc', '0', '-1', '1.5', '', '99999', '9999999',
                                   '1' * 40])
def test_bad_pages_are_404(client, fortyfive, query):
    status = 200 if query == '' else 404
    client.get('/?page=' + query, status=status)


def test_deactivated_authors_are_still_shown(client, make_user, make_post):
    make_post(make_user('gone', is_active=False), title='Still here')
    assert 'Still here' in client.get('/').text


def test_editing_an_older_post_does_not_move_it(client, make_user, make_post, dbconn):
    alice, bob = make_user('alice'), make_user('bob')
    old = make_post(alice, title='Old', published_at=BASE)
    new = make_post(bob, title='New', published_at=BASE + datetime.timedelta(hours=1))
    assert entry_ids(client.get('/')) == [new.id, old.id]
    Post.update(title='Old, edited', updated_at=utcnow(), version=Post.version + 1).where(
        Post.id == old.id).execute()
    response = client.get('/')
    assert entry_ids(response) == [new.id, old.id]
    assert 'Old, edited' in response.text


# --- the cache: every kind of write shows at once ---

def _write(kind, alice, bob, old, draft):
    if kind == 'new post':
        Post.create(author=bob, title='Brand new', body='b', html='<p>b</p>', status=PUBLISHED,
                    published_at=utcnow())
        return 'Brand new'
    if kind == 'edit':
        Post.update(title='Retitled').where(Post.id == old.id).execute()
        return 'Retitled'
    if kind == 'publish':
        Post.update(status=PUBLISHED, published_at=utcnow()).where(Post.id == draft.id).execute()
        return 'The draft'
    if kind == 'unpublish':
        Post.update(status=DRAFT).where(Post.id == old.id).execute()
        return '!Alice post'
    if kind == 'delete':
        Post.delete().where(Post.id == old.id).execute()
        return '!Alice post'
    if kind == 'rename':
        User.update(display_name='Alice Renamed').where(User.id == alice.id).execute()
        return 'Alice Renamed'
    raise AssertionError(kind)


@pytest.mark.parametrize('kind', ['new post', 'edit', 'publish', 'unpublish', 'delete',
                                  'rename'])
@pytest.mark.parametrize('signed_in', [False, True])
def test_every_kind_of_write_invalidates_the_cache(client, auth, make_user, make_post, dbconn,
                                                    kind, signed_in):
    alice, bob = make_user('alice'), make_user('bob')
    old = make_post(alice, title='Alice post', published_at=BASE)
    draft = make_post(alice, title='The draft', status=DRAFT)
    if signed_in:
        auth.login('bob')
    before = client.get('/')
    assert client.get('/').text == before.text  # cached now
    expected = _write(kind, alice, bob, old, draft)
    headers = {'If-None-Match': before.headers['ETag']} if not signed_in else {}
    after = client.get('/', headers=headers, status=200)
    if expected.startswith('!'):
        assert expected[1:] not in after.text
    else:
        assert expected in after.text
    assert after.text != before.text


# --- conditional GET ---

def test_anonymous_pages_have_validators_and_304(client, make_user, make_post):
    make_post(make_user('alice'))
    response = client.get('/')
    etag = response.headers['ETag']
    assert re.fullmatch(r'"\d+(\.[0-9a-f]+)?-[0-9a-f]{16}"', etag)
    assert response.headers['Cache-Control'] == 'no-cache'
    assert response.headers['Vary'] == 'Cookie'
    last_modified = email.utils.parsedate_to_datetime(response.headers['Last-Modified'])
    for header in (etag, 'W/' + etag, '"other", ' + etag, '*'):
        not_modified = client.get('/', headers={'If-None-Match': header}, status=304)
        assert not_modified.body == b''
        assert not_modified.headers['ETag'] == etag
    client.get('/', headers={'If-None-Match': '"other"'}, status=200)
    # If-Modified-Since alone: only a date after Last-Modified proves the copy current.
    later = email.utils.format_datetime(last_modified + datetime.timedelta(seconds=5),
                                        usegmt=True)
    client.get('/', headers={'If-Modified-Since': later}, status=304)
    client.get('/', headers={'If-Modified-Since': response.headers['Last-Modified']},
               status=200)
    client.get('/', headers={'If-Modified-Since': 'garbage'}, status=200)
    # An ETag that does not match wins over a date that would.
    client.get('/', headers={'If-None-Match': '"other"', 'If-Modified-Since': later},
               status=200)


def test_etag_differs_per_page_and_changes_with_a_write(client, fortyfive, make_user,
                                                        make_post):
    first, second = client.get('/'), client.get('/?page=2')
    assert first.headers['ETag'] != second.headers['ETag']
    make_post(make_user('newcomer'))
    again = client.get('/', headers={'If-None-Match': first.headers['ETag']}, status=200)
    assert again.headers['ETag'] != first.headers['ETag']
    assert 'newcomer' in again.text


def test_signed_in_readers_get_no_validators(client, auth, make_user, make_post):
    make_post(make_user('alice'))
    etag = client.get('/').headers['ETag']
    auth.login('alice')
    response = client.get('/', headers={'If-None-Match': etag}, status=200)
    assert 'ETag' not in response.headers
    assert response.headers['Cache-Control'] == 'no-cache, private'
    assert 'Signed in as' in response.text


def test_pages_with_a_notice_are_not_cached_whole(client, make_user, make_post):
    make_post(make_user('alice'))
    response = client.get('/?notice=signed-out')
    assert 'ETag' not in response.headers
    assert 'You are signed out.' in response.text
    assert 'You are signed out.' not in client.get('/').text


def test_uncached_config_gives_the_same_pages(config, make_user, make_post):
    from dataclasses import replace

    from webtest import TestApp

    from blog.app import create_app
    make_post(make_user('alice'), title='Visible')
    app = create_app(replace(config, cache_pages=False))
    response = TestApp(app).get('/')
    assert 'Visible' in response.text and 'ETag' in response.headers
    assert len(app.config['blog.site'].cache) == 0


def test_a_deep_page_walks_the_orderings_index(dbconn):
    sql, params = queries.ordered_homepage_posts(7980, 21, utcnow()).sql()
    plan = ' '.join(row[3] for row in dbconn.execute_sql('EXPLAIN QUERY PLAN ' + sql, params))
    # The index is the order, merged with the few authors whose latest post is still
    # scheduled (their shortcut sorts only them); the last sort is of the page's 21 rows.
    assert re.search(r'MERGE \(UNION ALL\) LEFT SEARCH \w+ USING COVERING INDEX '
                     r'author_latest_order \(published_at<\?\)', plan), plan
    assert re.search(r'USING COVERING INDEX author_latest_order \(published_at>\?\)', plan)
    assert plan.count('TEMP B-TREE') == 2 and plan.endswith('FOR ORDER BY'), plan
    assert not re.search(r'SCAN (t1|tied|post)\b', plan), plan  # no walk over posts


def ordering():
    """The homepage's ordering as stored: {author id: (published_at, post id)}."""
    with db.connection_context():
        return {row.author_id: (row.published_at, row.post_id)
                for row in AuthorLatest.select()}


def expected_ordering():
    """Brute force over every post: each author's latest (published_at, id)."""
    with db.connection_context():
        posts = list(Post.select().where(Post.status == PUBLISHED))
    latest = {}
    for post in posts:
        latest[post.author_id] = max(latest.get(post.author_id, (BASE, 0)),
                                     (post.published_at, post.id))
    return latest


@pytest.mark.parametrize('seed', [4, 5, 6])
def test_the_ordering_follows_every_kind_of_write(site, seed):
    random_site(seed, authors=8, posts=40)
    assert ordering() == expected_ordering()  # the inserts' upserts
    rng = random.Random(seed)
    now = utcnow()
    authors = [user.id for user in User.select(User.id)]
    with db.connection_context():
        for step in range(150):
            ids = [row.id for row in Post.select(Post.id)]
            post = Post.get_by_id(rng.choice(ids))
            when = BASE + datetime.timedelta(seconds=rng.randint(0, 12))
            kind = rng.choice(['unpublish', 'publish', 'redate', 'move', 'trash',
                               'restore', 'delete', 'insert', 'retitle'])

            def update(**values):
                Post.update(**values).where(Post.id == post.id).execute()  # noqa: B023
            if kind == 'unpublish' and post.status == PUBLISHED:
                update(status=DRAFT)
            elif kind == 'publish' and post.status == DRAFT:
                update(status=PUBLISHED, published_at=post.published_at or when)
            elif kind == 'redate' and post.status == PUBLISHED:
                update(published_at=when)
            elif kind == 'move':
                update(author=rng.choice(authors))
            elif kind == 'trash' and post.status != TRASHED:
                trash.trash(post.id, post.author_id, now)
            elif kind == 'restore' and post.status == TRASHED:
                trash.untrash(post.id)
            elif kind == 'delete':
                Post.delete().where(Post.id == post.id).execute()
            elif kind == 'insert':
                Post.create(author=rng.choice(authors), title='new', body='b', html='',
                            status=PUBLISHED, published_at=when)
            elif kind == 'retitle':
                update(title='renamed %d' % step)  # changes no date: nothing to do
            assert ordering() == expected_ordering(), (step, kind)
        User.delete().where(User.id == authors[0]).execute()  # and their posts with them
        assert ordering() == expected_ordering()
        assert authors[0] not in ordering()


def test_homepage_window_reads_the_covering_date_index(dbconn):
    sql, params = queries.homepage_posts(0, 21, utcnow(), BASE).sql()
    plan = ' '.join(row[3] for row in dbconn.execute_sql('EXPLAIN QUERY PLAN ' + sql, params))
    assert 'COVERING INDEX post_published_author' in plan
