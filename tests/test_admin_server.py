"""Through the real server: an admin deactivates a user who is signed in elsewhere."""

import os
import re
import subprocess
import sys

import pytest

from tests.conftest import PASSWORD
from tests.server import ROOT, Browser, Server

pytestmark = pytest.mark.server


def form_value(text, name):
    match = re.search(r'name="%s"[^>]*value="([^"]*)"' % name, text)
    assert match, 'no %s on the page' % name
    return match.group(1)


def test_deactivated_user_is_signed_out_at_once(tmp_path):
    db_path = str(tmp_path / 'blog.db')
    made = subprocess.run([sys.executable, os.path.join(ROOT, 'run.py'), 'create-admin',
                           'root', '--db', db_path],
                          input=PASSWORD + '\n', capture_output=True, text=True, cwd=ROOT,
                          timeout=60)
    assert made.returncode == 0, made.stderr

    with Server(db_path) as server:
        bob = Browser(server.url)
        assert bob.register('bob') == 303
        assert 'Signed in as' in bob.request('/settings')[2]

        admin = Browser(server.url)
        status, headers, _ = admin.request('/login', {
            'username': 'root', 'password': PASSWORD, 'next': '/admin/users',
            'csrf_token': admin.csrf('/login')})
        assert status == 303 and headers['Location'] == '/admin/users'
        status, _, listing = admin.request('/admin/users')
        assert status == 200 and 'href="/admin/users/bob"' in listing

        _, _, page = admin.request('/admin/users/bob')
        status, headers, _ = admin.request('/admin/users/bob', {
            'csrf_token': form_value(page, 'csrf_token'),
            'version': form_value(page, 'version'),
            'display_name': 'Bob', 'email': '', 'bio': '', 'role': 'author',
            # is_active absent: deactivate.
        })
        assert status == 303 and headers['Location'] == '/admin/users/bob?notice=saved'

        # Bob's very next request, from his own cookie jar, is signed out.
        status, headers, _ = bob.request('/settings')
        assert status == 303 and headers['Location'] == '/login?next=/settings'
        assert 'Signed in as' not in bob.request('/')[2]
        status, _, text = bob.request('/login', {
            'username': 'bob', 'password': PASSWORD, 'csrf_token': bob.csrf('/login')})
        assert status == 422 and 'do not match an active account' in text

        _, _, page = admin.request('/admin/users/bob')
        assert 'deactivated' in page and 'Active (can sign in)' in page
        assert 'Traceback' not in server.output()
