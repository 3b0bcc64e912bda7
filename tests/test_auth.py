"""Register, sign in, sign out, change password; throttling and CSRF."""

import threading

import pytest
from webtest import TestApp

from blog.db import db
from blog.models import Session, User
from tests.conftest import PASSWORD, Auth, csrf_from


def register(client, username='alice', password=PASSWORD, confirm=None, status=303):
    page = client.get('/register')
    form = page.forms['register-form']
    form['username'] = username
    form['password'] = password
    form['password_confirm'] = password if confirm is None else confirm
    return form.submit(status=status)


def test_register_signs_in_and_redirects_home(client, dbconn):
    response = register(client, 'Alice_1')
    assert response.location.endswith('/?notice=welcome')
    home = response.follow()
    assert 'Signed in as' in home.text and 'alice_1' in home.text
    user = User.get(User.username == 'alice_1')  # lower-cased
    assert user.password.startswith('scrypt$') and PASSWORD not in user.password
    assert user.role == 'author' and user.is_active  # the site's default_role
    assert user.last_login_at is not None  # registering signs in
    cookie = [h for h in response.headerlist if h[0] == 'Set-Cookie'][0][1]
    assert 'HttpOnly' in cookie and 'SameSite=lax' in cookie.replace('Lax', 'lax')


def test_session_table_stores_only_a_hash_of_the_token(client, dbconn):
    register(client)
    token = client.cookies['blog_session']
    rows = list(Session.select().where(Session.user.is_null(False)))
    assert len(rows) == 1
    assert rows[0].token_hash != token and len(rows[0].token_hash) == 64


@pytest.mark.parametrize('username, password, confirm, field, message', [
    ('ab', PASSWORD, PASSWORD, 'username', 'Use 3 to 30 characters'),
    ('x' * 31, PASSWORD, PASSWORD, 'username', 'Use 3 to 30 characters'),
    ('bad name', PASSWORD, PASSWORD, 'username', 'Use 3 to 30 characters'),
    ('émile', PASSWORD, PASSWORD, 'username', 'Use 3 to 30 characters'),
    ('bob', 'short', 'short', 'password', 'at least 12'),
    ('bob', 'x' * 1025, 'x' * 1025, 'password', 'at most 1024'),
    ('bob', PASSWORD, PASSWORD + '!', 'password_confirm', 'differ'),
])
def test_register_invalid_input_is_422_with_input_kept(client, dbconn, username, password,
                                                       confirm, field, message):
    response = register(client, username, password, confirm, status=422)
    assert message in response.text
    assert 'id="f-%s-error"' % field in response.text
    if field != 'username':
        assert 'value="bob"' in response.text
    assert User.select().count() == 0


def test_register_taken_username_case_insensitive(client, make_user, dbconn):
    make_user('alice')
    response = register(client, 'ALICE', status=422)
    assert 'That username is taken' in response.text
    assert User.select().count() == 1


def test_simultaneous_registrations_one_wins(app, config, monkeypatch):
    """Both pass the 'is it taken' check; the unique index decides, no 500."""
    backend = app.config['blog.site'].backend
    barrier = threading.Barrier(2)
    real_hash = backend.hash_password

    def slow_hash(raw):
        encoded = real_hash(raw)
        barrier.wait(timeout=10)  # both requests are past the check now
        return encoded
    monkeypatch.setattr(backend, 'hash_password', slow_hash)

    clients = [TestApp(app) for _ in range(2)]
    tokens = [csrf_from(c.get('/register')) for c in clients]
    results = [None, None]

    def submit(i):
        results[i] = clients[i].post('/register', {
            'username': 'zed', 'password': PASSWORD, 'password_confirm': PASSWORD,
            'csrf_token': tokens[i]}, expect_errors=True)
    threads = [threading.Thread(target=submit, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(20)
    statuses = sorted(r.status_int for r in results)
    assert statuses == [303, 422]
    loser = [r for r in results if r.status_int == 422][0]
    assert 'That username is taken' in loser.text
    with db.connection_context():
        assert User.select().where(User.username == 'zed').count() == 1


def test_login_and_logout(client, auth, make_user, dbconn):
    make_user('alice')
    response = auth.login('alice')
    assert response.location.endswith('/')
    assert 'Signed in as' in client.get('/').text
    assert User.get(User.username == 'alice').last_login_at is not None
    auth.logout()
    assert 'Signed in as' not in client.get('/').text
    assert Session.select().where(Session.user.is_null(False)).count() == 0


def test_login_renews_the_session_token(client, auth, make_user):
    make_user('alice')
    client.get('/login')
    before = client.cookies['blog_session']
    auth.login('alice')
    assert client.cookies['blog_session'] != before


def test_failed_login_same_answer_for_unknown_and_known(client, auth, make_user):
    make_user('alice')
    wrong = auth.login('alice', 'not the password', status=422)
    unknown = auth.login('nobody', 'not the password', status=422)
    assert wrong.status_int == unknown.status_int == 422
    def strip(text):
        return (text.replace('value="alice"', '').replace('value="nobody"', '')
                .split('name="csrf_token"')[0])
    assert strip(wrong.text) == strip(unknown.text)
    assert 'do not match an active account' in wrong.text


def test_unknown_user_still_costs_a_hash(client, auth, site, monkeypatch):
    calls = []
    real = site.backend.burn_check
    monkeypatch.setattr(site.backend, 'burn_check', lambda raw: calls.append(raw) or real(raw))
    auth.login('nobody', 'whatever password', status=422)
    assert calls == ['whatever password']


def test_deactivated_user_cannot_sign_in(client, auth, make_user):
    make_user('alice', is_active=False)
    auth.login('alice', status=422)


@pytest.mark.parametrize('next_value, expected', [
    ('/authors', '/authors'),
    ('/posts/new?x=1', '/posts/new?x=1'),
    ('https://evil.example/', '/'),
    ('//evil.example/', '/'),
    ('/\\evil.example', '/'),
    ('javascript:alert(1)', '/'),
    ('', '/'),
])
def test_login_next_only_same_site(client, make_user, next_value, expected):
    make_user('alice')
    page = client.get('/login', {'next': next_value})
    form = page.forms['login-form']
    form['username'] = 'alice'
    form['password'] = PASSWORD
    response = form.submit(status=303)
    assert response.headers['Location'] == expected


def test_login_required_redirects_with_next(client):
    response = client.get('/settings/password', status=303)
    assert response.location.endswith('/login?next=/settings/password')


def test_throttling_per_username(client, auth, make_user):
    make_user('alice')
    for _ in range(10):
        auth.login('alice', 'wrong password!', status=422)
    response = auth.login('alice', PASSWORD, status=429)  # even the right password waits
    assert int(response.headers['Retry-After']) > 0
    assert 'Too many failed sign-ins' in response.text
    # another username from another address is not affected
    other = TestApp(client.app, extra_environ={'REMOTE_ADDR': '198.51.100.7'})
    make_user('bob')
    Auth(other).login('bob')


def test_throttling_per_address_allows_at_least_50(client, auth):
    for i in range(50):
        auth.login('user%d' % i, 'wrong password!', status=422)
    auth.login('another', 'wrong password!', status=429)


def test_change_password_ends_other_sessions(client, auth, client_for, make_user, dbconn):
    make_user('alice')
    other = client_for('alice')
    auth.login('alice')
    page = client.get('/settings/password')
    form = page.forms['password-form']
    form['current_password'] = PASSWORD
    form['new_password'] = 'a brand new passphrase'
    form['new_password_confirm'] = 'a brand new passphrase'
    response = form.submit(status=303)
    assert 'password-changed' in response.location
    assert 'Signed in as' in client.get('/').text
    assert 'Signed in as' not in other.get('/').text
    auth.logout()
    auth.login('alice', PASSWORD, status=422)
    auth.login('alice', 'a brand new passphrase')


@pytest.mark.parametrize('current, new, confirm, field', [
    ('wrong password!!', 'a brand new passphrase', 'a brand new passphrase', 'current_password'),
    (PASSWORD, 'short', 'short', 'new_password'),
    (PASSWORD, 'a brand new passphrase', 'something else entirely', 'new_password_confirm'),
])
def test_change_password_errors(client, auth, make_user, current, new, confirm, field):
    make_user('alice')
    auth.login('alice')
    form = client.get('/settings/password').forms['password-form']
    form['current_password'], form['new_password'] = current, new
    form['new_password_confirm'] = confirm
    response = form.submit(status=422)
    assert 'id="f-%s-error"' % field in response.text


def test_rehash_on_login_when_cost_changed(client, auth, make_user, dbconn, site,
                                           monkeypatch):
    from blog import passwords
    make_user('alice')
    old = User.get(User.username == 'alice').password
    monkeypatch.setattr(site.backend, 'hash_cost', passwords.Cost(5, 8, 1))
    auth.login('alice')
    new = User.get(User.username == 'alice').password
    assert new != old and new.startswith('scrypt$5$8$1$')


def test_rehash_never_replaces_a_password_set_meanwhile(client, auth, make_user, dbconn,
                                                       site, monkeypatch):
    from blog import passwords
    make_user('alice')
    real_hash = site.backend.hash_password

    def set_elsewhere_then_hash(raw):
        # `run.py set-password` commits while this sign-in computes the new hash.
        User.update(password='set-meanwhile').where(User.username == 'alice').execute()
        return real_hash(raw)
    monkeypatch.setattr(site.backend, 'hash_password', set_elsewhere_then_hash)
    monkeypatch.setattr(site.backend, 'hash_cost', passwords.Cost(5, 8, 1))
    auth.login('alice')
    assert User.get(User.username == 'alice').password == 'set-meanwhile'


def test_overlong_usernames_are_throttled_by_their_start(client, auth):
    base = 'x' * 31
    for i in range(10):
        auth.login(base + 'y' * (1000 + i), 'wrong password!', status=422)
    auth.login(base + 'z' * 100_000, 'wrong password!', status=429)


@pytest.mark.parametrize('path', ['/login', '/register', '/logout', '/settings/password'])
def test_post_without_csrf_is_403(client, make_user, auth, path):
    make_user('alice')
    auth.login('alice')
    response = client.post(path, {'username': 'alice', 'password': PASSWORD}, status=403)
    assert 'form has expired' in response.text
    response = client.post(path, {'csrf_token': 'forged'}, status=403)


def test_logout_requires_post(client):
    client.get('/logout', status=405)


def test_utf8_form_fields_are_decoded(auth, make_user):
    # A UTF-8 password must reach check_password as the same text it was hashed from.
    make_user('alice', password='pässwörd ünïcode ✓')
    auth.login('alice', 'pässwörd ünïcode ✓')


def test_invalid_utf8_is_400(client):
    token = csrf_from(client.get('/login'))
    body = b'csrf_token=' + token.encode() + b'&username=%ff%fe&password=x'
    client.post('/login', body, content_type='application/x-www-form-urlencoded', status=400)


def test_account_that_cannot_sign_in_still_costs_a_hash(client, auth, make_user,
                                                       monkeypatch, dbconn, site):
    """An imported author's unusable password must not answer faster than a real one."""
    make_user('ghost', is_active=False)
    User.update(password='!imported').where(User.username == 'ghost').execute()
    calls = []
    real = site.backend.burn_check
    monkeypatch.setattr(site.backend, 'burn_check', lambda raw: calls.append(raw) or real(raw))
    auth.login('ghost', 'whatever password', status=422)
    assert calls == ['whatever password']
    make_user('alice')
    auth.login('alice', 'wrong password!!', status=422)
    assert calls == ['whatever password']  # a real hash was checked: no extra burn
