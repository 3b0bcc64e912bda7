"""Property: no input a client can send gets a 5xx or a traceback.

Random methods, paths built from the app's own routes (so every route is covered
as it is added), query strings, form fields with hostile values (invalid UTF-8,
NUL bytes, huge values, unpaired surrogates percent-encoded), signed in or not,
with and without a valid CSRF token.
"""

import io
import re
from urllib.parse import quote_from_bytes, unquote_to_bytes
from wsgiref.util import setup_testing_defaults

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from webtest import TestApp

from blog.app import create_app
from blog.config import Config
from blog.db import db, hash_password
from blog.markdown import render_markdown
from blog.models import Post, User, utcnow
from tests.conftest import PASSWORD, TEST_COST, Auth, csrf_from

PARAM = re.compile(r'<([a-zA-Z_]+)(?::[^>]*)?>')
FIELDS = ['title', 'body', 'status', 'tags', 'version', 'username', 'password',
          'password_confirm', 'current_password', 'new_password', 'new_password_confirm',
          'display_name', 'email', 'bio', 'role', 'is_active', 'q', 'page', 'next']

hostile_bytes = st.sampled_from([
    b'', b'\x00', b'\xff\xfe', b'\xed\xa0\x80',  # invalid UTF-8, an encoded surrogate
    b'%', b'%%', b'%zz', b'..', b'../../etc/passwd', b'\\', b'//evil.example',
    b'<script>alert(1)</script>', b'"\'><img src=x onerror=alert(1)>',
    b'-1', b'0', b'99999999999999999999999', b'1e309', b'NaN', b' ', b'\t\n',
    'é✓𝄞'.encode(), b'draft', b'published', b'alice', b'root', b'"', b'*', b'OR',
    b'javascript:alert(1)', b'x' * 5000,
])
values = st.one_of(hostile_bytes, st.binary(max_size=40),
                   st.text(max_size=40).map(lambda t: t.encode('utf-8', 'surrogatepass')))


def encode_pairs(pairs):
    return '&'.join('%s=%s' % (quote_from_bytes(k.encode()), quote_from_bytes(v))
                    for k, v in pairs)


@pytest.fixture(scope='module')
def fuzz_app(tmp_path_factory):
    path = tmp_path_factory.mktemp('fuzz') / 'blog.db'
    app = create_app(Config(db_path=str(path), hash_cost=TEST_COST, base_url='http://t.test'))
    site = app.config['blog.site']
    with site.activated(), db.connection_context():
        encoded = hash_password(PASSWORD)
        root = User.create(username='root', password=encoded, role='admin')
        User.create(username='alice', password=encoded)
        now = utcnow()
        for status in ('published', 'draft'):
            Post.create(author=root, title='Hello', body='*hi*', html=render_markdown('*hi*'),
                        status=status, tags=['news'], created_at=now, updated_at=now,
                        published_at=now if status == 'published' else None)
    yield app
    site.close()


@pytest.fixture(scope='module')
def clients(fuzz_app):
    """Cookie header and CSRF token for anonymous, an author and an admin."""
    made = {}
    for who in ('anonymous', 'alice', 'root'):
        client = TestApp(fuzz_app)
        page = client.get('/login')
        if who != 'anonymous':
            Auth(client).login(who)
            page = client.get('/login')
        made[who] = ('blog_session=' + client.cookies['blog_session'], csrf_from(page))
    return made


def call(app, method, raw_path, query, body, cookie):
    """Call the WSGI app directly: WebOb cannot even build some of these requests."""
    environ = {'REQUEST_METHOD': method, 'QUERY_STRING': query, 'HTTP_COOKIE': cookie,
               # WSGI carries the path as bytes decoded as Latin-1.
               'PATH_INFO': unquote_to_bytes(raw_path).decode('latin-1'),
               'REMOTE_ADDR': '192.0.2.9'}
    if body is not None:
        environ.update({'CONTENT_TYPE': 'application/x-www-form-urlencoded',
                        'CONTENT_LENGTH': str(len(body)), 'wsgi.input': io.BytesIO(body)})
    setup_testing_defaults(environ)
    status_line = []

    def start_response(status, headers, exc_info=None):
        status_line.append(status)
    chunks = app(environ, start_response)
    try:
        content = b''.join(chunks)
    finally:
        getattr(chunks, 'close', lambda: None)()
    return int(status_line[0].split()[0]), content


@st.composite
def requests(draw, routes):
    route_method, rule = draw(st.sampled_from(routes))
    path = PARAM.sub(lambda m: quote_from_bytes(draw(st.one_of(
        st.sampled_from([b'1', b'2', b'3', b'root', b'alice', b'news', b'style.css']),
        values)), safe=b'') or 'x', rule)
    # Mostly the route's own method, so requests get past the router.
    method = draw(st.sampled_from([route_method] * 4 + ['GET', 'POST', 'HEAD', 'PUT', 'DELETE']))
    query = encode_pairs(draw(st.lists(st.tuples(st.sampled_from(FIELDS), values),
                                       max_size=3)))
    form = draw(st.lists(st.tuples(st.sampled_from(FIELDS), values), max_size=6))
    who = draw(st.sampled_from(['anonymous', 'alice', 'root']))
    token = draw(st.sampled_from(['valid', 'valid', 'missing', 'wrong']))
    return path, method, query, form, who, token


def test_no_input_gets_a_5xx(fuzz_app, clients):
    routes = sorted({(route.method, route.rule) for route in fuzz_app.routes})

    @settings(max_examples=400, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(requests(routes))
    def check(request):
        path, method, query, form, who, token = request
        cookie, csrf = clients[who]
        if token == 'valid':
            form = [*form, ('csrf_token', csrf.encode())]
        elif token == 'wrong':
            form = [*form, ('csrf_token', b'wrong')]
        body = encode_pairs(form).encode('ascii') if method in ('POST', 'PUT') else None
        status, content = call(fuzz_app, method, path, query, body, cookie)
        assert status < 500, (method, path, query, form, status)
        assert b'Traceback' not in content

    check()
