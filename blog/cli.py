"""The command line behind run.py: serve, create-admin, set-password, users, backup,
demo, import.

Bad arguments get one line on stderr and exit status 2, never a traceback.
"""

import argparse
import getpass
import logging
import os
import sqlite3 as stdlib_sqlite3
import sys

from peewee import DatabaseError, IntegrityError

from blog import forms
from blog.config import DEFAULT_HOST, DEFAULT_PORT, Config, parse_port


class UsageError(Exception):
    """Bad arguments or input: reported in one line, exit status 2."""


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line and exit status 2."""

    def error(self, message):
        self.exit(2, '%s: error: %s\n' % (self.prog, message))


def _port(text):
    try:
        return parse_port(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _positive(text):
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError('expected a positive whole number, got %r' % text)
    return int(text)


def _count(text):
    if not text.isdigit():
        raise argparse.ArgumentTypeError('expected a whole number, got %r' % text)
    return int(text)


def build_parser():
    """The argument parser for all commands."""
    env = os.environ
    db_default = env.get('BLOG_DB') or 'blog.db'
    parser = Parser(prog='run.py', description='A multi-author blog. Without a command: serve.')
    sub = parser.add_subparsers(dest='command', parser_class=Parser)

    serve = sub.add_parser('serve', help='serve the blog with waitress (the default)')
    serve.add_argument('--host', default=env.get('BLOG_HOST') or DEFAULT_HOST)
    serve.add_argument('--port', type=_port, default=env.get('BLOG_PORT') or DEFAULT_PORT)
    serve.add_argument('--db', default=db_default, help='SQLite file (default ./blog.db)')
    serve.add_argument('--threads', type=_positive, default=4, help='worker threads (4)')
    serve.add_argument('--base-url', default=env.get('BLOG_BASE_URL') or '',
                       help='absolute URL for links in feeds (default http://HOST:PORT)')
    serve.add_argument('--trusted-proxy', default=env.get('BLOG_TRUSTED_PROXY') or None,
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

    backup = sub.add_parser('backup', help='online copy of the database (SQLite backup API)')
    backup.add_argument('path')
    backup.add_argument('--db', default=db_default)

    demo = sub.add_parser('demo', help='fill a database with demo authors and posts')
    demo.add_argument('--db', default=db_default)
    demo.add_argument('--authors', type=_positive, default=20)
    demo.add_argument('--posts', type=_count, default=200)
    demo.add_argument('--seed', type=_count, default=1)

    imp = sub.add_parser('import', help='import an export zip')
    imp.add_argument('path')
    imp.add_argument('--db', default=db_default)
    return parser


def _check_folder(db_path):
    """A clear error, not a traceback, when the database's folder is missing."""
    directory = os.path.dirname(os.path.abspath(db_path))
    if not os.path.isdir(directory):
        raise UsageError('the folder for --db does not exist: %s' % directory)


def _open_existing(db_path):
    """_open(), for commands that make no sense on a new, empty database."""
    _check_folder(db_path)
    if not os.path.exists(db_path):
        raise UsageError('no database at %s' % db_path)
    return _open(db_path)


def _open(db_path):
    """Bind the database (creating or migrating it) for a one-off command."""
    from blog.db import db, init_db
    _check_folder(db_path)
    init_db(db_path)
    db.connect(reuse_if_open=True)
    return db


def serve(args):
    """Serve the blog with waitress until interrupted."""
    import waitress

    from blog.app import create_app
    from blog.db import sqlite_version

    _check_folder(args.db)
    config = Config.from_env(db_path=args.db, host=args.host, port=args.port,
                             base_url=args.base_url)
    app = create_app(config)
    # waitress logs "Task queue depth is N" for every queued request under load.
    logging.getLogger('waitress.queue').setLevel(logging.ERROR)
    print('Blog on http://%s:%d/ (database %s, SQLite %s)'
          % (args.host, args.port, os.path.abspath(args.db), sqlite_version()), flush=True)
    proxy = {}
    if args.trusted_proxy:
        # waitress then puts the client's address in REMOTE_ADDR (what the sign-in
        # throttle counts) and drops forwarding headers from anyone else.
        proxy = {'trusted_proxy': args.trusted_proxy, 'trusted_proxy_count': 1,
                 'trusted_proxy_headers': {'x-forwarded-for', 'x-forwarded-proto'},
                 'clear_untrusted_proxy_headers': True}
    waitress.serve(app, host=args.host, port=args.port, threads=args.threads, ident='',
                   # Above the app's own limit, so the app answers 413 with its page.
                   max_request_body_size=config.max_body_bytes * 4,
                   channel_timeout=60, connection_limit=1000, **proxy)


def _read_new_password():
    try:
        password = _read_password_input()
        password.encode('utf-8')  # stdin may decode bad bytes to lone surrogates
    except UnicodeError:
        raise UsageError('the password is not valid UTF-8') from None
    return password


def _read_password_input():
    if not sys.stdin.isatty():
        lines = sys.stdin.read().splitlines()
        if not lines:
            raise UsageError('no password on stdin')
        if len(lines) > 1 and lines[1] != lines[0]:
            raise UsageError('the two passwords on stdin differ')
        return lines[0]
    first = getpass.getpass('Password: ')
    if getpass.getpass('Password again: ') != first:
        raise UsageError('the two passwords differ')
    return first


def create_admin(args):
    """Create an admin with a password from stdin, or promote an existing user."""
    from blog.db import db, hash_password
    from blog.models import User, utcnow

    username = forms.normalize_username(args.username)
    error = forms.username_error(username)
    if error:
        raise UsageError('username: ' + error)
    _open(args.db)
    user = User.get_or_none(User.username == username)
    if user is not None:
        # A version bump, so an admin form opened before the promotion gets a 409
        # instead of quietly setting is_admin back.
        (User
         .update(is_admin=True, is_active=True, updated_at=utcnow(), version=User.version + 1)
         .where(User.id == user.id)
         .execute())
        print('%s is now an admin (password unchanged).' % username)
        return
    password = _read_new_password()
    error = forms.password_error(password)
    if error:
        raise UsageError('password: ' + error)
    encoded = hash_password(password)
    try:
        with db.atomic('IMMEDIATE'):
            User.create(username=username, password=encoded, is_admin=True)
    except IntegrityError:
        raise UsageError('%s was created by someone else just now; run again' % username) \
            from None
    print('Created admin %s.' % username)


def set_password(args):
    """Set a user's password (stdin, or asked twice) and end all their sessions."""
    from blog.db import db, hash_password
    from blog.models import Session, User, utcnow

    username = forms.normalize_username(args.username)
    if forms.username_error(username):
        raise UsageError('there is no user %r' % args.username)
    _open_existing(args.db)
    user = User.get_or_none(User.username == username)
    if user is None:
        raise UsageError('there is no user %s' % username)
    password = _read_new_password()
    error = forms.password_error(password)
    if error:
        raise UsageError('password: ' + error)
    encoded = hash_password(password)  # before the write lock: it takes ~0.3 s
    with db.atomic('IMMEDIATE'):
        changed = (User
                   .update(password=encoded, updated_at=utcnow())
                   .where(User.id == user.id)
                   .execute())
        # Whoever knew the old password is signed out everywhere.
        Session.delete().where(Session.user == user.id).execute()
    if not changed:
        raise UsageError('%s was deleted just now' % username)
    print('Password set for %s; their sessions have ended.' % username)
    if not user.is_active:
        print('%s is deactivated and cannot sign in until an admin activates them at '
              '/admin/users/%s.' % (username, username))


def list_users(args):
    """Print every user with their role, state, post count and last sign-in."""
    from blog.queries import admin_user_list

    _open_existing(args.db)
    row = '%-30s %-6s %-11s %6s  %-17s'
    print((row % ('USERNAME', 'ROLE', 'STATE', 'POSTS', 'LAST SIGN-IN (UTC)')).rstrip())
    # The same query as /admin/users: post counts per listed user, not a GROUP BY
    # over every post.
    for user in admin_user_list():
        last = user.last_login_at.strftime('%Y-%m-%d %H:%M') if user.last_login_at else 'never'
        print((row % (user.username, 'admin' if user.is_admin else 'author',
                      'active' if user.is_active else 'deactivated', user.post_count,
                      last)).rstrip())


def backup(args):
    """Copy the database with SQLite's online backup API (safe while serving)."""
    from peewee import sqlite3 as driver

    from blog.db import db

    if os.path.exists(args.path):
        raise UsageError('%s exists already; choose a new file' % args.path)
    _open_existing(args.db)
    dest = driver.connect(args.path)  # the same driver (pysqlite3 or sqlite3) as peewee's
    try:
        db.connection().backup(dest)
    finally:
        dest.close()
    print('Backed up %s to %s.' % (args.db, args.path))


def main(argv=None):
    """Entry point for run.py; returns the exit status."""
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or (argv[0].startswith('-') and argv[0] not in ('-h', '--help')):
        argv.insert(0, 'serve')  # serving is the default command
    args = parser.parse_args(argv)
    handlers = {'serve': serve, 'create-admin': create_admin, 'set-password': set_password,
                'users': list_users, 'backup': backup}
    try:
        if args.command == 'demo':
            from blog.demo import run as handler
        elif args.command == 'import':
            from blog.exports import import_command as handler
        else:
            handler = handlers[args.command]
        handler(args)
    except UsageError as exc:
        print('run.py: error: %s' % exc, file=sys.stderr)
        return 2
    except (DatabaseError, stdlib_sqlite3.DatabaseError, OSError) as exc:
        print('run.py: error: %s' % exc, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0
