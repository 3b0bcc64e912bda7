"""What static/editor.js needs from the pages, without a browser (tests/test_editor_js.py
runs the script itself): every editor form carries data-autosave with its key and
loads the script, no template has inline script, the answer to an editor's POST shows
the form under the same key, and only the page after a successful save says so
(data-saved) to the signed-in editor."""

import os
import re
import shutil
import subprocess

import pytest

from blog.render import NOTICES, SAVE_NOTICES
from tests.conftest import ROOT, Auth, post_path

TEMPLATES = os.path.join(ROOT, 'templates')
SCRIPT_TAG = '<script src="{{ url(\'static\', path=\'editor.js\') }}" defer></script>'
SCRIPT = '<script src="/static/editor.js" defer></script>'

# Every template with a <form>, sorted: editors (people type text there) and the rest.
EDITORS = ('posts/form.html', 'conflicts/page.html', 'settings/profile.html',
           'admin/user.html', 'admin/settings.html', 'rescue/page.html')
NOT_EDITORS = {
    'base.html': 'the search box',
    'header/pieces.html': 'the sign-out button',
    'admin/users.html': 'a filter (GET)',
    'search/index.html': 'a search (GET)',
    'auth/login.html': 'a username and a password: passwords are never kept',
    'auth/register.html': 'a username and passwords: passwords are never kept',
    'auth/password.html': 'passwords only',
    'posts/show.html': 'the delete button',
    'history/revision.html': 'the restore button',
    'trash/index.html': 'restore and delete buttons',
    'admin/invitations.html': 'a role and an optional address: nothing long to lose',
    'first_run/setup.html': 'a username and passwords: passwords are never kept',
    'review/index.html': 'a short note, shown again when a decision cannot be made',
    'media/library.html': 'a file and its description, kept when the upload is refused',
    'recovery/forgot.html': 'a username or an address, shown again',
    'recovery/reset.html': 'passwords only',
}


# Every notice, sorted: those a successful editor save redirects with (SAVE_NOTICES,
# the page then tells editor.js to drop the copy it sent) and the rest.
OTHER_NOTICES = {
    'welcome': 'registering: no editor',
    'signed-in': 'signing in: no editor',
    'welcome-admin': 'the setup form: passwords are never kept',
    'published': "the review queue's Publish button",
    'sent-back': "the review queue's Send back button (its note is short)",
    'withdrawn': "the invitations list's Withdraw button: no editor",
    'signed-out': 'signing out: no editor',
    'password-changed': 'the password form: passwords are never kept',
    'password-reset': 'the reset form: passwords are never kept',
    'confirmation-sent': "the settings page's resend button",
    'reset-mailed': "the admin user page's reset button",
    'deleted': 'a delete button',
    'trashed': 'a delete button',
    'untrashed': 'a restore button in the trash',
    'purged': 'a delete button in the trash',
    'restored': "a revision's restore button",
    'discarded': "the conflict page's discard link: the copy is offered once more, to be "
                 'discarded there (a stray click loses nothing)',
}


def template_source(name):
    with open(os.path.join(TEMPLATES, name), encoding='utf-8') as source:
        return source.read()


def every_template():
    for base, _, files in os.walk(TEMPLATES):
        for name in files:
            if name.endswith('.html'):
                yield os.path.relpath(os.path.join(base, name), TEMPLATES).replace(os.sep, '/')


def test_every_template_with_a_form_is_known_as_an_editor_or_not():
    with_forms = {name for name in every_template() if '<form' in template_source(name)}
    assert with_forms == set(EDITORS) | set(NOT_EDITORS)


def test_every_notice_is_known_as_a_save_notice_or_not():
    assert set(NOTICES) == SAVE_NOTICES | set(OTHER_NOTICES)
    assert not SAVE_NOTICES & set(OTHER_NOTICES)


@pytest.mark.parametrize('name', EDITORS)
def test_editor_templates_mark_their_form_and_load_the_script(name):
    source = template_source(name)
    marked = re.findall(r'<form\b[^>]*\bdata-autosave="\{\{ form_key\([^)]*\) \}\}"', source)
    assert len(marked) == 1
    assert SCRIPT_TAG in source


@pytest.mark.parametrize('name', sorted(NOT_EDITORS))
def test_other_forms_are_not_marked(name):
    assert 'data-autosave' not in template_source(name)


def test_no_template_has_inline_script():
    """The Content-Security-Policy allows scripts from files only ('self')."""
    scripts = {name: re.findall(r'<script\b[^>]*>', template_source(name), re.I)
               for name in every_template()}
    assert [tag for tags in scripts.values() for tag in tags if ' src=' not in tag] == []
    assert {name for name, tags in scripts.items() if tags} == (
        set(EDITORS) | {'posts/show.html'})


def test_the_inline_script_check_sees_one():
    assert re.findall(r'<script\b[^>]*>', '<p><SCRIPT>x()</script>', re.I) == ['<SCRIPT>']


def test_the_script_is_served_as_javascript(client):
    response = client.get('/static/editor.js')
    assert response.content_type in ('text/javascript', 'application/javascript')
    assert "'use strict'" in response.text


@pytest.mark.skipif(shutil.which('node') is None, reason='node is not installed')
def test_the_script_parses():
    result = subprocess.run(['node', '--check', os.path.join(ROOT, 'static', 'editor.js')],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


# --- the rendered pages ---------------------------------------------------------

def autosave_key(page):
    keys = re.findall(r'<form\b[^>]*\bdata-autosave="([^"]*)"', page.text)
    assert len(keys) == 1, keys
    return keys[0]


def saved_marker(page):
    match = re.search(r'<body\b[^>]*\bdata-saved="([^"]*)"', page.text)
    return match.group(1) if match else None


@pytest.fixture
def post(people, make_post):
    return make_post(people['alice'], title='Saved title', body='line 1\nline 2')


def test_every_editor_route_renders_a_marked_form_with_the_script(app, browser, post):
    root = browser('root')
    editors = {route.name for route in app.routes
               if route.config.get('editor') and route.method == 'GET'}
    pages = {'post_new': '/posts/new', 'post_edit': '/posts/%d/edit' % post.id,
             'settings': '/settings', 'admin_user': '/admin/users/alice',
             'admin_settings': '/admin/settings'}
    assert editors == set(pages)
    for path in pages.values():
        page = root.get(path)
        assert autosave_key(page) == 'root:' + path  # the user, the editor's path
        assert SCRIPT in page.text
        assert saved_marker(page) is None


def test_the_new_post_editor_keys_its_draft_form_like_itself(browser):
    page = browser('alice').get('/posts/new?as=draft')
    assert autosave_key(page) == 'alice:/posts/new'


def test_a_rejected_save_shows_the_form_under_the_same_key_and_no_saved_marker(browser, post):
    alice = browser('alice')
    form = alice.get('/posts/%d/edit' % post.id).forms['post-form']
    form['title'] = ''
    page = form.submit(status=422)
    assert autosave_key(page) == 'alice:/posts/%d/edit' % post.id
    assert saved_marker(page) is None


def test_the_conflict_page_shows_the_form_under_the_editors_key(browser, post):
    alice, root = browser('alice'), browser('root')
    mine = alice.get('/posts/%d/edit' % post.id).forms['post-form']
    theirs = root.get('/posts/%d/edit' % post.id).forms['post-form']
    theirs['body'] = 'line 1\nline 2 by root'
    theirs.submit(status=303)
    mine['body'] = 'line 1\nline 2 by alice'
    page = mine.submit(status=409)
    assert autosave_key(page) == 'alice:/posts/%d/edit' % post.id
    assert SCRIPT in page.text and saved_marker(page) is None


def test_the_stale_token_page_shows_the_form_under_the_editors_key(client, people, post):
    auth = Auth(client)
    auth.login('alice')
    form = client.get('/posts/%d/edit' % post.id).forms['post-form']
    auth.logout()
    auth.login('alice')  # signed out and in again elsewhere: the form's token is stale
    page = form.submit(status=403)
    assert autosave_key(page) == 'alice:/posts/%d/edit' % post.id
    assert SCRIPT in page.text


def test_the_page_after_each_editors_save_carries_data_saved(browser, post):
    alice, root = browser('alice'), browser('root')
    form = alice.get('/posts/new').forms['post-form']
    form['title'], form['body'] = 'New', 'Body.'
    created = form.submit(status=303)
    edit = alice.get('/posts/%d/edit' % post.id).forms['post-form']
    edit['body'] = 'changed'
    saved = edit.submit(status=303)
    unchanged = alice.get('/posts/%d/edit' % post.id).forms['post-form'].submit(status=303)
    profile = alice.get('/settings').forms['settings-form']
    profile['bio'] = 'A bio.'
    settings_saved = profile.submit(status=303)
    user = root.get('/admin/users/alice').forms['user-form']
    user['display_name'] = 'Alice'
    admin_saved = user.submit(status=303)
    stale = alice.get('/settings').forms['settings-form']
    user = root.get('/admin/users/alice').forms['user-form']
    user['email'] = 'alice@example.org'
    user.submit(status=303)
    stale['bio'] = 'Another bio.'
    profile_merged = stale.submit(status=303)  # the admin changed another field

    new_id = int(re.match(r'/posts/(\d+)-[a-z0-9-]+\?notice=created$', created.location)
                 .group(1))
    answers = [(alice, created, 'alice:/posts/%d/edit' % new_id),
               (alice, saved, 'alice:/posts/%d/edit' % post.id),
               (alice, unchanged, 'alice:/posts/%d/edit' % post.id),
               (alice, settings_saved, 'alice:/settings'),
               (root, admin_saved, 'root:/admin/users/alice'),
               (alice, profile_merged, 'alice:/settings')]
    assert {answer.location.split('notice=')[1] for _, answer, _ in answers} == {
        'created', 'saved', 'unchanged', 'profile-merged'}
    for who, answer, key in answers:
        assert answer.location.split('notice=')[1] in SAVE_NOTICES
        page = who.get(answer.location)
        assert saved_marker(page) == key
        assert SCRIPT in page.text


@pytest.mark.parametrize('notice', ['discarded', None])
def test_a_post_page_without_a_save_notice_has_neither_marker_nor_script(browser, post, notice):
    page = browser('alice').get(post_path(post, notice=notice))
    assert saved_marker(page) is None and 'editor.js' not in page.text


def test_readers_never_get_the_marker_or_the_script(browser, post):
    for who in (browser(None), browser('bob')):  # anonymous; signed in, not the author
        page = who.get(post_path(post.id, notice='saved'))
        assert saved_marker(page) is None and 'editor.js' not in page.text
