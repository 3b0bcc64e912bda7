"""Each app owns its state: two apps in one process, used in turn, never share a
database, a hash cost, a cache, a throttle or a request limit."""

import pytest
from webtest import TestApp

from blog import passwords
from blog.app import create_app
from blog.config import Config
from blog.db import db
from blog.models import Post, User
from blog.site import APP_KEY
from tests.conftest import PASSWORD, Auth, csrf_from, open_site


@pytest.fixture
def two_apps(tmp_path):
    """Two apps on two database files, with different costs and body limits (the
    one made last has the smaller limit, the case a process-wide setting gets wrong)."""
    second = create_app(Config(db_path=str(tmp_path / 'two.db'), base_url='http://two.test',
                               hash_cost=passwords.Cost(5, 8, 1), max_body_bytes=512 * 1024))
    first = create_app(Config(db_path=str(tmp_path / 'one.db'), base_url='http://one.test',
                              hash_cost=passwords.Cost(4, 8, 1), max_body_bytes=64 * 1024))
    open_site(first)
    open_site(second)
    yield first, second
    for app in (first, second):
        app.config[APP_KEY].close()


def sign_up(client, username):
    form = client.get('/register').forms['register-form']
    form['username'], form['password'], form['password_confirm'] = username, PASSWORD, PASSWORD
    form.submit(status=303)


def write(client, title):
    token = csrf_from(client.get('/posts/new'))
    return client.post('/posts/new', {'title': title, 'body': 'Text of ' + title,
                                      'status': 'published', 'tags': '', 'csrf_token': token},
                       status=303)


def test_two_apps_in_turn_never_see_each_others_data(two_apps):
    first, second = two_apps
    one, two = TestApp(first), TestApp(second)
    # Interleaved: every request of one app comes between requests of the other.
    sign_up(one, 'ann')
    sign_up(two, 'bea')
    write(one, 'Only on one')
    write(two, 'Only on two')
    write(one, 'Also on one')
    home_one, home_two = one.get('/').text, two.get('/').text
    assert 'Also on one' in home_one and 'Only on two' not in home_one
    assert 'Only on two' in home_two and 'one' not in home_two.replace('none', '')
    # (the matched word is highlighted: <mark>Only</mark> on one)
    assert '</mark> on one' in one.get('/search?q=only').text
    assert '</mark> on one' not in two.get('/search?q=only').text
    # The models follow the site that is active in this thread, and only that one.
    with first.config[APP_KEY].activated(), db.connection_context():
        assert [u.username for u in User.select()] == ['ann']
        assert sorted(p.title for p in Post.select()) == ['Also on one', 'Only on one']
    with second.config[APP_KEY].activated(), db.connection_context():
        assert [u.username for u in User.select()] == ['bea']
        assert [p.title for p in Post.select()] == ['Only on two']


def test_outside_any_site_the_models_refuse(two_apps):
    TestApp(two_apps[0]).get('/')  # a request leaves the thread as it found it
    with pytest.raises(AttributeError, match='uninitialized'):
        User.select().count()


def test_each_app_hashes_at_its_own_cost(two_apps):
    first, second = two_apps
    one, two = TestApp(first), TestApp(second)
    sign_up(one, 'ann')
    sign_up(two, 'bea')
    sign_up(TestApp(first), 'cat')
    with first.config[APP_KEY].activated(), db.connection_context():
        assert {u.password.split('$')[1] for u in User.select()} == {'4'}
    with second.config[APP_KEY].activated(), db.connection_context():
        assert User.get().password.startswith('scrypt$5$8$1$')
    # Signing in on the first app with its own cost never asks for a rehash.
    Auth(one).logout()
    Auth(one).login('ann')
    with first.config[APP_KEY].activated(), db.connection_context():
        assert User.get(User.username == 'ann').password.startswith('scrypt$4$')


def test_each_app_keeps_its_own_request_limit(two_apps):
    first, second = two_apps
    one, two = TestApp(first), TestApp(second)
    sign_up(one, 'ann')
    sign_up(two, 'bea')
    body = 'x' * (128 * 1024)  # over the first app's limit, under the second's
    for _ in range(2):
        token = csrf_from(one.get('/settings'))
        one.post('/settings', {'bio': body, 'csrf_token': token, 'version': '1'}, status=413)
        token = csrf_from(two.get('/settings'))
        # Parsed and checked by the form (the bio is too long), not refused unread.
        page = two.post('/settings', {'bio': body, 'display_name': '', 'email': '',
                                      'csrf_token': token, 'version': '1'}, status=422)
        assert 'A bio can be at most' in page.text


def test_caches_and_throttles_are_the_apps_own(two_apps):
    first, second = two_apps
    one, two = TestApp(first), TestApp(second)
    one.get('/')
    one.get('/authors')
    assert len(first.config[APP_KEY].cache) > 0
    assert len(second.config[APP_KEY].cache) == 0
    Auth(two).login('nobody', 'wrong password!!', status=422)
    assert len(second.config[APP_KEY].throttle) > 0
    assert len(first.config[APP_KEY].throttle) == 0
