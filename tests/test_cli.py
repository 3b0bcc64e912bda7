"""run.py's commands: create-admin, set-password, users, backup, and bad arguments."""

import os
import sqlite3
import subprocess
import sys

import pytest
from webtest import TestApp

from blog import cli
from blog.app import create_app
from blog.config import Config
from blog.site import APP_KEY
from tests.conftest import PASSWORD, ROOT, TEST_COST, Auth


def run(*args, stdin='', env=None):
    return subprocess.run([sys.executable, os.path.join(ROOT, 'run.py'), *args],
                          input=stdin, capture_output=True, text=True, cwd=ROOT, timeout=120,
                          env=dict(os.environ, **(env or {})))


@pytest.mark.parametrize('args', [
    ['serve', '--port', 'abc'],
    ['serve', '--port', '70000'],
    ['serve', '--threads', '0'],
    ['--port', 'x'],
    ['nonsense'],
    ['create-admin'],
    ['set-password'],
    ['demo', '--posts', '-5'],
])
def test_bad_arguments_exit_2_with_one_line(args):
    result = run(*args)
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1
    assert 'error' in result.stderr and 'Traceback' not in result.stderr


def test_help_lists_commands():
    result = run('--help')
    assert result.returncode == 0
    for command in ('serve', 'create-admin', 'set-password', 'users', 'backup', 'demo',
                    'import'):
        assert command in result.stdout


def test_create_admin_from_stdin_then_promote(tmp_path):
    db = str(tmp_path / 'blog.db')
    result = run('create-admin', 'Root', '--db', db, stdin=PASSWORD + '\n' + PASSWORD + '\n')
    assert result.returncode == 0, result.stderr
    conn = sqlite3.connect(db)
    row = conn.execute('SELECT username, role, password FROM user').fetchone()
    assert row[:2] == ('root', 'admin') and row[2].startswith('scrypt$14$8$5$')
    conn.execute("INSERT INTO user (username, password, created_at, updated_at) "
                 "VALUES ('bob', 'keep-me', 0, 0)")
    conn.commit()
    result = run('create-admin', 'bob', '--db', db)
    assert result.returncode == 0 and 'now an admin' in result.stdout
    assert conn.execute("SELECT role, password, version FROM user WHERE username='bob'") \
        .fetchone() == ('admin', 'keep-me', 2)  # the version moved: open admin forms get a 409
    listing = run('users', '--db', db)
    assert listing.returncode == 0
    assert 'root' in listing.stdout and 'admin' in listing.stdout


@pytest.mark.parametrize('stdin, message', [
    ('', 'no password'),
    ('short\n', 'at least 12'),
    (PASSWORD + '\nsomething else\n', 'differ'),
])
def test_create_admin_bad_password(tmp_path, stdin, message):
    result = run('create-admin', 'root', '--db', str(tmp_path / 'blog.db'), stdin=stdin)
    assert result.returncode == 2 and message in result.stderr


def test_create_admin_bad_username(tmp_path):
    result = run('create-admin', 'no way', '--db', str(tmp_path / 'b.db'), stdin=PASSWORD)
    assert result.returncode == 2 and 'username' in result.stderr


def test_set_password_lets_an_imported_author_sign_in(tmp_path):


    db = str(tmp_path / 'blog.db')
    assert run('create-admin', 'root', '--db', db, stdin=PASSWORD).returncode == 0
    conn = sqlite3.connect(db)
    # As `import` creates a missing author: deactivated, a password nothing matches.
    conn.execute("INSERT INTO user (username, password, is_active, created_at, updated_at) "
                 "VALUES ('ann', '!imported', 0, 0, 0)")
    conn.execute("INSERT INTO session (token_hash, user_id, csrf_token, created_at,"
                 " last_seen_at, expires_at) SELECT 'h', id, 't', 0, 0, 9e18 FROM user"
                 " WHERE username = 'ann'")
    conn.commit()
    result = run('set-password', 'Ann', '--db', db, stdin=PASSWORD + '\n')
    assert result.returncode == 0, result.stderr
    assert 'Password set for ann' in result.stdout and 'deactivated' in result.stdout
    assert conn.execute("SELECT count(*) FROM session JOIN user ON user.id = user_id"
                        " WHERE username = 'ann'").fetchone() == (0,)
    conn.execute("UPDATE user SET is_active = 1 WHERE username = 'ann'")  # the admin's part
    conn.commit()
    app = create_app(Config(db_path=db, hash_cost=TEST_COST))
    client = TestApp(app)
    try:
        Auth(client).login('ann', PASSWORD)
        assert 'ann' in client.get('/settings').text
    finally:
        app.config['blog.site'].close()


@pytest.mark.parametrize('args, stdin, message', [
    (['set-password', 'nobody'], PASSWORD, 'there is no user nobody'),
    (['set-password', 'root'], 'short\n', 'at least 12'),
    (['set-password', 'root'], '', 'no password'),
])
def test_set_password_refusals(tmp_path, args, stdin, message):
    db = str(tmp_path / 'blog.db')
    assert run('create-admin', 'root', '--db', db, stdin=PASSWORD).returncode == 0
    result = run(*args, '--db', db, stdin=stdin)
    assert result.returncode == 2 and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize('args, stdin, message', [
    (['set-password', 'root'], b'\xff' + PASSWORD.encode() + b'\n', 'not valid UTF-8'),
    (['set-password', 'ro\not'], b'', 'there is no user'),
    (['create-admin', 'root2'], b'\xfe\xff' + PASSWORD.encode() + b'\n', 'not valid UTF-8'),
])
def test_bad_bytes_and_names_are_one_line_errors(tmp_path, args, stdin, message):
    db = str(tmp_path / 'blog.db')
    assert run('create-admin', 'root', '--db', db, stdin=PASSWORD).returncode == 0
    result = subprocess.run([sys.executable, os.path.join(ROOT, 'run.py'), *args, '--db', db],
                            input=stdin, capture_output=True, cwd=ROOT, timeout=120)
    stderr = result.stderr.decode('utf-8', 'replace')
    assert result.returncode == 2 and message in stderr, stderr
    assert len(stderr.strip().splitlines()) == 1


@pytest.mark.parametrize('command', ['set-password', 'users'])
def test_commands_on_a_mistyped_database_do_not_create_it(tmp_path, command):
    db = tmp_path / 'typo.db'
    args = [command, 'root'] if command == 'set-password' else [command]
    result = run(*args, '--db', str(db), stdin=PASSWORD)
    assert result.returncode == 2 and 'no database at' in result.stderr
    assert not db.exists()


@pytest.mark.parametrize('command', ['users', 'serve'])
def test_db_in_missing_folder_is_a_clear_error(tmp_path, command):
    result = run(command, '--db', str(tmp_path / 'nope' / 'blog.db'))
    assert result.returncode == 2 and 'does not exist' in result.stderr


def test_backup_copies_the_database(tmp_path):
    db = str(tmp_path / 'blog.db')
    assert run('create-admin', 'root', '--db', db, stdin=PASSWORD).returncode == 0
    copy = str(tmp_path / 'copy.db')
    result = run('backup', copy, '--db', db)
    assert result.returncode == 0, result.stderr
    conn = sqlite3.connect(copy)
    assert conn.execute('PRAGMA integrity_check').fetchone()[0] == 'ok'
    assert conn.execute('SELECT username FROM user').fetchall() == [('root',)]
    again = run('backup', copy, '--db', db)
    assert again.returncode == 2 and 'exists' in again.stderr


def test_env_variables_give_defaults(tmp_path):
    db = str(tmp_path / 'env.db')
    result = run('create-admin', 'root', stdin=PASSWORD, env={'BLOG_DB': db})
    assert result.returncode == 0 and os.path.exists(db)


ENV = {'BLOG_DB': 'env.db', 'BLOG_HOST': '192.0.2.7', 'BLOG_PORT': '9001',
       'BLOG_BASE_URL': 'https://env.test', 'BLOG_TRUSTED_PROXY': '10.0.0.9'}


def test_env_variables_give_the_command_line_defaults():
    config = Config.from_env(ENV)
    args = cli.build_parser(config).parse_args(['serve'])
    assert (args.db, args.host, args.port, args.base_url, args.trusted_proxy, args.threads) \
        == ('env.db', '192.0.2.7', 9001, 'https://env.test', '10.0.0.9', 4)
    assert args.config is config
    assert cli.build_parser(config).parse_args(['users']).db == 'env.db'


def test_flags_override_env_variables():
    args = cli.build_parser(Config.from_env(ENV)).parse_args([
        'serve', '--db', 'flag.db', '--host', '::1', '--port', '9002', '--base-url',
        'https://flag.test', '--trusted-proxy', '10.0.0.10', '--threads', '8'])
    assert (args.db, args.host, args.port, args.base_url, args.trusted_proxy, args.threads) \
        == ('flag.db', '::1', 9002, 'https://flag.test', '10.0.0.10', 8)


def test_config_from_env_has_threads_and_trusted_proxy():
    config = Config.from_env({})
    assert (config.threads, config.trusted_proxy) == (4, None)
    config = Config.from_env({'BLOG_TRUSTED_PROXY': '10.0.0.9', 'BLOG_THREADS': '9'})
    # --threads only: there is no environment variable for it.
    assert (config.threads, config.trusted_proxy) == (4, '10.0.0.9')
    assert Config.from_env({}, threads=2, trusted_proxy=None).threads == 2


@pytest.mark.parametrize('port', ['abc', '0', '70000', '80 80'])
def test_a_bad_blog_port_is_a_value_error_naming_it(port):
    with pytest.raises(ValueError, match='^BLOG_PORT: port must be'):
        Config.from_env({'BLOG_PORT': port})


@pytest.mark.parametrize('command', [['serve'], ['users'], ['serve', '--port', '9003']],
                         ids=['serve', 'users', 'serve-with-port-flag'])
def test_a_bad_blog_port_is_a_one_line_error_for_every_command(tmp_path, command):
    db = tmp_path / 'blog.db'
    db.touch()
    result = run(*command, '--db', str(db), env={'BLOG_PORT': 'abc'})
    assert result.returncode == 2
    assert result.stderr == "run.py: error: BLOG_PORT: port must be a number, got 'abc'\n"
    assert result.stdout == ''


def test_serve_gives_waitress_its_config(tmp_path, monkeypatch, restore_logging):
    import waitress
    calls = []

    class FakeServer:
        def run(self):
            calls[-1]['app'].config[APP_KEY].close()

    def create_server(app, **settings):
        calls.append(dict(settings, app=app))
        return FakeServer()
    monkeypatch.setattr(waitress, 'create_server', create_server)
    monkeypatch.setenv('BLOG_TRUSTED_PROXY', '10.0.0.9')
    monkeypatch.setenv('BLOG_HOST', '127.0.0.2')
    assert cli.main(['serve', '--db', str(tmp_path / 'blog.db'), '--port', '9004',
                     '--threads', '3']) == 0
    (settings,) = calls
    assert (settings['host'], settings['port'], settings['threads']) == ('127.0.0.2', 9004, 3)
    assert settings['trusted_proxy'] == '10.0.0.9'
    assert settings['trusted_proxy_headers'] == {'x-forwarded-for', 'x-forwarded-proto'}
    assert settings['app'].config[APP_KEY].config.trusted_proxy == '10.0.0.9'
