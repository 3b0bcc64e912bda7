"""The command line behind run.py: serve, create-admin, set-password, users, backup,
demo, import.

Bad arguments get one line on stderr and exit status 2, never a traceback.
"""

import contextlib
import getpass
import os
import signal
import sqlite3 as stdlib_sqlite3
import sys
import time
from dataclasses import replace

from peewee import DatabaseError

from blog import accounts, forms, logs, media_zip, roles, site_settings, zipformat
from blog import demo as demo_data
from blog.cli_parser import build_parser
from blog.config import Config, default_media_dir, waitress_body_limit
from blog.media_store import LocalStore
from blog.queries import people
from blog.site import APP_KEY, Site


class UsageError(Exception):
    """Bad arguments or input: reported in one line, exit status 2."""


def _check_folder(db_path):
    """A clear error, not a traceback, when the database's folder is missing."""
    directory = os.path.dirname(os.path.abspath(db_path))
    if not os.path.isdir(directory):
        raise UsageError('the folder for --db does not exist: %s' % directory)


def _config_for(args):
    """The configuration with this command's --db (and --media-dir, if it has one)."""
    return replace(args.config, db_path=args.db,
                   media_dir=getattr(args, 'media_dir', None) or args.config.media_dir)


def _open_existing(args):
    """_open(), for commands that make no sense on a new, empty database."""
    _check_folder(args.db)
    if not os.path.exists(args.db):
        raise UsageError('no database at %s' % args.db)
    return _open(args)


def _open(args):
    """The site on `args.db` (created or migrated), active in this thread until the
    command ends (`main` closes it, and the thread serves no site again)."""
    _check_folder(args.db)
    site = Site(_config_for(args))
    args.resources.callback(site.close)
    site.migrate()
    args.resources.enter_context(site.activated())
    return site


def serve(args):
    """Serve the blog with waitress until interrupted."""
    import waitress

    from blog import first_run
    from blog.app import create_app

    _check_folder(args.db)
    config = replace(_config_for(args), host=args.host, port=args.port,
                     base_url=args.base_url, threads=args.threads,
                     trusted_proxy=args.trusted_proxy, smtp_url=args.smtp_url or '',
                     mail_from=args.mail_from or '')
    logs.configure()  # before create_app, which logs the migrations it applies
    app = create_app(config)
    site = app.config[APP_KEY]
    proxy = {}
    if config.trusted_proxy:
        # waitress then puts the client's address in REMOTE_ADDR (what the sign-in
        # throttle counts) and drops forwarding headers from anyone else.
        proxy = {'trusted_proxy': config.trusted_proxy, 'trusted_proxy_count': 1,
                 'trusted_proxy_headers': {'x-forwarded-for', 'x-forwarded-proto'},
                 'clear_untrusted_proxy_headers': True}
    try:
        # Binds the port here, so a busy port is an error before "Blog on".
        server = waitress.create_server(
            app, host=config.host, port=config.port, threads=config.threads, ident='',
            # Above the app's own limit, so the app answers 413 with its page.
            max_request_body_size=waitress_body_limit(config),
            channel_timeout=60, connection_limit=1000, **proxy)
    except OSError as exc:
        raise OSError('cannot listen on %s:%d: %s'
                      % (config.host, config.port, exc.strerror or exc)) from None
    print('Blog on http://%s:%d/ (database %s, images in %s; %s)'
          % (config.host, config.port, site.backend.describe(), config.media_path,
             site.mailer.describe()), flush=True)
    link = first_run.setup_link(site)
    if link:
        print('This site has no admin yet. To make one, open this link (it works once):\n'
              '  %s\nor run: python run.py create-admin USERNAME --db %s' % (link, args.db),
              flush=True)
    # A service manager stops the server with SIGTERM: leave as from Ctrl-C (exit
    # status 0 here), so the database is closed and queued log lines are written.
    signal.signal(signal.SIGTERM, _stop)
    server.run()


def _stop(signum, frame):
    raise SystemExit(0)


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
    username = forms.normalize_username(args.username)
    error = forms.username_error(username)
    if error:
        raise UsageError('username: ' + error)
    _open(args)
    user = people.user_named(username)
    if user is not None:
        accounts.promote_to_admin(user.id)
        print('%s is now an admin (password unchanged).' % username)
        return
    password = _read_new_password()
    error = forms.password_error(password)
    if error:
        raise UsageError('password: ' + error)
    if accounts.create_user(username, password, role=roles.ADMIN) is None:
        raise UsageError('%s was created by someone else just now; run again' % username)
    print('Created admin %s.' % username)


def set_password(args):
    """Set a user's password (stdin, or asked twice) and end all their sessions."""
    username = forms.normalize_username(args.username)
    if forms.username_error(username):
        raise UsageError('there is no user %r' % args.username)
    _open_existing(args)
    user = people.user_named(username)
    if user is None:
        raise UsageError('there is no user %s' % username)
    password = _read_new_password()
    error = forms.password_error(password)
    if error:
        raise UsageError('password: ' + error)
    if not accounts.set_password(user.id, password):
        raise UsageError('%s was deleted just now' % username)
    print('Password set for %s; their sessions have ended.' % username)
    if not user.is_active:
        print('%s is deactivated and cannot sign in until an admin activates them at '
              '/admin/users/%s.' % (username, username))


def list_users(args):
    """Print every user with their role, state, post count and last sign-in."""
    _open_existing(args)
    row = '%-30s %-11s %-11s %6s  %-17s'
    print((row % ('USERNAME', 'ROLE', 'STATE', 'POSTS', 'LAST SIGN-IN (UTC)')).rstrip())
    # The same query as /admin/users: post counts per listed user, not a GROUP BY
    # over every post.
    for user in people.admin_user_list():
        last = user.last_login_at.strftime('%Y-%m-%d %H:%M') if user.last_login_at else 'never'
        print((row % (user.username, user.role,
                      'active' if user.is_active else 'deactivated', user.post_count,
                      last)).rstrip())


def backup(args):
    """Copy the database with SQLite's online backup API (safe while serving)."""
    if os.path.exists(args.path):
        raise UsageError('%s exists already; choose a new file' % args.path)
    media_copy = default_media_dir(args.path)
    if os.path.exists(media_copy):
        raise UsageError('%s exists already; choose a new file' % media_copy)
    site = _open_existing(args)
    site.backend.backup(args.path)
    # After the database: an image uploaded meanwhile is an extra file in the copy,
    # never a row without its files.
    copied = site.media.copy_to(LocalStore(media_copy))
    print('Backed up %s to %s, and %d image file%s to %s.'
          % (args.db, args.path, copied, '' if copied == 1 else 's', media_copy))


def demo(args):
    """Fill the database with demo authors and posts."""
    started = time.monotonic()
    site = _open(args)
    with site.backend.bulk_session():
        first_user, _ = demo_data.fill(args.authors, args.posts, seed=args.seed)
        example = demo_data.first_username(first_user)
    print('%-44s %6.1f s' % ('checkpointed', time.monotonic() - started), flush=True)
    print('Made %d authors and %d posts in %.1f s.' % (args.authors, args.posts,
                                                       time.monotonic() - started))
    print('Every demo author signs in with the password: %s' % demo_data.DEMO_PASSWORD)
    print('For example: username %s' % example)


def import_zip(args):
    """Import an export zip (checked whole before anything is written)."""
    try:
        records, ignored, found_images = zipformat.read_export(args.path)
    except zipformat.ExportError as exc:
        raise UsageError(str(exc)) from None
    site = _open(args)
    written = media_zip.store_files(args.path, found_images, site.media)
    try:
        imported, skipped, created = zipformat.import_posts(records, found_images)
    except BaseException:
        media_zip.remove_files(written, site.media)  # nothing half-imported
        raise
    print('Imported %d post%s from %s.' % (imported, '' if imported == 1 else 's', args.path))
    if found_images:
        print('Imported %d image%s (%d new file%s in %s).'
              % (len(found_images), '' if len(found_images) == 1 else 's', len(written),
                 '' if len(written) == 1 else 's', site.config.media_path))
    if skipped:
        print('Skipped %d already in the database (same author, creation time, title '
              'and body).' % skipped)
    if created:
        print('Created %d deactivated author%s (no password, cannot sign in): %s'
              % (len(created), '' if len(created) == 1 else 's', ', '.join(created)))
        print('To let one sign in: python run.py set-password USERNAME, then activate them '
              'at /admin/users/USERNAME.')
    if ignored:
        print('Ignored %d file%s that are not posts (*.md).'
              % (ignored, '' if ignored == 1 else 's'))


def settings(args):
    """Print every setting, print one (KEY), or set one (KEY VALUE); a running server
    sees the change within a second. Refuses a --db that does not exist (a typo
    would otherwise make a new site)."""
    _open_existing(args)
    if args.key is not None and args.key not in site_settings.KEYS:
        raise UsageError('unknown setting %r (settings: %s)'
                         % (args.key, ', '.join(site_settings.KEYS)))
    if args.value is not None:
        try:
            value = site_settings.parse(args.key, args.value)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        changed = site_settings.set_one(args.key, value)
        print('%s = %s%s' % (args.key, site_settings.shown(args.key, value),
                             '' if changed else ' (unchanged)'))
        return
    saved = site_settings.load()
    for key in [args.key] if args.key else site_settings.KEYS:
        print('%s = %s' % (key, site_settings.shown(key, getattr(saved, key))))


def main(argv=None):
    """Entry point for run.py; returns the exit status."""
    try:
        config = Config.from_env()  # the one reading of the environment
    except ValueError as exc:
        print('run.py: error: %s' % exc, file=sys.stderr)
        return 2
    parser = build_parser(config)
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or (argv[0].startswith('-') and argv[0] not in ('-h', '--help')):
        argv.insert(0, 'serve')  # serving is the default command
    args = parser.parse_args(argv)
    handlers = {'serve': serve, 'create-admin': create_admin, 'set-password': set_password,
                'users': list_users, 'backup': backup, 'demo': demo, 'import': import_zip,
                'settings': settings}
    try:
        with contextlib.ExitStack() as args.resources:
            handlers[args.command](args)
    except UsageError as exc:
        print('run.py: error: %s' % exc, file=sys.stderr)
        return 2
    except (DatabaseError, stdlib_sqlite3.DatabaseError, OSError) as exc:
        print('run.py: error: %s' % exc, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return 0
