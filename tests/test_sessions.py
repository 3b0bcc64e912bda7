"""blog.sessions: the session rows a process keeps (`Known`), and how a sign-out made
elsewhere reaches it."""

import sqlite3

import pytest

from blog import cache, sessions
from blog.models import Session, utcnow
from tests.conftest import csrf_from


@pytest.fixture
def clock(monkeypatch):
    """sessions' monotonic clock, moved by hand: clock.now += seconds."""
    class Clock:
        now = 1000.0
    monkeypatch.setattr(sessions, '_clock', lambda: Clock.now)
    return Clock


def signed_in(client):
    return 'Sign out' in client.get('/authors').text


def test_a_session_ended_by_another_process_ends_here_within_the_recheck(
        config, site, client_for, make_user, clock):
    assert site.sessions.recheck_seconds == cache.RECHECK_SECONDS  # one bound for both
    make_user('alice')
    alice = client_for('alice')
    assert signed_in(alice)
    # The command line (another process) ends every session: this process committed
    # nothing, so for up to RECHECK_SECONDS it still knows the row it read.
    other = sqlite3.connect(config.db_path)
    with other:
        other.execute('DELETE FROM session')
    other.close()
    assert signed_in(alice)
    clock.now += cache.RECHECK_SECONDS
    assert not signed_in(alice)


def test_a_commit_in_this_process_is_seen_on_the_next_request(
        client_for, make_user, clock, dbconn):
    make_user('alice')
    alice = client_for('alice')
    assert signed_in(alice)
    Session.delete().execute()  # through peewee: this process's commit count moves
    assert not signed_in(alice)


def test_deactivating_a_user_ends_their_next_request_at_once(
        client_for, make_user, clock):
    make_user('root', role='admin')
    make_user('alice')
    browser = client_for('alice')
    assert signed_in(browser)
    root = client_for('root')
    token = csrf_from(root.get('/admin/users/alice'))
    root.post('/admin/users/alice', {'csrf_token': token, 'version': '1',
                                     'display_name': 'Alice', 'role': 'author'},
              status=303)  # not active
    assert not signed_in(browser)


def test_each_request_gets_its_own_rows(site, make_user, clock, client_for):
    make_user('alice')
    client_for('alice')
    (row,) = Session.select().where(Session.user.is_null(False))
    known = site.sessions
    first = known.session(row.token_hash, utcnow())
    first.user.display_name = 'changed by a view'
    again = known.session(row.token_hash, utcnow())
    assert again.user.display_name != 'changed by a view'
    assert again is not first and again.user is not first.user
    assert (again.token_hash, again.user.username) == (row.token_hash, 'alice')


def test_an_expired_session_is_not_served_from_memory(site, make_user, clock, client_for):
    make_user('alice')
    client_for('alice')
    (row,) = Session.select().where(Session.user.is_null(False))
    assert site.sessions.session(row.token_hash, utcnow()) is not None
    assert site.sessions.session(row.token_hash, row.expires_at) is None


def test_the_rows_kept_are_bounded(site, make_user, clock, client_for):
    site.sessions.max_entries = 2
    for name in ('alice', 'bob', 'carol'):
        make_user(name)
        assert signed_in(client_for(name))
    assert len(site.sessions) <= 2


def test_the_header_is_rendered_once_while_the_rows_are_kept(
        client_for, make_user, clock, monkeypatch):
    from blog import header
    make_user('root', role='admin')
    make_user('alice')
    alice = client_for('alice')
    rendered = []
    real = header._render
    monkeypatch.setattr(header, '_render', lambda user: rendered.append(user) or real(user))
    pages = [alice.get(path) for path in ('/authors', '/', '/authors/alice')]
    # (None: the anonymous copy each newly kept page makes once, for everybody.)
    assert [user.username for user in rendered if user is not None] == ['alice']
    assert all('Signed in as <a href="/authors/alice">' in page.text for page in pages)
    assert all('>Admin</a>' not in page.text for page in pages)
    token = csrf_from(pages[0])
    assert all(csrf_from(page) == token for page in pages)
    # Made an admin: a commit, so the next page renders her header again.
    root = client_for('root')
    form_token = csrf_from(root.get('/admin/users/alice'))
    root.post('/admin/users/alice', {'csrf_token': form_token, 'version': '1',
                                     'display_name': 'Alice', 'role': 'admin',
                                     'is_active': '1'}, status=303)
    assert '>Admin</a>' in alice.get('/authors').text
