"""Security review as tests: CSRF on every POST route, headers on every route,
session expiry, no open redirects. Routes are enumerated from the app itself, so
new routes are covered the day they are added."""

import datetime
import re

import pytest

from blog.app import SECURITY_HEADERS
from blog.models import Session, utcnow
from tests.conftest import csrf_from

PARAM = re.compile(r'<([a-zA-Z_]+)(?::[^>]*)?>')


@pytest.fixture
def world(app, make_user, make_post, auth):
    """An admin signed in, with a post of theirs and another user."""
    admin = make_user('root', role='admin')
    make_user('bob')
    post = make_post(admin, title='Hello', tags=['news'])
    auth.login('root')
    return {'id': str(post.id), 'n': '1', 'username': 'bob', 'tag': 'news',
            'path': 'style.css'}


def concrete(rule, values):
    """A route rule with its wildcards filled from `values`."""
    return PARAM.sub(lambda m: values.get(m.group(1), '1'), rule)


def routes(app, method):
    return sorted({route.rule for route in app.routes if route.method == method})


def test_every_post_route_refuses_a_missing_or_wrong_token(app, client, world):
    posts = routes(app, 'POST')
    assert '/login' in posts and '/logout' in posts
    for rule in posts:
        path = concrete(rule, world)
        response = client.post(path, {'title': 'x'}, expect_errors=True)
        assert response.status_int == 403, (path, response.status)
        response = client.post(path, {'csrf_token': 'forged-token'}, expect_errors=True)
        assert response.status_int == 403, (path, response.status)
    # still signed in: the refusals changed nothing
    assert 'Signed in as' in client.get('/').text


def test_every_get_route_sends_security_headers(app, client, world):
    for rule in routes(app, 'GET'):
        response = client.get(concrete(rule, world), expect_errors=True)
        assert response.status_int < 500, rule
        for name, value in SECURITY_HEADERS.items():
            assert response.headers.get(name) == value, (rule, name)
        assert 'Server' not in response.headers


def test_expired_session_is_anonymous(client, world, dbconn):
    assert 'Signed in as' in client.get('/').text
    Session.update(expires_at=utcnow() - datetime.timedelta(seconds=1)).execute()
    assert 'Signed in as' not in client.get('/').text


@pytest.mark.parametrize('signed_in, days', [(False, 1), (True, 30)])
def test_anonymous_sessions_last_a_day_signed_in_ones_their_lifetime(
        client, auth, make_user, dbconn, signed_in, days):
    make_user('alice')
    if signed_in:
        auth.login('alice')
        response = client.get('/settings/password')
    else:
        response = client.get('/login')  # a form page: an anonymous session starts
    cookie = response.headers.get('Set-Cookie', '')
    (session,) = Session.select()
    lifetime = session.expires_at - session.created_at
    assert lifetime <= datetime.timedelta(days=days)
    assert lifetime > datetime.timedelta(days=days) - datetime.timedelta(minutes=1)
    if not signed_in:
        assert 'Max-Age=86400' in cookie


def test_expired_sessions_are_swept_in_bounded_batches(client, dbconn):
    old = utcnow() - datetime.timedelta(days=2)
    Session.insert_many([{'token_hash': 'dead%d' % i, 'csrf_token': 'x', 'created_at': old,
                          'last_seen_at': old, 'expires_at': old}
                         for i in range(250)]).execute()
    client.get('/login')  # a new anonymous session sweeps a batch
    assert Session.select().where(Session.expires_at <= utcnow()).count() == 150
    client.reset()
    client.get('/login')
    assert Session.select().where(Session.expires_at <= utcnow()).count() == 50
    assert Session.select().count() == 52


def test_session_cookie_attributes(client, world):
    response = client.post('/logout', {'csrf_token': csrf_from(client.get('/'))}, status=303)
    cookie = response.headers['Set-Cookie']  # the deletion carries the same attributes
    assert 'HttpOnly' in cookie and 'Path=/' in cookie and 'samesite=lax' in cookie.lower()


@pytest.mark.parametrize('host_header', ['evil.example', 'blog.test:8080'])
def test_redirects_are_relative_whatever_the_host(client, host_header):
    response = client.get('/settings/password', headers={
        'Host': host_header, 'X-Forwarded-Host': 'evil.example'}, status=303)
    assert response.headers['Location'].startswith('/login?next=')
