"""Start the real `python run.py serve` (waitress) on a free port, and talk to it
over HTTP like a browser would, for tests."""

import http.cookiejar
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

from tests.conftest import PASSWORD

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free_port():
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


# Makes (or migrates) the database and opens it to registration, with authors.
OPEN_SITE = """
import sys
from blog import site_settings
from blog.config import Config
from blog.db import db
from blog.site import Site
site = Site(Config(db_path=sys.argv[1]))
site.migrate()
with site.activated(), db.connection_context():
    site_settings.set_one('registration', 'open')
    site_settings.set_one('default_role', 'author')
site.close()
"""


class Server:
    """A `python run.py serve` subprocess; use as a context manager."""

    def __init__(self, db_path, port=None, threads=4, env=None, open_site=True):
        self.db_path = str(db_path)
        self.port = port or free_port()
        self.threads = threads
        self.env = dict(os.environ, **(env or {}))
        self.proc = None
        self.log_path = self.db_path + '.log'
        # Most tests register freely and publish: an open site whose new accounts are
        # authors (a new site is invite-only with contributors), set as an operator
        # would, before the server starts.
        self.open_site = open_site

    @property
    def url(self):
        return 'http://127.0.0.1:%d' % self.port

    def start(self, timeout=30):
        if self.open_site:
            subprocess.run([sys.executable, '-c', OPEN_SITE, self.db_path], cwd=ROOT,
                           env=self.env, check=True)
            self.open_site = False  # once: a restart keeps what the test changed
        self.log = open(self.log_path, 'ab')  # closed in stop()
        self.proc = subprocess.Popen(
            [sys.executable, os.path.join(ROOT, 'run.py'), 'serve', '--db', self.db_path,
             '--port', str(self.port), '--threads', str(self.threads)],
            cwd=ROOT, env=self.env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError('server exited: %s' % self.output())
            try:
                with urllib.request.urlopen(self.url + '/healthz', timeout=2) as resp:
                    if resp.read() == b'ok':
                        return self
            except OSError:
                time.sleep(0.1)
        raise RuntimeError('server did not answer: %s' % self.output())

    def output(self):
        if not self.log.closed:
            self.log.flush()
        with open(self.log_path, 'rb') as fh:
            return fh.read().decode('utf-8', 'replace')

    def wait_for_output(self, pattern, timeout=10):
        """The output once a line matches `pattern` (a regex); access lines are written
        a fifth of a second after their request (blog.logs)."""
        deadline = time.monotonic() + timeout
        while True:
            output = self.output()
            if re.search(pattern, output, re.MULTILINE) or time.monotonic() > deadline:
                return output
            time.sleep(0.05)

    def stop(self, sig=None):
        if self.proc and self.proc.poll() is None:
            if sig is None:
                self.proc.terminate()
            else:
                self.proc.send_signal(sig)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.log.close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


class Browser:
    """urllib with its own cookie jar; redirects are not followed (to see the 303s)."""

    def __init__(self, base):
        self.base = base
        self.jar = http.cookiejar.CookieJar()

        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *args, **kwargs):
                return None
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.jar), NoRedirect())

    def request(self, path, data=None, multipart=False, raw=False):
        """GET (or POST `data` as a form, urlencoded or as a browser's multipart
        form, where a value (file name, bytes) is a file): (status, headers, text, or
        the bytes with `raw`)."""
        headers = {}
        if data is None:
            body = None
        elif multipart:
            boundary = 'boundary%s' % os.urandom(8).hex()
            parts = []
            for name, value in data.items():
                if isinstance(value, tuple):
                    parts.append(b'--%s\r\nContent-Disposition: form-data; name="%s"; '
                                 b'filename="%s"\r\nContent-Type: application/octet-stream'
                                 b'\r\n\r\n%s\r\n' % (boundary.encode(), name.encode(),
                                                      value[0].encode(), value[1]))
                else:
                    parts.append(b'--%s\r\nContent-Disposition: form-data; name="%s"\r\n\r\n'
                                 b'%s\r\n' % (boundary.encode(), name.encode(),
                                               str(value).encode('utf-8')))
            body = b''.join(parts) + b'--%s--\r\n' % boundary.encode()
            headers['Content-Type'] = 'multipart/form-data; boundary=' + boundary
        else:
            body = urllib.parse.urlencode(data).encode()
        req = urllib.request.Request(self.base + path, body, headers)
        try:
            with self.opener.open(req, timeout=60) as resp:
                content = resp.read()
                return resp.status, dict(resp.headers), content if raw else content.decode()
        except urllib.error.HTTPError as err:
            content = err.read()
            return err.code, dict(err.headers), content if raw else content.decode()

    def form(self, path):
        """GET a page: (its csrf_token, the hidden version if any, the page)."""
        status, _, text = self.request(path)
        assert status == 200, (path, status)
        token = re.search(r'name="csrf_token" value="([^"]+)"', text).group(1)
        version = re.search(r'name="version" value="(\d+)"', text)
        return token, version and version.group(1), text

    def csrf(self, path):
        """The csrf_token on the page at `path`."""
        return self.form(path)[0]

    def register(self, username):
        """Sign up (which signs in); returns the status."""
        status, _, _ = self.request('/register', {
            'username': username, 'password': PASSWORD, 'password_confirm': PASSWORD,
            'csrf_token': self.csrf('/register')})
        return status

    def sign_in(self, username):
        """Sign in with the shared test password; asserts the 303."""
        status, _, _ = self.request('/login', {
            'username': username, 'password': PASSWORD, 'csrf_token': self.csrf('/login')})
        assert status == 303, status
        return self
