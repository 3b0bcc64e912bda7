"""The app shell: security headers, error pages, size limits, health, static files."""

import pytest

from blog.app import SECURITY_HEADERS, create_app
from tests.conftest import csrf_from


def assert_secure_headers(response):
    for name, value in SECURITY_HEADERS.items():
        assert response.headers[name] == value
    assert "frame-ancestors 'none'" in response.headers['Content-Security-Policy']
    assert "'unsafe-inline'" not in response.headers['Content-Security-Policy']
    assert 'Server' not in response.headers


@pytest.mark.parametrize('method, path, status', [
    ('GET', '/', 200),
    ('GET', '/healthz', 200),
    ('GET', '/static/style.css', 200),
    ('GET', '/static/missing.css', 404),
    ('GET', '/no/such/page', 404),
    ('GET', '/logout', 405),
    ('POST', '/login', 403),  # no CSRF token
    ('GET', '/settings/password', 303),
])
def test_every_response_has_security_headers(client, method, path, status):
    response = client.request(path, method=method, status=status)
    assert_secure_headers(response)


def test_healthz(client):
    response = client.get('/healthz')
    assert response.text == 'ok'


def test_error_pages_are_templated(client):
    response = client.get('/nope', status=404)
    assert '<h1>Not found</h1>' in response.text
    assert '<!DOCTYPE html>' in response.text
    response = client.get('/logout', status=405)
    assert '<h1>Method not allowed</h1>' in response.text


def test_unexpected_error_is_a_500_page_without_traceback(app, client, caplog):
    def boom():
        raise RuntimeError('secret detail')
    app.route('/boom', 'GET', boom)
    response = client.get('/boom', status=500)
    assert 'Something went wrong' in response.text
    assert 'secret detail' not in response.text and 'Traceback' not in response.text
    assert_secure_headers(response)
    assert 'secret detail' in caplog.text  # the traceback goes to the log


def test_body_over_the_limit_is_413(client):
    token = csrf_from(client.get('/login'))
    body = 'csrf_token=%s&username=%s' % (token, 'x' * (1024 * 1024 + 10))
    response = client.post('/register', body,
                           content_type='application/x-www-form-urlencoded', status=413)
    assert '<h1>Too large</h1>' in response.text


def test_body_under_the_limit_is_read(client):
    token = csrf_from(client.get('/login'))
    body = 'csrf_token=%s&username=%s&password=x' % (token, 'x' * (900 * 1024))
    client.post('/login', body, content_type='application/x-www-form-urlencoded', status=422)


def test_anonymous_page_without_form_starts_no_session(client):
    response = client.get('/')
    assert 'Set-Cookie' not in response.headers


def test_form_page_starts_a_session_with_one_csrf_token(client):
    first = csrf_from(client.get('/login'))
    second = csrf_from(client.get('/register'))
    assert first == second


def test_secure_cookie_when_base_url_is_https(tmp_path):
    from webtest import TestApp

    from blog.config import Config
    from tests.conftest import TEST_COST
    app = create_app(Config(db_path=str(tmp_path / 'b.db'), hash_cost=TEST_COST,
                            base_url='https://blog.example'))
    response = TestApp(app).get('/login')
    assert '; Secure' in response.headers['Set-Cookie'] or 'secure' in \
        response.headers['Set-Cookie'].lower()


def test_database_is_in_wal_mode_with_foreign_keys(dbconn):
    assert dbconn.execute_sql('PRAGMA journal_mode').fetchone()[0] == 'wal'
    assert dbconn.execute_sql('PRAGMA foreign_keys').fetchone()[0] == 1
    assert dbconn.execute_sql('PRAGMA busy_timeout').fetchone()[0] >= 5000


def test_migrations_made_the_schema(dbconn):
    tables = set(dbconn.get_tables())
    assert {'user', 'session', 'post', 'revision', 'post_tag', 'post_search',
            'site_state', 'audit_entry', 'schema_migration'} <= tables
    applied = [r[0] for r in dbconn.execute_sql('SELECT name FROM schema_migration')]
    assert applied[:2] == ['0001_accounts', '0002_posts']


@pytest.mark.parametrize('page', ['%C2%B2', '%EF%BC%92', '%D9%A3'])
def test_non_ascii_page_numbers_are_404(client, page):
    client.get('/?page=' + page, status=404)


@pytest.mark.parametrize('path', ['/authors/al%FFice', '/posts/1%FF', '/%FF'])
def test_path_that_is_not_utf8_is_400(app, path):
    from urllib.parse import unquote_to_bytes
    from wsgiref.util import setup_testing_defaults
    environ = {'REQUEST_METHOD': 'GET',
               'PATH_INFO': unquote_to_bytes(path).decode('latin-1')}
    setup_testing_defaults(environ)
    statuses = []
    body = b''.join(app(environ, lambda status, headers, exc=None: statuses.append(status)))
    assert statuses[0].startswith('400')
    assert b'not valid UTF-8' in body


def test_413_page_still_shows_who_is_signed_in(client, make_user, auth):
    make_user('alice')
    auth.login('alice')
    token = csrf_from(client.get('/'))
    body = 'csrf_token=%s&bio=%s' % (token, 'x' * (1024 * 1024 + 10))
    response = client.post('/settings', body,
                           content_type='application/x-www-form-urlencoded', status=413)
    assert 'Signed in as' in response.text


def test_the_site_has_an_icon_and_favicon_ico_points_to_it(client):
    page = client.get('/')
    assert '<link rel="icon" type="image/svg+xml" href="/static/favicon.svg">' in page.text
    moved = client.get('/favicon.ico', status=301)
    assert moved.headers['Location'].endswith('/static/favicon.svg')
    icon = client.get('/static/favicon.svg')
    assert icon.content_type == 'image/svg+xml' and icon.body.startswith(b'<svg')
