"""Site settings: the /admin/settings editor (optimistic, merged, 409), the rules,
where the name and description appear, and `python run.py settings`."""

import time

import pytest
from bs4 import BeautifulSoup

from blog import cli, site_settings
from blog.db import db
from blog.models import SiteSettings
from tests.conftest import csrf_from, post_id_in, post_path


def saved():
    with db.connection_context():
        return SiteSettings.get_by_id(1)


def settings_form(client):
    return client.get('/admin/settings').forms['settings-form']


def test_a_new_site_starts_invite_only_with_contributors(config, tmp_path):
    from dataclasses import replace

    from blog.app import create_app
    from blog.site import APP_KEY
    fresh = create_app(replace(config, db_path=str(tmp_path / 'new.db')))
    with fresh.config[APP_KEY].activated():
        row = saved()
    assert (row.site_name, row.site_description, row.registration, row.default_role,
            row.timezone, row.require_2fa, row.version) == (
        'Blog', '', 'invite', 'contributor', 'UTC', False, 1)


@pytest.mark.parametrize('who, status', [(None, 303), ('alice', 403), ('root', 200)])
def test_only_admins_see_the_settings(browser, who, status):
    response = browser(who).get('/admin/settings', status=status)
    if status == 303:
        assert response.headers['Location'].endswith('/login?next=/admin/settings')


def test_saving_changes_the_name_everywhere(browser, make_post, people):
    admin = browser('root')
    form = settings_form(admin)
    form['site_name'] = 'The  Daily <Pig>'
    form['site_description'] = 'News from the farm'
    form['timezone'] = 'Europe/Paris'
    form['registration'] = 'open'
    form['require_2fa'] = True
    response = form.submit(status=303)
    assert response.headers['Location'].endswith('/admin/settings?notice=saved')
    row = saved()
    assert (row.site_name, row.site_description, row.timezone, row.registration,
            row.require_2fa, row.version) == ('The Daily <Pig>', 'News from the farm',
                                              'Europe/Paris', 'open', True, 2)
    assert row.updated_by_id == people['root'].id
    make_post(people['alice'], title='Hello')
    page = browser(None).get('/')
    soup = BeautifulSoup(page.text, 'html.parser')
    assert soup.title.text == 'The Daily <Pig>'
    assert soup.find('a', class_='site-name').text == 'The Daily <Pig>'
    assert soup.find(class_='site-description').text == 'News from the farm'
    assert soup.find('meta', attrs={'name': 'description'})['content'] == 'News from the farm'
    assert soup.find('meta', property='og:site_name')['content'] == 'The Daily <Pig>'
    assert '&lt;Pig&gt;' in page.text  # escaped
    feed = browser(None).get('/feed.atom').text
    assert '<title type="text">The Daily &lt;Pig&gt;: latest posts</title>' in feed
    assert '<subtitle type="text">News from the farm</subtitle>' in feed
    post = browser(None).get(post_path(saved_post_id(page)))
    assert 'Hello · The Daily &lt;Pig&gt;' in post.text


def saved_post_id(page):
    soup = BeautifulSoup(page.text, 'html.parser')
    return post_id_in(soup.find('ol', class_='post-list').li.h2.a['href'])


@pytest.mark.parametrize('field, value, message', [
    ('site_name', '   ', 'Give the site a name.'),
    ('site_name', 'x' * 101, 'at most 100 characters'),
    ('site_description', 'd' * 301, 'at most 300 characters'),
    ('site_name', 'bad\u202ename', 'cannot be shown'),
    ('timezone', 'Mars/Olympus', 'time zone name'),
    ('timezone', '../../etc/passwd', 'time zone name'),
    ('registration', 'sometimes', 'Choose open, invite or closed.'),
    ('default_role', 'admin', 'Choose contributor, author or editor.'),
])
def test_a_bad_value_comes_back_with_the_input_kept(browser, people, field, value, message):
    admin = browser('root')
    page = admin.get('/admin/settings')
    fields = {name: page.forms['settings-form'][name].value
              for name in site_settings.KEYS if name != 'require_2fa'}
    fields.update({field: value, 'site_description': fields['site_description'] or 'kept',
                   'csrf_token': csrf_from(page), 'version': '1'})
    if field == 'site_description':
        fields['site_description'] = value
    response = admin.post('/admin/settings', fields, status=422)
    soup = BeautifulSoup(response.text, 'html.parser')
    error = soup.find(id='f-%s-error' % field)
    assert error is not None and message in error.text
    if field not in ('registration', 'default_role'):  # selects offer only their choices
        assert soup.find(id='f-%s' % field)['value'] == ' '.join(value.split())
    assert soup.find(id='f-site_description')['value'] == fields['site_description']
    assert saved().version == 1  # nothing saved


def test_an_unchanged_form_is_no_error(browser, people):
    response = settings_form(browser('root')).submit(status=303)
    assert response.headers['Location'].endswith('notice=unchanged')
    assert saved().version == 1


def test_a_stale_form_merges_other_fields_and_409s_on_the_same_one(browser, people,
                                                                   make_user):
    make_user('chief', role='admin')
    first, second = browser('root'), browser('chief')
    mine, theirs = settings_form(first), settings_form(second)
    theirs['site_name'] = 'Theirs'
    theirs.submit(status=303)
    mine['site_description'] = 'Mine'
    response = mine.submit(status=303)
    assert response.headers['Location'].endswith('notice=settings-merged')
    row = saved()
    assert (row.site_name, row.site_description, row.version) == ('Theirs', 'Mine', 3)
    # Now both change the name: the second save is the conflict page, with mine kept.
    mine, theirs = settings_form(first), settings_form(second)
    theirs['site_name'] = 'Second theirs'
    theirs.submit(status=303)
    mine['site_name'] = 'Second mine'
    page = mine.submit(status=409)
    assert 'Second theirs' in page.text and 'Second mine' in page.text
    form = next(form for key, form in page.forms.items()
                if isinstance(key, int) and form.action == '/admin/settings')
    assert form['version'].value == '4' and form['site_name'].value == 'Second mine'
    assert saved().site_name == 'Second theirs'
    form.submit(status=303)  # a deliberate overwrite
    assert saved().site_name == 'Second mine'


def run_cli(capsys, db_path, *args):
    status = cli.main(['settings', *args, '--db', db_path])
    out, err = capsys.readouterr()
    return status, out, err


def new_site(path):
    """A migrated database at `path` (the command refuses one that does not exist)."""
    from blog.config import Config
    from blog.site import Site
    site = Site(Config(db_path=path))
    site.migrate()
    site.close()
    return path


def test_the_command_line_shows_and_sets_settings(tmp_path, capsys):
    path = new_site(str(tmp_path / 'site.db'))
    status, out, _ = run_cli(capsys, path)
    assert status == 0
    assert out.splitlines() == ['site_name = Blog', 'site_description = ',
                                'registration = invite', 'default_role = contributor',
                                'timezone = UTC', 'require_2fa = no', 'media_quota = 200']
    assert run_cli(capsys, path, 'site_name', 'Field  Notes')[:2] == (
        0, 'site_name = Field Notes\n')
    assert run_cli(capsys, path, 'site_name', 'Field Notes')[1] == (
        'site_name = Field Notes (unchanged)\n')
    assert run_cli(capsys, path, 'require_2fa', 'on')[1] == 'require_2fa = yes\n'
    assert run_cli(capsys, path, 'site_name')[1] == 'site_name = Field Notes\n'


@pytest.mark.parametrize('args, message', [
    (('colour',), "unknown setting 'colour'"),
    (('colour', 'red'), "unknown setting 'colour'"),
    (('timezone', 'Nowhere/Land'), 'timezone: Use a time zone name'),
    (('registration', 'maybe'), 'registration: Choose open, invite or closed.'),
    (('require_2fa', 'perhaps'), 'require_2fa is yes or no'),
    (('site_name', ''), 'site_name: Give the site a name.'),
])
def test_bad_command_line_input_is_one_line_and_status_2(tmp_path, capsys, args, message):
    status, out, err = run_cli(capsys, new_site(str(tmp_path / 'site.db')), *args)
    assert status == 2 and out == ''
    assert err.count('\n') == 1 and message in err, err


def test_the_command_line_refuses_a_database_that_does_not_exist(tmp_path, capsys):
    path = tmp_path / 'typo.db'
    status, out, err = run_cli(capsys, str(path), 'registration', 'open')
    assert status == 2 and 'no database at' in err and not path.exists()


@pytest.mark.server
def test_a_running_server_sees_a_command_line_change_within_a_second(tmp_path, capsys):
    from tests.server import Browser, Server

    path = str(tmp_path / 'served.db')
    with Server(path, open_site=False) as server:
        reader = Browser(server.url)
        assert '<a class="site-name" href="/">Blog</a>' in reader.request('/')[2]
        assert run_cli(capsys, path, 'site_name', 'Renamed')[0] == 0
        started = time.monotonic()
        while '<a class="site-name" href="/">Renamed</a>' not in reader.request('/')[2]:
            assert time.monotonic() - started < 1.0, 'not seen within a second'
            time.sleep(0.05)
