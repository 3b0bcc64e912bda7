"""Sending mail: `Mailer`, one per site, with the standard library's smtplib and email.

`--smtp-url` / `BLOG_SMTP_URL` says where: `smtp://user:pass@host:port` (plain, or
`?starttls=1` to upgrade), `smtps://...` (TLS from the start); `--mail-from` /
`BLOG_MAIL_FROM` who from. Without an SMTP URL, every message is written to the
server log instead (start-up says so), whole, so an operator can still pass a link on.

A request never waits for the mail server: `send()` puts the message on a queue and a
thread of the site's own (started with the first message, never on import) sends it,
with a timeout and one retry, and logs one line whatever happens. So a page answers in
the same time whether or not it sent anything (the password reset relies on that),
mail is never sent inside a database transaction, and a mail server that is down costs
a log line, not an error page: the user gets the same answer either way.
"""

import email.message
import email.utils
import logging
import queue
import smtplib
import ssl
import threading
import time
from dataclasses import dataclass
from urllib.parse import parse_qs, unquote, urlsplit

log = logging.getLogger('blog.mail')

TIMEOUT_SECONDS = 10
RETRY_SECONDS = 2
DEFAULT_PORTS = {'smtp': 25, 'smtps': 465}


@dataclass(frozen=True)
class SmtpTarget:
    """Where mail goes, from an SMTP URL."""

    scheme: str
    host: str
    port: int
    username: str | None
    password: str | None
    starttls: bool

    def describe(self):
        """The target for a log line: never the password."""
        return '%s://%s%s:%d%s' % (self.scheme, self.username + '@' if self.username else '',
                                   self.host, self.port, ' (STARTTLS)' if self.starttls else '')


def parse_smtp_url(text):
    """An SmtpTarget from `smtp://user:pass@host:port?starttls=1` or `smtps://...`;
    ValueError with a readable message otherwise."""
    parts = urlsplit(text.strip())
    if parts.scheme not in DEFAULT_PORTS:
        raise ValueError('the SMTP URL must start with smtp:// or smtps://, got %r'
                         % text[:40])
    if not parts.hostname:
        raise ValueError('the SMTP URL has no host: %r' % text[:40])
    try:
        port = parts.port or DEFAULT_PORTS[parts.scheme]
    except ValueError:
        raise ValueError('the SMTP URL has a bad port') from None
    flags = parse_qs(parts.query)
    starttls = flags.get('starttls', ['0'])[0].lower() in ('1', 'true', 'yes', 'on')
    if starttls and parts.scheme == 'smtps':
        raise ValueError('smtps:// is TLS already; starttls=1 is for smtp://')
    return SmtpTarget(parts.scheme, parts.hostname, port,
                      unquote(parts.username) if parts.username else None,
                      unquote(parts.password) if parts.password is not None else None,
                      starttls)


def build_message(sender, to, subject, text, html=None):
    """A plain-text message (with a short HTML alternative when `html` is given)."""
    message = email.message.EmailMessage()
    message['From'] = sender
    message['To'] = to
    message['Subject'] = subject
    message['Date'] = email.utils.formatdate(localtime=False, usegmt=True)
    domain = email.utils.parseaddr(sender)[1].rpartition('@')[2]
    message['Message-ID'] = email.utils.make_msgid(domain=domain or 'localhost')
    message.set_content(text)
    if html:
        message.add_alternative(html, subtype='html')
    return message


class Mailer:
    """One site's outgoing mail: a queue and the thread that empties it."""

    def __init__(self, smtp_url='', sender='', timeout=TIMEOUT_SECONDS):
        self.target = parse_smtp_url(smtp_url) if smtp_url else None
        self.sender = sender or 'blog@localhost'
        self.timeout = timeout
        self._queue = queue.Queue()
        self._thread = None
        self._lock = threading.Lock()
        self.sent = 0  # messages the server accepted (or, without one, logged)
        self.failed = 0

    def describe(self):
        """What start-up says about mail."""
        if self.target is None:
            return 'no SMTP server (--smtp-url): mail is written to the log'
        return 'mail via %s from %s' % (self.target.describe(), self.sender)

    def send(self, to, subject, text, html=None):
        """Queue a message; it is sent (or logged) by the mailer's thread."""
        message = build_message(self.sender, to, subject, text, html)
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name='blog-mail',
                                                daemon=True)
                self._thread.start()
        self._queue.put(message)

    def flush(self, timeout=None):
        """Wait until every queued message has been handled (tests, shutdown)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._queue.all_tasks_done:
            while self._queue.unfinished_tasks:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return False
                self._queue.all_tasks_done.wait(left)
        return True

    def _run(self):
        while True:
            message = self._queue.get()
            try:
                self._deliver(message)
            finally:
                self._queue.task_done()

    def _deliver(self, message):
        to, subject = message['To'], message['Subject']
        if self.target is None:
            log.info('mail not sent (no SMTP server configured) to %s: %s\n%s', to, subject,
                     message.get_body(('plain',)).get_content())
            self.sent += 1
            return
        for attempt in (1, 2):
            try:
                self._smtp_send(message)
            except (OSError, smtplib.SMTPException) as exc:
                if attempt == 1:
                    time.sleep(RETRY_SECONDS)
                    continue
                self.failed += 1
                log.error('mail to %s (%s) failed after 2 tries via %s: %s', to, subject,
                          self.target.describe(), exc)
                return
            self.sent += 1
            log.info('mail sent to %s: %s', to, subject)
            return

    def _smtp_send(self, message):
        target = self.target
        context = ssl.create_default_context()
        if target.scheme == 'smtps':
            client = smtplib.SMTP_SSL(target.host, target.port, timeout=self.timeout,
                                      context=context)
        else:
            client = smtplib.SMTP(target.host, target.port, timeout=self.timeout)
        with client:
            if target.starttls:
                client.starttls(context=context)
            if target.username:
                client.login(target.username, target.password or '')
            client.send_message(message)
