"""Through the real server: `python run.py serve` on a free port, over HTTP."""

import os
import re
import socket
import subprocess
import sys

import pytest

from tests.conftest import PASSWORD
from tests.server import ROOT, Browser, Server

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


STAMP = r'\d{4}-\d\d-\d\d \d\d:\d\d:\d\d'


def test_the_server_logs_each_request_with_a_timestamp(tmp_path):
    with Server(tmp_path / 'blog.db', open_site=False) as server:
        status, _, text = Browser(server.url).request('/?page=1&token=hush')
        assert status == 200
        expected = r'^%s INFO blog.access GET / 200 %d B \d+\.\d ms$' % (
            STAMP, len(text.encode()))
        output = server.wait_for_output(expected)
    assert 'hush' not in output
    lines = output.splitlines()
    assert re.match(r'^%s INFO blog applied migration 0001_accounts$' % STAMP, lines[0]), lines
    started = next(i for i, line in enumerate(lines) if line.startswith('Blog on http://'))
    access = [line for line in lines[started:] if ' blog.access ' in line]
    assert re.match(r'^%s INFO blog.access GET /healthz 200 2 B \d+\.\d ms$' % STAMP,
                    access[0]), access
    assert [line for line in access if re.match(expected, line)], access


def test_a_busy_port_is_a_one_line_error_before_any_blog_on(tmp_path):
    with socket.socket() as held:
        held.bind(('127.0.0.1', 0))
        held.listen()
        port = held.getsockname()[1]
        result = subprocess.run(
            [sys.executable, os.path.join(ROOT, 'run.py'), 'serve', '--port', str(port),
             '--db', str(tmp_path / 'blog.db')],
            capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert result.returncode in (1, 2)
    assert 'Blog on' not in result.stdout + result.stderr
    assert 'Traceback' not in result.stderr
    # The migrations of the new database are logged before it, each on one line.
    *logged, error = result.stderr.splitlines()
    assert all(re.match(r'^%s INFO blog applied migration ' % STAMP, line) for line in logged)
    assert error.startswith('run.py: error: cannot listen on 127.0.0.1:%d: ' % port), error


def test_stopping_the_server_writes_the_access_lines_still_queued(tmp_path):
    with Server(tmp_path / 'blog.db') as server:
        assert Browser(server.url).request('/')[0] == 200
        server.stop()  # at once: the line is likely still in the writer's queue
        output = server.output()
    assert re.search(r'^%s INFO blog.access GET / 200 ' % STAMP, output, re.MULTILINE)
