"""blog.mail: SMTP URLs, the log when there is no server, and real delivery to an SMTP
server on loopback (aiosmtpd): text with an HTML alternative, sign-in, a server that
is down (one retry, one log line, no exception)."""

import email
import email.policy
import logging

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from blog import mail
from tests.server import free_port


@pytest.mark.parametrize('url, expected', [
    ('smtp://mail.example', ('smtp', 'mail.example', 25, None, None, False)),
    ('smtp://u%40x:p%3Ass@mail.example:2525?starttls=1',
     ('smtp', 'mail.example', 2525, 'u@x', 'p:ss', True)),
    ('smtps://me:secret@mail.example', ('smtps', 'mail.example', 465, 'me', 'secret', False)),
])
def test_smtp_urls(url, expected):
    target = mail.parse_smtp_url(url)
    assert (target.scheme, target.host, target.port, target.username, target.password,
            target.starttls) == expected
    assert 'secret' not in target.describe() and 'p:ss' not in target.describe()


@pytest.mark.parametrize('url, message', [
    ('http://mail.example', 'must start with smtp://'),
    ('smtp://', 'has no host'),
    ('smtp://mail.example:99999', 'bad port'),
    ('smtps://mail.example?starttls=1', 'TLS already'),
])
def test_bad_smtp_urls_say_why(url, message):
    with pytest.raises(ValueError, match=message):
        mail.parse_smtp_url(url)


def test_without_a_server_the_mail_goes_to_the_log(caplog):
    mailer = mail.Mailer('', 'blog@blog.test')
    assert 'written to the log' in mailer.describe()
    with caplog.at_level(logging.INFO, logger='blog.mail'):
        mailer.send('ann@example.org', 'Your link', 'Open https://blog.test/x to go on.')
        assert mailer.flush(10)
    (record,) = [r for r in caplog.records if r.name == 'blog.mail']
    assert 'ann@example.org' in record.getMessage()
    assert 'https://blog.test/x' in record.getMessage()
    assert mailer.sent == 1


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.mail_from, envelope.rcpt_tos, session.authenticated,
                              email.message_from_bytes(envelope.content,
                                                       policy=email.policy.default)))
        return '250 OK'


def check_login(server, session, envelope, mechanism, auth_data):
    ok = auth_data.login == b'blog' and auth_data.password == b'pass word'
    return AuthResult(success=ok)


@pytest.fixture
def smtp_server():
    inbox = Inbox()
    controller = Controller(inbox, hostname='127.0.0.1', port=free_port(),
                            authenticator=check_login, auth_require_tls=False)
    controller.start()
    controller.inbox = inbox
    yield controller
    controller.stop()


def test_mail_reaches_a_real_smtp_server_with_both_parts(smtp_server):
    mailer = mail.Mailer('smtp://blog:pass%%20word@127.0.0.1:%d' % smtp_server.port,
                         'Blog <blog@blog.test>')
    mailer.send('ann@example.org', 'Confirm your address', 'Open https://blog.test/c/1',
                '<p><a href="https://blog.test/c/1">Confirm</a></p>')
    assert mailer.flush(20)
    ((sender, to, authenticated, message),) = smtp_server.inbox.messages
    assert sender == 'blog@blog.test' and to == ['ann@example.org'] and authenticated
    assert message['Subject'] == 'Confirm your address'
    assert message['Message-ID'].endswith('@blog.test>')
    assert message.get_body(('plain',)).get_content().strip() == 'Open https://blog.test/c/1'
    assert 'href="https://blog.test/c/1"' in message.get_body(('html',)).get_content()
    assert mailer.sent == 1 and mailer.failed == 0


def test_a_server_that_is_down_costs_a_log_line_after_one_retry(caplog, monkeypatch):
    monkeypatch.setattr(mail, 'RETRY_SECONDS', 0)
    mailer = mail.Mailer('smtp://127.0.0.1:%d' % free_port(), 'blog@blog.test', timeout=2)
    with caplog.at_level(logging.INFO, logger='blog.mail'):
        mailer.send('ann@example.org', 'Hello', 'Text')
        assert mailer.flush(20)
    assert mailer.failed == 1 and mailer.sent == 0
    (line,) = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
    assert 'failed after 2 tries' in line and 'ann@example.org' in line
