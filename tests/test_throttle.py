"""The throttles (blog.throttle): counts in the database, per scope and key, that
slow guessing without letting strangers lock an owner out."""

import dataclasses

import pytest
from webtest import TestApp

from blog import throttle
from blog.app import create_app
from blog.site import APP_KEY
from tests.conftest import PASSWORD, Auth

HOME, AWAY = '192.0.2.1', '203.0.113.5'


def browser(app, address):
    return TestApp(app, extra_environ={'REMOTE_ADDR': address})


@pytest.mark.parametrize('failures', [10, 40])
def test_failures_from_elsewhere_never_lock_the_owner_out(app, make_user, failures):
    make_user('alice')
    away = Auth(browser(app, AWAY))
    for _ in range(min(failures, 10)):
        away.login('alice', 'wrong password!', status=422)
    for _ in range(failures - 10):
        away.login('alice', 'wrong password!', status=429)
    Auth(browser(app, HOME)).login('alice')


def test_eleventh_failure_for_one_user_from_one_address_is_429(client, auth, make_user):
    make_user('alice')
    for _ in range(10):
        auth.login('alice', 'wrong password!', status=422)
    page = auth.login('alice', 'wrong password!', status=429)
    # The oldest failures stop counting within the window and a bucket more.
    assert 0 < int(page.headers['Retry-After']) <= 20 * 60
    assert 'Too many failed sign-ins' in page.text
    assert page.forms['login-form']['username'].value == 'alice'  # kept


@pytest.fixture
def small_app(config):
    """An app whose username-wide limit is 12, so two addresses reach it."""
    application = create_app(dataclasses.replace(config, throttle_per_username=12))
    site = application.config[APP_KEY]
    with site.activated():
        yield application
        site.close()


def test_past_the_username_wide_limit_tries_are_slowed_not_refused(small_app, make_user,
                                                                    monkeypatch):
    site = small_app.config[APP_KEY]
    now = [1_000_000.0]
    monkeypatch.setattr(site.throttle, 'clock', lambda: now[0])
    make_user('alice')
    known = Auth(browser(small_app, HOME))
    known.login('alice')  # HOME is an address alice signs in from
    for address in ('198.51.100.1', '198.51.100.2'):
        for _ in range(6):
            Auth(browser(small_app, address)).login('alice', 'wrong password!', status=422)
    stranger = Auth(browser(small_app, '198.51.100.3'))
    page = stranger.login('alice', PASSWORD, status=429)
    assert 1 <= int(page.headers['Retry-After']) <= 5
    now[0] += 5  # a few seconds, not the window
    stranger.login('alice', 'wrong password!', status=422)
    stranger.login('alice', PASSWORD, status=429)  # the next one waits again
    now[0] += 5
    stranger.login('alice', PASSWORD)
    # From an address she signed in from, no wait at all.
    Auth(browser(small_app, HOME)).login('alice')


def test_counts_are_shared_by_apps_on_one_database(app, config, make_user):
    other = create_app(config)  # a second server process on the same file
    try:
        make_user('alice')
        first, second = Auth(browser(app, HOME)), Auth(browser(other, HOME))
        for _ in range(5):
            first.login('alice', 'wrong password!', status=422)
            second.login('alice', 'wrong password!', status=422)
        first.login('alice', PASSWORD, status=429)
        second.login('alice', PASSWORD, status=429)
    finally:
        other.config[APP_KEY].close()


def test_registration_is_throttled_per_address(client):
    for i in range(10):
        form = client.get('/register').forms['register-form']
        form['username'], form['password'] = 'user%d' % i, 'short'
        form['password_confirm'] = 'short'
        form.submit(status=422)
    form = client.get('/register').forms['register-form']
    form['username'], form['password'] = 'newcomer', PASSWORD
    form['password_confirm'] = PASSWORD
    page = form.submit(status=429)
    assert int(page.headers['Retry-After']) > 0
    assert page.forms['register-form']['username'].value == 'newcomer'  # kept
    browser(client.app, AWAY).get('/register')  # another address is not affected


def test_wrong_current_passwords_are_throttled(client, auth, make_user):
    make_user('alice')
    auth.login('alice')

    def change(current, status):
        form = client.get('/settings/password').forms['password-form']
        form['current_password'], form['new_password'] = current, 'a brand new passphrase'
        form['new_password_confirm'] = 'a brand new passphrase'
        return form.submit(status=status)
    for _ in range(10):
        change('wrong password!!', 422)
    page = change(PASSWORD, 429)  # even the right one waits
    assert int(page.headers['Retry-After']) > 0
    assert 'Too many wrong current passwords' in page.text


@pytest.mark.parametrize('scope', ['reset', 'second-factor'])
def test_later_forms_get_a_scope_with_a_limit(site, dbconn, scope):
    now = [5_000_000.0]
    site.throttle.clock = lambda: now[0]
    checks = [(scope, ('alice', HOME))]
    limit = site.throttle.limits[scope]
    for _ in range(limit.limit):
        assert site.throttle.wait(checks) == 0
        site.throttle.failed(checks)
    wait = site.throttle.wait(checks)
    assert 0 < wait <= limit.window + limit.window // throttle.BUCKETS_PER_WINDOW
    now[0] += wait
    assert site.throttle.wait(checks) == 0


def test_keys_are_hashed_and_dead_rows_swept_in_batches(site, dbconn, auth):
    from blog.queries.throttles import ThrottleCount  # new with the table
    dead = [{'scope': 'sign-in', 'key': 'k%d' % i, 'bucket': i, 'count': 1,
             'last_at': 0, 'expires_at': 1} for i in range(250)]
    ThrottleCount.insert_many(dead).execute()
    auth.login('192.0.2.77 is no name', 'wrong password!', status=422)
    keys = [row.key for row in ThrottleCount.select() if not row.key.startswith('k')]
    assert len(keys) == 3 and all(len(key) == 64 for key in keys)  # sha256 hex only
    assert ThrottleCount.select().where(ThrottleCount.expires_at == 1).count() == 150
    assert len(site.throttle) == 153
