"""Configuration: defaults, overridden by environment variables, then by the caller."""

import os
from dataclasses import dataclass, field, replace
from urllib.parse import urlsplit

from blog import passwords
from blog.mail import parse_smtp_url

DEFAULT_HOST = '127.0.0.1'
DEFAULT_PORT = 8080


@dataclass(frozen=True)
class Config:
    """Everything `create_app` needs to know; build one with `Config.from_env()`."""

    db_path: str = 'blog.db'
    media_dir: str = ''  # uploaded images; empty: beside the database (media_path)
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    base_url: str = ''  # empty: http://HOST:PORT
    # Secure cookies need HTTPS; "auto" follows the scheme of base_url.
    secure_cookies: str = 'auto'
    session_days: int = 30
    # Requests larger than this get the app's own 413 page (waitress's limit is
    # set above both limits so the app answers first).
    max_body_bytes: int = 1024 * 1024
    # The editors' limit: 600,000 characters of any script (up to 4 bytes each in
    # UTF-8) as multipart, with room to spare, so a too-long body is a form error.
    editor_body_bytes: int = 8 * 1024 * 1024
    # Image uploads (/media, and the editor's upload, which adds this to the editor's
    # limit): the 10 MiB an image may have, and room for the form around it. A file
    # over 10 MiB within this is a form error that says so; past it, a 413.
    upload_body_bytes: int = 10 * 1024 * 1024 + 64 * 1024
    # Throttling (blog.throttle): failed sign-ins per username from one address and
    # per address in a window; per username from every address, past which one try
    # per throttle_slow_seconds still gets through; registrations per address an hour.
    throttle_window: int = 15 * 60
    throttle_per_user: int = 10
    throttle_per_address: int = 50
    throttle_per_username: int = 100
    throttle_slow_seconds: int = 5
    throttle_register_per_hour: int = 10
    hash_cost: passwords.Cost = field(default=passwords.DEFAULT_COST)
    cache_pages: bool = True
    # How serve runs waitress. threads has no environment variable, only --threads.
    threads: int = 4
    trusted_proxy: str | None = None  # the address whose X-Forwarded-* to believe
    # Outgoing mail (blog.mail): smtp://user:pass@host:port[?starttls=1] or smtps://;
    # empty: mail is written to the log.
    smtp_url: str = ''
    mail_from: str = ''  # empty: blog@<the base URL's host>

    @classmethod
    def from_env(cls, environ=None, **overrides):
        """Defaults, then BLOG_* environment variables, then `overrides` (None: not
        given). A bad BLOG_PORT is a ValueError naming it."""
        environ = os.environ if environ is None else environ
        values = {}
        if environ.get('BLOG_DB'):
            values['db_path'] = environ['BLOG_DB']
        if environ.get('BLOG_HOST'):
            values['host'] = environ['BLOG_HOST']
        if environ.get('BLOG_PORT'):
            try:
                values['port'] = parse_port(environ['BLOG_PORT'])
            except ValueError as exc:
                raise ValueError('BLOG_PORT: %s' % exc) from None
        if environ.get('BLOG_MEDIA_DIR'):
            values['media_dir'] = environ['BLOG_MEDIA_DIR']
        if environ.get('BLOG_BASE_URL'):
            values['base_url'] = environ['BLOG_BASE_URL']
        if environ.get('BLOG_SMTP_URL'):
            try:
                parse_smtp_url(environ['BLOG_SMTP_URL'])
            except ValueError as exc:
                raise ValueError('BLOG_SMTP_URL: %s' % exc) from None
            values['smtp_url'] = environ['BLOG_SMTP_URL']
        if environ.get('BLOG_MAIL_FROM'):
            values['mail_from'] = environ['BLOG_MAIL_FROM']
        if environ.get('BLOG_TRUSTED_PROXY'):
            values['trusted_proxy'] = environ['BLOG_TRUSTED_PROXY']
        values.update({k: v for k, v in overrides.items() if v is not None})
        return replace(cls(), **values)

    @property
    def site_url(self):
        """Absolute base for links in feeds and canonical tags (no trailing slash)."""
        if self.base_url:
            return self.base_url.rstrip('/')
        host = '[%s]' % self.host if ':' in self.host else self.host
        return 'http://%s:%d' % (host, self.port)

    @property
    def sender(self):
        """The From address of the site's mail."""
        if self.mail_from:
            return self.mail_from
        host = urlsplit(self.site_url).hostname or 'localhost'
        return 'blog@' + host

    @property
    def media_path(self):
        """The media folder: media_dir, else `<database name>-media` beside the file."""
        return self.media_dir or default_media_dir(self.db_path)

    @property
    def cookies_secure(self):
        if self.secure_cookies == 'auto':
            return self.site_url.startswith('https://')
        return self.secure_cookies in ('1', 'true', 'yes', True)


def default_media_dir(db_path):
    """Where the images of the database `db_path` live unless told: blog.db ->
    blog-media, beside it (so a copy of both is a copy of the site)."""
    return os.path.splitext(os.path.abspath(db_path))[0] + '-media'


def parse_port(text):
    """A TCP port number from text; ValueError with a readable message otherwise."""
    try:
        port = int(text)
    except (TypeError, ValueError):
        raise ValueError('port must be a number, got %r' % (text,)) from None
    if not 0 < port < 65536:
        raise ValueError('port must be between 1 and 65535, got %d' % port)
    return port


def waitress_body_limit(config):
    """waitress's own request limit: above every limit of the app, so the app's
    413 page answers anything a browser sends."""
    return 2 * (config.editor_body_bytes + config.upload_body_bytes)
