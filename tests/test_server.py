"""Through the real server: `python run.py serve` on a free port, over HTTP."""


import pytest

from tests.conftest import PASSWORD
from tests.server import Browser, Server

pytestmark = pytest.mark.server


def test_sign_up_and_sign_in_over_http(tmp_path):
    with Server(tmp_path / 'blog.db') as server:
        browser = Browser(server.url)
        status, headers, text = browser.request('/')
        assert status == 200 and 'Server' not in headers
        assert "frame-ancestors 'none'" in headers['Content-Security-Policy']

        token = browser.csrf('/register')
        status, headers, _ = browser.request('/register', {
            'username': 'alice', 'password': PASSWORD, 'password_confirm': PASSWORD,
            'csrf_token': token})
        assert status == 303 and headers['Location'] == '/?notice=welcome'
        assert 'Signed in as' in browser.request('/')[2]

        status, _, _ = browser.request('/logout', {'csrf_token': browser.csrf('/')})
        assert status == 303
        assert 'Signed in as' not in browser.request('/')[2]

        token = browser.csrf('/login')
        status, _, text = browser.request('/login', {
            'username': 'alice', 'password': 'wrong password!', 'csrf_token': token})
        assert status == 422 and 'do not match' in text
        status, headers, _ = browser.request('/login', {
            'username': 'alice', 'password': PASSWORD, 'csrf_token': token})
        assert status == 303
        assert 'Signed in as' in browser.request('/')[2]
        assert 'Traceback' not in server.output()
    assert 'SQLite 3.' in server.output()
