"""The front door (blog.front): kept anonymous pages answered before Bottle runs."""

import pytest

from blog import cache, sessions
from tests.conftest import post_path


@pytest.fixture
def bottle_calls(monkeypatch):
    """Counts the requests that reached Bottle's hooks (each loads a session)."""
    seen = []
    real = sessions.load
    monkeypatch.setattr(sessions, 'load', lambda: seen.append(1) or real())
    return seen


@pytest.fixture
def posted(make_user, make_post, monkeypatch):
    monkeypatch.setattr(cache, 'RECHECK_SECONDS', 3600)
    alice = make_user('alice')
    return make_post(alice, title='First post', tags=['python'])


def _headers(response):
    return sorted((name, value) for name, value in response.headerlist if name != 'Date')


@pytest.mark.parametrize('path', ['/', '/authors', '/authors/alice', '/tags/python',
                                  '/feed.atom', '/authors/alice/feed.atom', 'POST'])
def test_a_kept_page_is_answered_without_bottle_and_the_same(client, posted, bottle_calls,
                                                             path):
    path = post_path(posted.id) if path == 'POST' else path
    first = client.get(path)
    assert len(bottle_calls) == 1
    again = client.get(path)
    assert len(bottle_calls) == 1  # not routed, no hooks, no session
    assert again.body == first.body
    assert _headers(again) == _headers(first)
    assert again.headers['Content-Security-Policy'] and again.headers['ETag']


def test_a_write_here_shows_at_once(client, posted, make_post, bottle_calls):
    client.get('/')
    make_post(posted.author, title='Second post')  # a commit in this process
    assert 'Second post' in client.get('/').text
    assert len(bottle_calls) == 2


def test_another_process_write_shows_after_the_interval(config, client, posted,
                                                        monkeypatch):
    from peewee import sqlite3
    assert 'First post' in client.get('/').text
    other = sqlite3.connect(config.db_path, isolation_level=None)
    other.execute("UPDATE post SET title = 'Renamed'")
    other.close()
    assert 'First post' in client.get('/').text  # within the interval: the kept page
    monkeypatch.setattr(cache, 'RECHECK_SECONDS', 0)
    assert 'Renamed' in client.get('/').text


@pytest.mark.parametrize('extra', [
    {'headers': {'If-None-Match': '"nothing"'}},
    {'headers': {'Cookie': 'blog_session=whatever'}},
    {'params': 'notice=created'},
    {'params': 'page=01'},
    {'params': 'x=1'},
])
def test_other_requests_go_to_bottle(client, posted, bottle_calls, extra):
    client.get('/')
    client.get('/', **extra)
    client.get('/', **extra)
    assert len(bottle_calls) == 3


def test_head_and_missing_pages_are_not_kept(client, posted, bottle_calls):
    client.head('/')
    client.head('/')
    client.get('/posts/999', status=404)
    client.get('/posts/999', status=404)
    assert len(bottle_calls) == 4


def test_signed_in_readers_never_get_the_anonymous_copy(client, auth, posted):
    client.get('/')
    client.get('/')
    auth.login('alice')
    page = client.get('/')
    assert 'Signed in as' in page.text and 'Sign in</a>' not in page.text


@pytest.mark.parametrize('path', ['/feed.atom', '/authors/alice/feed.atom',
                                  '/tags/python/feed.atom'])
def test_a_feed_is_the_same_for_signed_in_readers(client, auth, posted, bottle_calls, path):
    anonymous = client.get(path)
    auth.login('alice')
    client.get(path)  # the sign-in committed: the generation is read again first
    calls = len(bottle_calls)
    signed_in = client.get(path)
    assert len(bottle_calls) == calls  # answered before Bottle ran
    assert signed_in.body == anonymous.body
    assert 'Signed in as' in client.get('/').text  # a page still goes to Bottle


def test_a_feed_a_signed_in_reader_fetched_is_kept_for_everyone(
        client, client_for, auth, posted, bottle_calls):
    auth.login('alice')
    client.get('/authors')  # the sign-in committed: the generation is read again first
    calls = len(bottle_calls)
    signed_in = [client.get('/feed.atom') for _ in range(3)]
    anonymous = client_for().get('/feed.atom')
    assert len(bottle_calls) == calls + 1  # made once, then kept
    assert anonymous.body == signed_in[0].body
    assert 'Set-Cookie' not in anonymous.headers


def test_a_signed_in_readers_page_is_never_kept(client, auth, posted, bottle_calls):
    auth.login('alice')
    client.get('/authors')
    calls = len(bottle_calls)
    for _ in range(3):
        assert 'Signed in as' in client.get('/authors').text
    assert len(bottle_calls) == calls + 3


def test_a_conditional_request_still_gets_its_304(client, posted):
    first = client.get('/')
    client.get('/', headers={'If-None-Match': first.headers['ETag']}, status=304)


def test_a_page_that_sets_a_cookie_is_not_kept(client, posted, bottle_calls):
    # An expired or unknown session cookie is cleared on an otherwise public page;
    # that answer goes to one reader only.
    client.set_cookie('blog_session', 'stale')
    client.get('/')
    client.reset()
    client.get('/')
    client.get('/')
    assert len(bottle_calls) == 2  # the cookie-clearing answer was not kept


def test_many_addresses_push_out_only_each_other(client, site, posted, monkeypatch):
    monkeypatch.setattr(site.front.store, 'max_entries', 5)
    client.get(post_path(posted.id))
    for n in range(10):  # the same post under ever longer addresses
        client.get('/posts/%s%d-first-post' % ('0' * (n + 1), posted.id))
    assert len(site.front.store) == 5
    # The page cache behind it still holds the post's page and nothing pushed it out.
    assert site.cache.get(('page', ('post', posted.id, 'first-post')),
                          site.cache.generation())


def test_caching_off_means_no_front_door(config, posted, bottle_calls):
    from dataclasses import replace

    from webtest import TestApp

    from blog.app import create_app
    uncached = TestApp(create_app(replace(config, cache_pages=False)))
    uncached.get('/')
    uncached.get('/')
    assert len(bottle_calls) == 2


def test_signed_in_readers_share_one_render_with_their_own_header(client_for, make_user,
                                                                 posted, monkeypatch):
    from blog import home
    renders = []
    real = home._render
    monkeypatch.setattr(home, '_render', lambda page: renders.append(page) or real(page))
    make_user('bob')
    alice, bob = client_for('alice'), client_for('bob')
    for reader, name, other in ((alice, 'alice', 'bob'), (bob, 'bob', 'alice')):
        page = reader.get('/')
        assert 'Signed in as <a href="/authors/%s">%s</a>' % (name, name) in page.text
        assert '>%s</a></span>' % other not in page.text
        assert 'First post' in page.text and 'Sign out' in page.text
        assert page.headers['Cache-Control'] == 'no-cache, private'
        assert 'ETag' not in page.headers
    anonymous = client_for().get('/')
    assert 'Sign in</a>' in anonymous.text and 'Sign out' not in anonymous.text
    assert renders == [1]  # one render, shared by all three
