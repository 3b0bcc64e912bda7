"""A team through the real server: the first admin from the start-up link, the
settings page, invitations in each registration mode, each role's permissions, and
the review round trip."""

import os
import re
import subprocess
import sys
import time
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.conftest import PASSWORD
from tests.server import ROOT, Browser, Server

pytestmark = pytest.mark.server


def save_settings(owner, **changes):
    token, version, page = owner.form('/admin/settings')
    fields = {name: re.search(r'id="f-%s"[^>]*value="([^"]*)"' % name, page).group(1)
              for name in ('site_name', 'site_description', 'timezone')}
    fields.update(registration=re.search(
        r'name="registration".*?<option value="(\w+)" selected', page, re.S).group(1),
        default_role='contributor', csrf_token=token, version=version)
    fields.update(changes)
    status, headers, _ = owner.request('/admin/settings', fields)
    assert status == 303, status
    return headers['Location']


def invite(owner, role):
    status, headers, _ = owner.request('/admin/invitations', {
        'csrf_token': owner.csrf('/admin/invitations'), 'role': role, 'email': ''})
    assert status == 303
    page = owner.request(headers['Location'])[2]
    link = re.search(r'id="invite-link"[^>]*value="([^"]+)"', page).group(1)
    return parse_qs(urlsplit(link).query)['invite'][0]


def join(server, token, username):
    browser = Browser(server.url)
    status, _, _ = browser.request('/register', {
        'csrf_token': browser.csrf('/register?invite=%s' % token), 'invite': token,
        'username': username, 'password': PASSWORD, 'password_confirm': PASSWORD})
    assert status == 303, (username, status)
    return browser


def write(browser, title, status):
    answer, headers, _ = browser.request('/posts/new', {
        'csrf_token': browser.csrf('/posts/new'), 'title': title, 'body': 'Words of ' + title,
        'status': status, 'tags': '', 'form_id': 'f' * 16 + title.replace(' ', '')[:20]},
        multipart=True)
    post_id = re.search(r'/posts/(\d+)', headers.get('Location', ''))
    return answer, post_id and int(post_id.group(1))


def test_a_team_from_the_first_admin_to_a_reviewed_post(tmp_path):
    with Server(tmp_path / 'team.db', open_site=False) as server:
        link = re.search(r'/setup\?token=\S+', server.wait_for_output(r'setup\?token=\S+'))
        owner = Browser(server.url)
        token = owner.csrf(link.group(0))
        status, _, _ = owner.request('/setup', {
            'csrf_token': token, 'token': link.group(0).split('token=')[1],
            'username': 'owner', 'password': PASSWORD, 'password_confirm': PASSWORD})
        assert status == 303
        assert save_settings(owner, site_name='Team Blog').endswith('notice=saved')
        assert '<a class="site-name" href="/">Team Blog</a>' in Browser(server.url).request(
            '/')[2]

        # Invite-only (a new site's default): nobody walks in, invitations work.
        stranger = Browser(server.url)
        assert stranger.request('/register')[0] == 403
        team = {role: join(server, invite(owner, role), role + 'x')
                for role in ('contributor', 'author', 'editor')}
        team['admin'] = owner
        # Closed: still nobody without a link, and a link still works.
        save_settings(owner, registration='closed')
        assert Browser(server.url).request('/register')[0] == 403
        join(server, invite(owner, 'author'), 'latecomer')
        # Open: anyone, with the default role (contributor).
        save_settings(owner, registration='open')
        walk_in = Browser(server.url)
        assert walk_in.register('walkin') == 303
        assert write(walk_in, 'Walk in', 'published')[0] == 422

        # Each role's permissions.
        for role, browser in team.items():
            assert browser.request('/review')[0] == (200 if role in ('editor', 'admin')
                                                     else 403), role
            assert browser.request('/admin/users')[0] == (200 if role == 'admin' else 403)
            assert browser.request('/admin/settings')[0] == (200 if role == 'admin'
                                                             else 403)
            status, _ = write(browser, 'Published by ' + role, 'published')
            assert status == (422 if role == 'contributor' else 303), role

        # The review round trip.
        status, post_id = write(team['contributor'], 'Needs review', 'pending')
        assert status == 303 and post_id
        editor = team['editor']
        token, _, queue = editor.form('/review')
        assert 'Needs review' in queue
        version = re.search(r'id="review-form-%d".*?name="version" value="(\d+)"' % post_id,
                            queue, re.S).group(1)
        status, _, _ = editor.request('/review/%d' % post_id, {
            'csrf_token': token, 'version': version, 'action': 'send-back',
            'note': 'Shorter, please.'})
        assert status == 303
        contributor = team['contributor']
        token, version, page = contributor.form('/posts/%d/edit' % post_id)
        assert 'Shorter, please.' in page
        status, _, _ = contributor.request('/posts/%d/edit' % post_id, {
            'csrf_token': token, 'version': version, 'title': 'Needs review',
            'body': 'Short.', 'status': 'pending', 'tags': ''}, multipart=True)
        assert status == 303
        assert Browser(server.url).request('/posts/%d' % post_id)[0] == 404  # not yet
        token, _, queue = editor.form('/review')
        version = re.search(r'id="review-form-%d".*?name="version" value="(\d+)"' % post_id,
                            queue, re.S).group(1)
        status, _, _ = editor.request('/review/%d' % post_id, {
            'csrf_token': token, 'version': version, 'action': 'publish', 'note': ''})
        assert status == 303
        status, headers, _ = Browser(server.url).request('/posts/%d' % post_id)
        assert status == 301 and headers['Location'] == '/posts/%d-needs-review' % post_id
        status, _, page = Browser(server.url).request(headers['Location'])
        assert status == 200 and 'Short.' in page
        assert 'Needs review' in Browser(server.url).request('/archive')[2]


def test_the_command_line_changes_a_setting_a_running_server_shows_within_a_second(tmp_path):
    db_path = str(tmp_path / 'cli.db')
    with Server(db_path) as server:
        reader = Browser(server.url)
        assert 'Blog' in reader.request('/')[2]
        for _ in range(3):  # the homepage is now in the page caches
            reader.request('/')
        done = subprocess.run(
            [sys.executable, os.path.join(ROOT, 'run.py'), 'settings', 'site_name',
             'Named Outside', '--db', db_path],
            cwd=ROOT, check=True, capture_output=True, text=True)
        assert 'site_name = Named Outside' in done.stdout
        changed_at = time.monotonic()
        while 'Named Outside' not in reader.request('/')[2]:
            assert time.monotonic() - changed_at < 1.0, 'not seen within a second'
            time.sleep(0.05)
        feed = reader.request('/feed.atom')[2]
        assert '<title type="text">Named Outside: latest posts</title>' in feed
