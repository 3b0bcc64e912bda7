"""Confirmation and password reset through the real server, its mail delivered by a
real SMTP server on loopback (aiosmtpd): the links work once, a reset ends every
session, and the forgot form answers alike for known and unknown accounts."""

import email
import email.policy
import re
import time

import pytest
from aiosmtpd.controller import Controller

from tests.conftest import PASSWORD
from tests.server import Browser, Server, free_port

pytestmark = pytest.mark.server
NEW_PASSWORD = 'another long password 3'


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        text = '%s\n%s' % (message['Subject'], message.get_body(('plain',)).get_content())
        self.messages.append((envelope.rcpt_tos, text))
        return '250 OK'

    def wait(self, count, timeout=20):
        deadline = time.monotonic() + timeout
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        assert len(self.messages) >= count, self.messages
        return self.messages[count - 1]


@pytest.fixture
def site(tmp_path):
    inbox = Inbox()
    smtp = Controller(inbox, hostname='127.0.0.1', port=free_port())
    smtp.start()
    env = {'BLOG_SMTP_URL': 'smtp://127.0.0.1:%d' % smtp.port,
           'BLOG_MAIL_FROM': 'Blog <blog@blog.test>'}
    try:
        with Server(tmp_path / 'site.db', env=env) as server:
            server.inbox = inbox
            yield server
    finally:
        smtp.stop()


def link(message, route):
    match = re.search(r'http://127\.0\.0\.1:\d+(/%s/[A-Za-z0-9_-]+)' % route, message)
    assert match, message
    return match.group(1)


def forgot(browser, login):
    return browser.request('/password/forgot', {'csrf_token': browser.csrf('/password/forgot'),
                                                'login': login})


def without_token(page, login):
    return re.sub(r'name="csrf_token" value="[^"]+"', '', page).replace('value="%s"' % login, '')


def test_confirm_then_reset_by_mail_through_the_real_server(site):
    alice = Browser(site.url)
    assert alice.register('alice') == 303
    token, version, _ = alice.form('/settings')
    status, _, _ = alice.request('/settings', {'csrf_token': token, 'version': version,
                                               'display_name': '', 'bio': '',
                                               'email': 'alice@example.org'})
    assert status == 303
    to, message = site.inbox.wait(1)
    assert to == ['alice@example.org'] and 'Confirm your email address' in message
    confirm = link(message, 'email/confirm')
    assert 'is confirmed' in Browser(site.url).request(confirm)[2]
    assert Browser(site.url).request(confirm)[0] == 410

    # The forgot form: one answer for a known and an unknown account.
    stranger = Browser(site.url)
    known, unknown = forgot(stranger, 'alice'), forgot(stranger, 'nobody')
    assert known[0] == unknown[0] == 200
    assert without_token(known[2], 'alice') == without_token(unknown[2], 'nobody')
    to, message = site.inbox.wait(2)
    assert to == ['alice@example.org'] and 'Reset your password' in message
    time.sleep(0.5)
    assert len(site.inbox.messages) == 2  # nothing for "nobody"

    reset = link(message, 'password/reset')
    token = stranger.csrf(reset)
    status, headers, _ = stranger.request(reset, {
        'csrf_token': token, 'new_password': NEW_PASSWORD,
        'new_password_confirm': NEW_PASSWORD})
    assert status == 303
    assert 'Signed in as' in stranger.request('/')[2]  # signed in anew
    assert 'Signed in as' not in alice.request('/')[2]  # the other session ended
    assert stranger.request(reset)[0] == 410  # once
    again = Browser(site.url)
    status, _, _ = again.request('/login', {'username': 'alice', 'password': PASSWORD,
                                            'csrf_token': again.csrf('/login')})
    assert status == 422
    again.request('/login', {'username': 'alice', 'password': NEW_PASSWORD,
                             'csrf_token': again.csrf('/login')})
    assert 'Signed in as' in again.request('/')[2]
    assert 'mail via smtp://127.0.0.1' in site.output()
