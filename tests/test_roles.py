"""Who may do what: the permission table of blog.roles, written out here as design.md
says it, and walked through the real routes for every role, on one's own posts and
on someone else's."""

import pytest

from blog import roles
from blog.db import db
from blog.models import DRAFT, PUBLISHED, TRASHED, Post, utcnow
from blog.queries import trash
from tests.conftest import csrf_from, post_path, save_as

ROLES = ('contributor', 'author', 'editor', 'admin')

# design.md, "Accounts and forms" and "Routes": for each action, the roles that may
# do it to their own posts, and the roles that may do it to anyone's.
EXPECTED = {
    'write': (ROLES, ()),
    'edit': (ROLES, ('editor', 'admin')),
    'publish': (('author', 'editor', 'admin'), ('editor', 'admin')),
    'delete': (ROLES, ('editor', 'admin')),
    'purge': (ROLES, ('admin',)),
    'see_unpublished': (ROLES, ('editor', 'admin')),
    'review': (('editor', 'admin'), ('editor', 'admin')),
    # design.md "Routes": /media for anyone signed in, /media/<id>/delete its owner, admins.
    'images': (ROLES, ('admin',)),
    'see_all_trash': (('admin',), ('admin',)),
    'export_all': (('admin',), ('admin',)),
    'manage_people': (('admin',), ('admin',)),
    'invite': (('admin',), ('admin',)),
    'site_settings': (('admin',), ('admin',)),
}


class Person:
    def __init__(self, user_id, role, is_active=True):
        self.id, self.role, self.is_active = user_id, role, is_active


def test_the_table_in_code_is_the_one_design_md_gives():
    assert set(roles.PERMISSIONS) == set(EXPECTED)
    for action, (own, anyone) in EXPECTED.items():
        for role in ROLES:
            person = Person(1, role)
            assert roles.can(person, action, owner_id=1) == (role in own), (action, role)
            assert roles.can(person, action, owner_id=2) == (role in anyone), (action, role)
            assert roles.can(person, action) == (role in anyone), (action, role)


@pytest.mark.parametrize('action', sorted(EXPECTED))
def test_nobody_anonymous_or_deactivated_may_do_anything(action):
    assert not roles.can(None, action, owner_id=None)
    assert not roles.can(Person(1, 'admin', is_active=False), action, owner_id=1)
    assert not roles.can(Person(1, 'superuser'), action, owner_id=1)


@pytest.fixture
def team(make_user, make_post):
    """One user of each role, and olga (an author) with a published post, a draft
    and a trashed post; each role's user has a draft of their own."""
    users = {role: make_user(role, role=role) for role in ROLES}
    olga = make_user('olga', role='author')
    posts = {
        'published': make_post(olga, title='Olga published'),
        'draft': make_post(olga, title='Olga draft', status=DRAFT),
        'trashed': make_post(olga, title='Olga trashed'),
    }
    with db.connection_context():
        trash.trash(posts['trashed'].id, olga.id, utcnow())
    own = {role: make_post(users[role], title='Own draft of %s' % role, status=DRAFT)
           for role in ROLES}
    return users, posts, own


def allowed(action, role, own):
    return role in EXPECTED[action][0 if own else 1]


def token(client):
    return csrf_from(client.get('/login'))


@pytest.mark.parametrize('role', ROLES)
def test_editing_and_history_follow_the_table(client_for, team, role):
    users, posts, own = team
    client = client_for(role)
    for post, is_own in ((own[role], True), (posts['published'], False)):
        status = 200 if allowed('edit', role, is_own) else 403
        client.get('/posts/%d/edit' % post.id, status=status)
        client.get('/posts/%d/history' % post.id, status=status)
    # Someone else's draft: readable by editors and admins, else a 404 (never a 403:
    # its existence is not revealed).
    status = 200 if allowed('see_unpublished', role, False) else 404
    client.get(post_path(posts['draft'].id), status=status)
    client.get('/posts/%d/edit' % posts['draft'].id, status=status)
    client.get(post_path(own[role].id), status=200)


@pytest.mark.parametrize('role', ROLES)
def test_publishing_follows_the_table(client_for, team, role):
    users, posts, own = team
    client = client_for(role)
    page = client.get('/posts/new')
    form = page.forms['post-form']
    form['title'] = 'Fresh'
    form['body'] = 'Words.'
    buttons = [field.value_if_submitted() for field in form.fields['status']]
    assert ('published' in buttons) == allowed('publish', role, True)
    assert ('pending' in buttons) != allowed('publish', role, True)
    if allowed('publish', role, True):
        save_as(form, 'published', status=303)
        with db.connection_context():
            assert Post.get(Post.title == 'Fresh').status == PUBLISHED
        return
    response = save_as(form, 'published', status=422)  # a hand-made request
    assert 'Contributors cannot publish' in response.text
    assert response.forms['post-form']['title'].value == 'Fresh'  # the form is kept
    assert response.forms['post-form']['body'].value == 'Words.'
    with db.connection_context():
        assert not Post.select().where(Post.title == 'Fresh').exists()
    # Submitting for review is what a contributor does instead.
    save_as(response.forms['post-form'], 'pending', status=303)
    with db.connection_context():
        assert Post.get(Post.title == 'Fresh').status == 'pending'


@pytest.mark.parametrize('role', ROLES)
def test_deleting_restoring_and_purging_follow_the_table(client_for, team, role):
    users, posts, own = team
    client = client_for(role)
    target = posts['published'].id
    expected = 303 if allowed('delete', role, False) else 403
    client.post('/posts/%d/delete' % target, {'csrf_token': token(client)}, status=expected)
    # Olga's trashed post: restore is an editor's right, purge an admin's.
    trashed = posts['trashed'].id
    purge = 303 if allowed('purge', role, False) else 404  # someone else's trash: unknown
    client.post('/trash/%d/purge' % trashed, {'csrf_token': token(client)}, status=purge)
    with db.connection_context():
        gone = not Post.select().where(Post.id == trashed).exists()
    assert gone == allowed('purge', role, False)
    # One's own posts: every role deletes and purges them.
    mine = own[role].id
    client.post('/posts/%d/delete' % mine, {'csrf_token': token(client)}, status=303)
    with db.connection_context():
        assert Post.get_by_id(mine).status == TRASHED
    client.post('/trash/%d/purge' % mine, {'csrf_token': token(client)}, status=303)
    with db.connection_context():
        assert not Post.select().where(Post.id == mine).exists()


@pytest.mark.parametrize('role', ROLES)
@pytest.mark.parametrize('path, action', [
    ('/admin/users', 'manage_people'),
    ('/admin/users/olga', 'manage_people'),
    ('/admin/settings', 'site_settings'),
    ('/admin/invitations', 'invite'),
    ('/settings/export?all=1', 'export_all'),
])
def test_the_admin_pages_follow_the_table(client_for, team, role, path, action):
    client_for(role).get(path, status=200 if allowed(action, role, False) else 403)


@pytest.mark.parametrize('role', ROLES)
def test_the_trash_shows_everyones_posts_only_to_admins(client_for, team, role):
    page = client_for(role).get('/trash')
    assert ('Olga trashed' in page.text) == allowed('see_all_trash', role, False)


@pytest.mark.parametrize('role', ROLES)
def test_the_header_links_to_the_admin_area_for_admins_only(client_for, team, role):
    page = client_for(role).get('/')
    assert ('href="/admin/users"' in page.text) == (role == 'admin')


@pytest.fixture
def reviewed(client_for, make_user, make_post):
    """carl (a contributor) wrote a post in two versions; an editor published it."""
    carl = make_user('carl', role='contributor')
    post = make_post(carl, title='Clean', body='Unreviewed spam', status=DRAFT)
    client = client_for('carl')
    form = client.get('/posts/%d/edit' % post.id).forms['post-form']
    form['body'] = 'Clean words.'
    save_as(form, 'pending', status=303)
    with db.connection_context():
        Post.update(status=PUBLISHED, published_at=utcnow(),
                    version=Post.version + 1).where(Post.id == post.id).execute()
    return client, post.id


def saved(post_id):
    with db.connection_context():
        row = Post.get_by_id(post_id)
    return row.status, row.body


def test_a_contributor_cannot_restore_unreviewed_text_onto_a_published_post(reviewed):
    client, post_id = reviewed
    page = client.get('/posts/%d/revisions/1' % post_id)
    form = next(f for f in page.forms.values() if f.action.endswith('/restore'))
    form.submit(status=403)
    assert saved(post_id) == (PUBLISHED, 'Clean words.')


def test_a_contributor_cannot_change_or_unpublish_a_published_post(reviewed):
    client, post_id = reviewed
    form = client.get('/posts/%d/edit' % post_id).forms['post-form']
    page = save_as(form, 'draft', status=422)
    assert 'Only authors and editors can take a post back' in page.text
    assert saved(post_id) == (PUBLISHED, 'Clean words.')


def test_a_stale_tab_cannot_merge_unreviewed_text_into_a_published_post(reviewed, client_for):
    client, post_id = reviewed
    # A tab still open on version 1 (the draft), sent after the post was published:
    # the merge would keep "published" (theirs) and take the body (mine).
    token = csrf_from(client.get('/posts/%d/edit' % post_id))
    page = client.post('/posts/%d/edit' % post_id, {
        'csrf_token': token, 'version': '1', 'title': 'Clean', 'body': 'Unreviewed spam 2',
        'status': 'draft', 'tags': ''}, status=422)
    assert 'take a post back from the public' in page.text
    assert 'Unreviewed spam 2' in page.text  # what was typed is kept
    assert saved(post_id) == (PUBLISHED, 'Clean words.')
