"""First run: the one-time /setup link that makes the first admin, and what an
empty site says to its owner."""

import re

import pytest

from blog.db import db
from blog.models import User
from tests.conftest import PASSWORD


def admins():
    with db.connection_context():
        return [u.username for u in User.select().where(User.role == 'admin')]


def fill(form, username='owner', password=PASSWORD, confirm=None):
    form['username'] = username
    form['password'] = password
    form['password_confirm'] = password if confirm is None else confirm
    return form


def test_the_link_makes_the_first_admin_once(client, site):
    token = site.setup_token
    assert token and len(token) >= 32
    client.get('/setup', status=404)
    client.get('/setup?token=wrong', status=404)
    page = client.get('/setup?token=%s' % token)
    response = fill(page.forms['setup-form']).submit(status=303)
    assert response.headers['Location'].endswith('/admin/settings?notice=welcome-admin')
    assert admins() == ['owner']
    settings = response.follow()
    assert 'You are this site’s admin' in settings.text and 'Signed in as' in settings.text
    # The link is dead now, for everyone.
    client.get('/setup?token=%s' % token, status=404)
    assert site.setup_token is None


def test_a_site_with_an_admin_has_no_link(app, make_user, config):
    from dataclasses import replace

    from blog.app import create_app
    from blog.site import APP_KEY
    make_user('root', role='admin')
    again = create_app(replace(config))
    assert again.config[APP_KEY].setup_token is None


def test_an_admin_made_at_the_command_line_kills_the_link(client, site, make_user):
    token = site.setup_token
    make_user('root', role='admin')
    client.get('/setup?token=%s' % token, status=404)
    assert site.setup_token is None


def test_a_setup_form_sent_after_another_admin_appeared_makes_nobody(client, site,
                                                                     make_user):
    page = client.get('/setup?token=%s' % site.setup_token)
    form = fill(page.forms['setup-form'], 'second')
    make_user('first', role='admin')
    form.submit(status=404)
    assert admins() == ['first']


@pytest.mark.parametrize('username, password, confirm, field', [
    ('x', PASSWORD, None, 'username'),
    ('owner', 'short', None, 'password'),
    ('owner', PASSWORD, 'different password', 'password_confirm'),
])
def test_bad_input_is_422_with_the_username_kept(client, site, username, password, confirm,
                                                 field):
    page = client.get('/setup?token=%s' % site.setup_token)
    response = fill(page.forms['setup-form'], username, password, confirm).submit(status=422)
    assert response.html.find(id='f-%s-error' % field) is not None
    assert response.forms['setup-form']['username'].value == username
    assert admins() == [] and site.setup_token is not None


def test_an_empty_site_tells_its_owner_what_to_do(client, make_user):
    page = client.get('/')
    assert 'This site has no admin yet' in page.text and '/setup?token=' in page.text
    make_user('root', role='admin')  # the insert moves the cache on
    assert 'This site has no admin yet' not in client.get('/').text


@pytest.mark.server
def test_serve_prints_the_link_and_it_works_through_the_real_server(tmp_path):
    from tests.server import Browser, Server

    path = str(tmp_path / 'first.db')
    with Server(path, open_site=False) as server:
        output = server.wait_for_output(r'setup\?token=\S+')
        link = re.search(r'http://\S+/setup\?token=\S+', output).group(0)
        assert 'create-admin USERNAME' in output
        browser = Browser(server.url)
        path_and_query = link.split(str(server.port), 1)[1]
        token, _, page = browser.form(path_and_query)
        status, headers, _ = browser.request('/setup', {
            'csrf_token': token, 'token': path_and_query.split('token=')[1],
            'username': 'owner', 'password': PASSWORD, 'password_confirm': PASSWORD})
        assert status == 303, page
        assert headers['Location'] == '/admin/settings?notice=welcome-admin'
        assert browser.request('/admin/settings')[0] == 200
        assert browser.request(path_and_query)[0] == 404
    # A second start prints no link: the site has its admin.
    with Server(path, open_site=False) as server:
        assert server.output().count('setup?token') == 1  # the first start's only
