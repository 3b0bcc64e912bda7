"""/admin/users and /admin/users/<username>: permissions, listing, editing with the
conflict page, the last-admin guard, deactivation, promotion and the audit trail."""

import json
import re
import subprocess
import sys
import threading
from urllib.parse import quote

import pytest

from blog import admin as admin_module
from blog.db import db
from blog.models import AuditEntry, Post, Session, User
from tests.conftest import PUBLISHED, ROOT, Auth, csrf_from

XSS = '<script>alert("x")</script>'
def fresh(username):
    return User.get(User.username == username)


def row_for(page, username):
    """The <tr> of the users table that links to `username`."""
    rows = [row for row in re.findall(r'<tr>(.*?)</tr>', page.text, re.S)
            if 'href="/admin/users/%s"' % username in row]
    assert len(rows) == 1
    return rows[0]


def conflict_form(page, action):
    forms = [form for key, form in page.forms.items()
             if isinstance(key, int) and form.action == action and form.method.upper() == 'POST']
    assert len(forms) == 1
    return forms[0]


def edit(client, username, status, **values):
    """Open the admin form for `username`, set `values`, submit."""
    form = client.get('/admin/users/%s' % username).forms['user-form']
    for name, value in values.items():
        form[name] = value
    return form.submit(status=status)


@pytest.fixture
def root(make_user):
    return make_user('root', role='admin')


@pytest.fixture
def bob(make_user):
    return make_user('bob', display_name='Bob')


@pytest.fixture
def admin_client(client_for, root, bob):
    return client_for('root')


# --- permissions --------------------------------------------------------------

ROUTES = ['/admin/users', '/admin/users?q=bo&page=1', '/admin/users/bob', '/admin/users/root']


@pytest.mark.parametrize('path', ROUTES)
@pytest.mark.parametrize('who, status', [(None, 303), ('bob', 403), ('root', 200)])
def test_get_permission_matrix(client_for, root, bob, dbconn, path, who, status):
    client = client_for(who)
    response = client.get(path, status=status)
    if status == 303:
        assert response.headers['Location'].startswith('/login?next=/admin/users')
        assert response.headers['Location'] == '/login?next=' + quote(path, safe='/')
    if status == 403:
        assert 'for administrators' in response.text


@pytest.mark.parametrize('who, status', [(None, 303), ('bob', 403), ('root', 303)])
def test_post_permission_matrix(client_for, root, bob, dbconn, who, status):
    client = client_for(who)
    token = csrf_from(client.get('/login'))  # anonymous visitors get a session too
    client.post('/admin/users/bob', {'csrf_token': token, 'version': '1',
                                     'display_name': 'Changed', 'role': 'author', 'is_active': '1'},
                status=status)
    assert (fresh('bob').display_name == 'Changed') == (who == 'root')


@pytest.mark.parametrize('method', ['get', 'post'])
@pytest.mark.parametrize('name', ['nobody', 'BOB', 'x' * 200, 'b%C3%B6b'])
def test_unknown_user_is_404(admin_client, dbconn, method, name):
    token = csrf_from(admin_client.get('/admin/users'))
    if method == 'get':
        admin_client.get('/admin/users/' + name, status=404)
    else:
        admin_client.post('/admin/users/' + name, {'csrf_token': token, 'version': '1'},
                          status=404)


def test_admin_link_in_the_header_only_for_admins(client_for, root, bob, dbconn):
    assert 'href="/admin/users"' in client_for('root').get('/').text
    assert 'href="/admin/users"' not in client_for('bob').get('/').text


# --- the list ---------------------------------------------------------------------

def test_list_shows_role_state_posts_last_sign_in(app, admin_client, make_user, make_post,
                                                  bob, dbconn):
    make_user('carol', is_active=False)
    make_post(bob)
    make_post(bob, status='draft')
    page = admin_client.get('/admin/users')
    rows = {name: row_for(page, name) for name in ('bob', 'carol', 'root')}
    assert len(re.findall('<tr>', page.text)) == 4  # the header and three users
    assert '<td data-label="Role">Author</td>' in rows['bob'] and 'active' in rows['bob']
    assert '<td data-label="Posts">2</td>' in rows['bob']
    assert 'deactivated' in rows['carol'] and 'never' in rows['carol']
    assert '<td data-label="Role">Admin</td>' in rows['root']
    assert 'never' not in rows['root']  # root just signed in
    assert '<time datetime=' in rows['root']
    assert 'href="/admin/users/bob"' in page.text


def test_list_is_paginated_50_a_page(admin_client, make_user, dbconn):
    for n in range(60):
        make_user('user%02d' % n)
    first = admin_client.get('/admin/users')
    assert first.text.count('href="/admin/users/') == 50  # bob, root, user00..user47
    assert 'href="/admin/users/user47"' in first.text
    assert 'href="/admin/users?page=2"' in first.text
    second = admin_client.get('/admin/users?page=2')
    # 62 users by username: the second page holds user48..user59.
    assert second.text.count('href="/admin/users/') == 12
    assert 'href="/admin/users/user48"' in second.text and 'rel="next"' not in second.text
    assert 'rel="prev"' in second.text
    admin_client.get('/admin/users?page=3', status=404)


@pytest.mark.parametrize('page', ['0', '-1', 'abc', '9999999', '1.5'])
def test_bad_page_is_404(admin_client, dbconn, page):
    admin_client.get('/admin/users?page=' + page, status=404)


@pytest.mark.parametrize('q, expected', [
    ('BO', {'bob'}),                  # username, any case
    ('roBERT', {'bob'}),              # display name, any case
    ('_', {'rob_ert'}),               # LIKE's one-character wildcard is literal here
    ('%', {'hundred'}),                # ... and so is its any-string wildcard
    ('zzz', set()),
    ('', {'bob', 'rob_ert', 'hundred', 'root'}),
])
def test_list_filter_by_name(admin_client, make_user, bob, dbconn, q, expected):
    User.update(display_name='Robert').where(User.id == bob.id).execute()
    make_user('rob_ert')
    make_user('hundred', display_name='100% sure')
    page = admin_client.get('/admin/users', {'q': q})
    shown = {name for name in ('bob', 'rob_ert', 'hundred', 'root')
             if 'href="/admin/users/%s"' % name in page.text}
    assert shown == expected
    assert page.forms['filter-form']['q'].value == q


def test_filter_is_kept_across_pages(admin_client, make_user, dbconn):
    for n in range(55):
        make_user('match%02d' % n)
    page = admin_client.get('/admin/users?q=match')
    assert 'href="/admin/users?q=match&amp;page=2"' in page.text
    assert admin_client.get('/admin/users?q=match&page=2').text.count(
        'href="/admin/users/match') == 5


# --- editing -------------------------------------------------------------------

def test_user_page_shows_profile_post_count_and_author_link(admin_client, make_post, bob,
                                                            dbconn):
    make_post(bob)
    page = admin_client.get('/admin/users/bob')
    assert 'href="/authors/bob"' in page.text
    assert '1 post ' in page.text
    form = page.forms['user-form']
    assert form['display_name'].value == 'Bob' and form['version'].value == '1'
    assert form['is_active'].checked and form['role'].value == 'author'


def test_admin_edits_a_user_and_the_change_is_audited(admin_client, root, bob, dbconn):
    response = edit(admin_client, 'bob', 303, display_name='Robert', email='bob@example.com',
                    bio='Writes\r\nthings', role='admin')
    assert response.headers['Location'] == '/admin/users/bob?notice=saved'
    user = fresh('bob')
    assert (user.display_name, user.email, user.bio, user.role) == (
        'Robert', 'bob@example.com', 'Writes\nthings', 'admin')
    assert user.version == 2 and user.updated_by_id == root.id

    entry = AuditEntry.get(AuditEntry.user == bob.id)
    assert entry.actor_id == root.id and entry.at is not None
    assert json.loads(entry.changes) == {
        'display_name': ['Bob', 'Robert'], 'email': [None, 'bob@example.com'],
        'bio': ['', 'Writes\nthings'], 'role': ['author', 'admin']}
    assert 'password' not in entry.changes and 'scrypt' not in entry.changes

    page = response.follow()
    trail = page.text[page.text.index('id="audit"'):]
    assert 'root' in trail and 'Display name' in trail and 'Robert' in trail
    assert 'Role' in trail and '>author<' in trail and '>admin<' in trail


def test_audit_trail_is_newest_first(admin_client, bob, dbconn):
    edit(admin_client, 'bob', 303, display_name='First change')
    edit(admin_client, 'bob', 303, display_name='Second change')
    page = admin_client.get('/admin/users/bob')
    trail = page.text[page.text.index('id="audit"'):]
    # Newest first: "First change -> Second change" above "Bob -> First change".
    assert trail.index('Second change') < trail.index('>Bob<')
    assert AuditEntry.select().where(AuditEntry.user == bob.id).count() == 2


def test_unchanged_admin_save_is_303_without_audit_entry(admin_client, bob, dbconn):
    response = edit(admin_client, 'bob', 303)
    assert response.headers['Location'] == '/admin/users/bob?notice=unchanged'
    assert fresh('bob').version == 1
    assert AuditEntry.select().count() == 0


def test_checkboxes_any_value_is_true_absent_is_false(admin_client, root, bob, dbconn):
    token = csrf_from(admin_client.get('/admin/users/bob'))
    admin_client.post('/admin/users/bob', {
        'csrf_token': token, 'version': '1', 'display_name': 'Bob', 'role': 'editor',
        'is_active': 'off'}, status=303)
    user = fresh('bob')
    assert user.role == 'editor' and user.is_active is True
    admin_client.post('/admin/users/bob', {
        'csrf_token': token, 'version': '2', 'display_name': 'Bob', 'role': 'editor'},
        status=303)
    assert fresh('bob').is_active is False


@pytest.mark.parametrize('role', ['', 'owner', 'Admin'])
def test_a_role_that_is_none_of_the_four_is_422(admin_client, root, bob, dbconn, role):
    token = csrf_from(admin_client.get('/admin/users/bob'))
    response = admin_client.post('/admin/users/bob', {
        'csrf_token': token, 'version': '1', 'display_name': 'Bob', 'role': role,
        'is_active': '1'}, status=422)
    assert 'Choose contributor, author, editor or admin.' in response.text
    assert fresh('bob').role == 'author'


@pytest.mark.parametrize('field, value, message', [
    ('display_name', 'x' * 81, 'at most 80'),
    ('bio', 'b' * 2001, 'at most 2000'),
    ('email', 'nope', 'Enter an email address'),
])
def test_admin_form_invalid_is_422_with_input_kept(admin_client, bob, dbconn, field, value,
                                                   message):
    response = edit(admin_client, 'bob', 422, role='admin', **{field: value})
    assert message in response.text and 'id="f-%s-error"' % field in response.text
    form = response.forms['user-form']
    assert form[field].value == value and form['role'].value == 'admin'
    assert fresh('bob').version == 1 and AuditEntry.select().count() == 0


def test_admin_email_must_be_unique(admin_client, make_user, bob, dbconn):
    make_user('carol', email='carol@example.com')
    response = edit(admin_client, 'bob', 422, email='Carol@example.com')
    assert 'belongs to another account' in response.text
    assert fresh('bob').email is None


# --- conflicts between the admin and the user -----------------------------------------

def test_admin_stale_form_after_user_saved_gets_409_and_can_overwrite(client_for, admin_client,
                                                                      bob, dbconn):
    admin_form = admin_client.get('/admin/users/bob').forms['user-form']
    user_client = client_for('bob')
    settings = user_client.get('/settings').forms['settings-form']
    settings['display_name'] = 'Bob by himself'
    settings['bio'] = 'My own words'
    settings.submit(status=303)
    assert fresh('bob').version == 2

    admin_form['display_name'] = 'Bob by the admin'
    admin_form['role'] = 'admin'
    page = admin_form.submit(status=409)
    assert 'Bob by himself' in page.text and 'Bob by the admin' in page.text
    assert 'My own words' in page.text
    assert 'href="/admin/users/bob?notice=discarded"' in page.text
    user = fresh('bob')
    assert user.display_name == 'Bob by himself' and user.role == 'author'
    assert AuditEntry.select().count() == 0

    form = conflict_form(page, '/admin/users/bob')
    assert form['version'].value == '2'
    assert form['display_name'].value == 'Bob by the admin' and form['role'].value == 'admin'
    assert form['bio'].value == ''  # the admin's (stale) bio, kept as typed
    form.submit(status=303)
    user = fresh('bob')
    assert (user.display_name, user.bio, user.role, user.version) == (
        'Bob by the admin', '', 'admin', 3)
    changes = json.loads(AuditEntry.get(AuditEntry.user == bob.id).changes)
    assert changes['display_name'] == ['Bob by himself', 'Bob by the admin']


def test_conflict_compares_checkboxes(client_for, root, bob, dbconn, make_user):
    make_user('root2', role='admin')
    first, second = client_for('root'), client_for('root2')
    stale = second.get('/admin/users/bob').forms['user-form']
    edit(first, 'bob', 303, is_active=False, display_name='Named by root')
    stale['display_name'] = 'Renamed'  # the same field: a conflict, not a merge
    page = stale.submit(status=409)
    compare = page.text[page.text.index('class="compare"'):page.text.index('</table>')]
    assert 'Active (can sign in)' in compare
    active_row = compare[compare.index('Active (can sign in)'):]
    assert active_row.index('>no<') < active_row.index('>yes<')  # saved no, yours yes


def test_user_stale_settings_after_admin_edit_gets_409(client_for, admin_client, bob, dbconn):
    user_client = client_for('bob')
    stale = user_client.get('/settings').forms['settings-form']
    edit(admin_client, 'bob', 303, bio='Set by admin')
    stale['bio'] = 'Typed by bob'
    page = stale.submit(status=409)
    assert 'Set by admin' in page.text and 'Typed by bob' in page.text
    assert 'root' in page.text  # who saved the newer version
    form = conflict_form(page, '/settings')
    assert form['version'].value == '2'
    assert fresh('bob').bio == 'Set by admin'  # theirs stays until bob chooses


def test_stale_but_identical_admin_form_is_303(client_for, admin_client, bob, dbconn):
    stale = admin_client.get('/admin/users/bob').forms['user-form']
    client_for('bob')  # a sign-in does not change the version
    user_client = client_for('bob')
    form = user_client.get('/settings').forms['settings-form']
    form['display_name'] = 'Same'
    form.submit(status=303)
    stale['display_name'] = 'Same'
    response = stale.submit(status=303)
    assert response.headers['Location'] == '/admin/users/bob?notice=unchanged'
    assert fresh('bob').version == 2


# --- the last-admin guard -------------------------------------------------------------

@pytest.mark.parametrize('field, value', [('role', 'editor'), ('is_active', False)])
def test_the_last_admin_cannot_demote_or_deactivate_themselves(admin_client, root, dbconn,
                                                               field, value):
    response = edit(admin_client, 'root', 422, **{field: value})
    assert 'root is the last active administrator' in response.text
    assert 'id="f-%s-error"' % field in response.text
    kept = response.forms['user-form'][field]
    assert (kept.value == 'editor') if field == 'role' else not kept.checked  # input kept
    user = fresh('root')
    assert user.role == 'admin' and user.is_active and user.version == 1
    assert AuditEntry.select().count() == 0
    assert admin_client.get('/admin/users').status_code == 200  # still signed in


def test_an_inactive_admin_does_not_count(app, admin_client, make_user, dbconn):
    make_user('sleeper', role='admin', is_active=False)
    response = edit(admin_client, 'root', 422, role='author')
    assert 'last active administrator' in response.text


def test_with_another_admin_you_may_demote_yourself(client_for, admin_client, make_user, dbconn):
    make_user('root2', role='admin')
    response = edit(admin_client, 'root', 303, role='author')
    assert response.headers['Location'] == '/settings?notice=saved'
    assert fresh('root').role == 'author'
    admin_client.get('/admin/users', status=403)  # on the very next request
    # root2 is now the last admin, and cannot leave either.
    second = client_for('root2')
    edit(second, 'root2', 422, is_active=False)


def test_deactivating_yourself_signs_you_out(app, admin_client, make_user, dbconn):
    make_user('root2', role='admin')
    response = edit(admin_client, 'root', 303, is_active=False)
    assert response.headers['Location'] == '/'
    assert 'Signed in as' not in admin_client.get('/').text


def test_two_admins_demoting_each_other_at_once_cannot_both_succeed(client_for, root, make_user,
                                                                    dbconn, monkeypatch):
    make_user('root2', role='admin')
    clients = {'root': client_for('root'), 'root2': client_for('root2')}
    forms = {name: client.get('/admin/users/%s' % other).forms['user-form']
             for (name, client), other in zip(clients.items(), ['root2', 'root'], strict=True)}
    barrier = threading.Barrier(2)
    real_save = admin_module.save_user

    def save_after_both_checked(*args, **kwargs):
        barrier.wait(timeout=10)  # both are past the permission check now
        return real_save(*args, **kwargs)
    monkeypatch.setattr(admin_module, 'save_user', save_after_both_checked)

    statuses = {}

    def demote(name):
        form = forms[name]
        form['role'] = 'editor'
        statuses[name] = form.submit(expect_errors=True).status_code
    threads = [threading.Thread(target=demote, args=(name,)) for name in forms]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(statuses.values()) == [303, 422]
    db.connect(reuse_if_open=True)
    admins = [u.username for u in User.select().where((User.role == 'admin') & User.is_active)]
    assert len(admins) == 1
    assert AuditEntry.select().count() == 1


# --- deactivation and promotion -------------------------------------------------------

def test_deactivation_ends_sessions_blocks_sign_in_hides_nothing(client_for, admin_client, bob,
                                                                 make_post, dbconn):
    post = make_post(bob, title='Still here')
    bob_client = client_for('bob')
    other_bob = client_for('bob')
    assert 'Signed in as' in bob_client.get('/').text
    assert Session.select().where(Session.user == bob.id).count() == 2

    edit(admin_client, 'bob', 303, is_active=False)
    assert Session.select().where(Session.user == bob.id).count() == 0
    assert 'Signed in as' not in bob_client.get('/').text
    other_bob.get('/settings', status=303)
    Auth(client_for()).login('bob', status=422)
    assert Post.get_by_id(post.id).status == PUBLISHED
    changes = json.loads(AuditEntry.get(AuditEntry.user == bob.id).changes)
    assert changes == {'is_active': [True, False]}
    page = admin_client.get('/admin/users')
    assert 'deactivated' in page.text

    edit(admin_client, 'bob', 303, is_active=True)  # reactivated: may sign in again
    Auth(client_for()).login('bob', status=303)


def test_promotion_takes_effect_on_the_next_request(client_for, admin_client, bob, dbconn):
    bob_client = client_for('bob')
    bob_client.get('/admin/users', status=403)
    edit(admin_client, 'bob', 303, role='admin')
    assert bob_client.get('/admin/users').status_code == 200
    assert 'href="/admin/users"' in bob_client.get('/').text


# --- escaping -------------------------------------------------------------------------

def test_display_name_and_bio_are_escaped_on_every_admin_page(client_for, admin_client, bob,
                                                               dbconn):
    edit(admin_client, 'bob', 303, display_name=XSS, bio=XSS + '\n<b>bold</b>')
    pages = [admin_client.get('/admin/users'), admin_client.get('/admin/users/bob'),
             admin_client.get('/admin/users?q=script'), client_for('bob').get('/settings')]
    stale = admin_client.get('/admin/users/bob').forms['user-form']
    edit(admin_client, 'bob', 303, bio='Plain')
    stale['bio'] = XSS + ' mine'
    pages.append(stale.submit(status=409))
    for page in pages:
        assert '<script>alert' not in page.text and '<b>bold' not in page.text
        assert '&lt;script&gt;' in page.text


# --- the `users` command ----------------------------------------------------------------

def test_users_command_lists_roles_states_posts_and_last_sign_in(app, config, admin_client,
                                                                  make_user, make_post, bob,
                                                                  dbconn):
    make_user('carol', is_active=False)
    make_post(bob)
    result = subprocess.run([sys.executable, 'run.py', 'users', '--db', config.db_path],
                            capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert result.returncode == 0, result.stderr
    lines = [line.split() for line in result.stdout.splitlines()]
    assert lines[0][:4] == ['USERNAME', 'ROLE', 'STATE', 'POSTS']
    assert lines[1] == ['bob', 'author', 'active', '1', 'never']
    assert lines[2] == ['carol', 'author', 'deactivated', '0', 'never']
    assert lines[3][:4] == ['root', 'admin', 'active', '0'] and lines[3][4] != 'never'


# --- stale profile forms merge field by field -------------------------------------------

def test_a_stale_profile_form_merges_fields_the_other_side_left_alone(client_for, admin_client,
                                                                      bob, dbconn):
    user_client = client_for('bob')
    stale = user_client.get('/settings').forms['settings-form']
    edit(admin_client, 'bob', 303, display_name='Set by admin')
    stale['bio'] = 'Typed by bob'
    response = stale.submit(status=303)
    assert response.location == '/settings?notice=profile-merged'
    saved = fresh('bob')
    assert (saved.display_name, saved.bio, saved.version) == ('Set by admin', 'Typed by bob', 3)
    assert 'their changes were to other fields' in response.follow().text


def test_a_stale_admin_form_merges_and_the_guards_still_apply(client_for, admin_client, root,
                                                              bob, dbconn):
    stale = admin_client.get('/admin/users/bob').forms['user-form']
    bob_form = client_for('bob').get('/settings').forms['settings-form']
    bob_form['bio'] = 'My own bio'
    bob_form.submit(status=303)
    stale['is_active'] = False
    response = stale.submit(status=303)
    assert response.location == '/admin/users/bob?notice=profile-merged'
    saved = fresh('bob')
    assert saved.bio == 'My own bio' and not saved.is_active
    # The last-admin guard runs on the merged change too.
    own = admin_client.get('/admin/users/root').forms['user-form']
    root_settings = admin_client.get('/settings').forms['settings-form']
    root_settings['bio'] = 'root bio'
    root_settings.submit(status=303)
    own['role'] = 'author'
    page = own.submit(status=422)
    assert 'last active administrator' in page.text and fresh('root').role == 'admin'


def test_a_form_without_its_base_values_is_a_plain_conflict(client_for, admin_client, bob,
                                                             dbconn):
    user_client = client_for('bob')
    page = user_client.get('/settings')
    form = page.forms['settings-form']
    edit(admin_client, 'bob', 303, display_name='Set by admin')
    fields = {name: form[name].value for name in ('csrf_token', 'version', 'display_name',
                                                  'email', 'bio')}
    fields['bio'] = 'Typed by bob'
    user_client.post('/settings', fields, status=409)  # no base:* fields sent
    assert fresh('bob').bio == ''
