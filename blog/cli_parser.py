"""The command line's arguments: one parser for every command of run.py (blog.cli
runs them). `build_parser(config)` takes its defaults from `config`, so the
environment is read once."""

import argparse

from blog import site_settings
from blog.config import Config, parse_port
from blog.mail import parse_smtp_url


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line and exit status 2."""

    def error(self, message):
        self.exit(2, '%s: error: %s\n' % (self.prog, message))


def _port(text):
    try:
        return parse_port(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _smtp_url(text):
    try:
        parse_smtp_url(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def _positive(text):
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError('expected a positive whole number, got %r' % text)
    return int(text)


def _count(text):
    if not text.isdigit():
        raise argparse.ArgumentTypeError('expected a whole number, got %r' % text)
    return int(text)


def build_parser(config=None):
    """The argument parser for all commands; `config` (default `Config.from_env()`)
    gives the defaults, and every command's `args.config` is it."""
    config = Config.from_env() if config is None else config
    db_default = config.db_path
    parser = Parser(prog='run.py', description='A multi-author blog. Without a command: serve.')
    parser.set_defaults(config=config)
    sub = parser.add_subparsers(dest='command', parser_class=Parser)

    serve = sub.add_parser('serve', help='serve the blog with waitress (the default)')
    serve.add_argument('--host', default=config.host)
    serve.add_argument('--port', type=_port, default=config.port)
    serve.add_argument('--db', default=db_default, help='SQLite file (default ./blog.db)')
    serve.add_argument('--media-dir', default=config.media_dir or None,
                       help='folder of uploaded images (default: beside the database, '
                       'NAME-media for NAME.db)')
    serve.add_argument('--threads', type=_positive, default=config.threads,
                       help='worker threads (%(default)s)')
    serve.add_argument('--base-url', default=config.base_url,
                       help='absolute URL for links in feeds (default http://HOST:PORT)')
    serve.add_argument('--smtp-url', type=_smtp_url, default=config.smtp_url or None,
                       metavar='URL', help='where mail goes: smtp://user:pass@host:port '
                       '(?starttls=1) or smtps://... (default: mail is written to the log)')
    serve.add_argument('--mail-from', default=config.mail_from or None, metavar='ADDRESS',
                       help="the From of the site's mail (default blog@ the base URL's host)")
    serve.add_argument('--trusted-proxy', default=config.trusted_proxy,
                       metavar='IP', help='address of a reverse proxy whose X-Forwarded-For '
                       'and X-Forwarded-Proto to believe (default: none)')

    admin = sub.add_parser('create-admin', help='create an admin, or promote a user')
    admin.add_argument('username')
    admin.add_argument('--db', default=db_default)

    password = sub.add_parser('set-password', help="set a user's password and end their "
                              'sessions (a forgotten password, an imported author)')
    password.add_argument('username')
    password.add_argument('--db', default=db_default)

    users = sub.add_parser('users', help='list users and their roles')
    users.add_argument('--db', default=db_default)

    backup = sub.add_parser('backup', help='online copy of the database (SQLite backup API) '
                            'and of its images (to NAME-media beside the copy NAME.db)')
    backup.add_argument('path')
    backup.add_argument('--db', default=db_default)
    backup.add_argument('--media-dir', default=config.media_dir or None)

    demo = sub.add_parser('demo', help='fill a database with demo authors and posts')
    demo.add_argument('--db', default=db_default)
    demo.add_argument('--authors', type=_positive, default=20)
    demo.add_argument('--posts', type=_count, default=200)
    demo.add_argument('--seed', type=_count, default=1)

    imp = sub.add_parser('import', help='import an export zip (posts and their images)')
    imp.add_argument('path')
    imp.add_argument('--db', default=db_default)
    imp.add_argument('--media-dir', default=config.media_dir or None)

    settings = sub.add_parser('settings', help='show the site settings, one, or set one (%s)'
                              % ', '.join(site_settings.KEYS))
    settings.add_argument('key', nargs='?')
    settings.add_argument('value', nargs='?')
    settings.add_argument('--db', default=db_default)
    return parser
