"""Through the real server: `python run.py serve` on a free port, over HTTP."""

import http.cookiejar
import re
import urllib.error
import urllib.parse
import urllib.request

import pytest

from tests.server import Server

pytestmark = pytest.mark.server
PASSWORD = 'correct horse battery'


class Browser:
    """urllib with a cookie jar that does not follow redirects (to see the 303s)."""

    def __init__(self, base):
        self.base = base
        self.jar = http.cookiejar.CookieJar()

        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *args, **kwargs):
                return None
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar), NoRedirect())

    def request(self, path, data=None):
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        try:
            with self.opener.open(self.base + path, body, timeout=30) as resp:
                return resp.status, dict(resp.headers), resp.read().decode()
        except urllib.error.HTTPError as err:
            return err.code, dict(err.headers), err.read().decode()

    def csrf(self, path):
        status, _, text = self.request(path)
        return re.search(r'name="csrf_token" value="([^"]+)"', text).group(1)


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
