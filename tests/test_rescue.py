"""An editor's save that cannot be carried out keeps what was sent: an ended
session (401, sign in and go on), a stale token (403, a fresh form), a deactivated
account (the text to copy). Nothing is ever saved from such a request."""

import datetime

import pytest

from blog.models import Post, Session, User
from tests.conftest import PASSWORD, Auth
from tests.conftest import fresh_post as fresh

NEW_TEXT = 'Typed while the session was ending.\n\nSecond paragraph, ü ✓.'


def edit_form(client, post_id):
    form = client.get('/posts/%d/edit' % post_id).forms['post-form']
    form['title'], form['body'] = 'Edited title', NEW_TEXT
    return form


@pytest.fixture
def post(people, make_post):
    return make_post(people['alice'], title='Saved title', body='Saved body.')


def carried(page, name):
    return page.forms['rescue-form']['keep:' + name].value


def test_signed_out_elsewhere_keeps_the_text_and_signing_in_goes_back_to_it(
        browser, post, dbconn):
    alice = browser('alice')
    form = edit_form(alice, post.id)
    Auth(alice).logout()  # another tab of the same browser signs out
    page = form.submit(status=401)
    assert carried(page, 'title') == 'Edited title'
    assert carried(page, 'body') == NEW_TEXT
    assert carried(page, 'version') == '1'
    assert fresh(post.id).title == 'Saved title'  # nothing saved
    rescue = page.forms['rescue-form']
    rescue['username'], rescue['password'] = 'alice', PASSWORD
    rescue['keep:body'] = NEW_TEXT + '\n\nAdded on the rescue page.'
    back = rescue.submit(status=200)
    assert 'Back to your text' in back.text
    assert fresh(post.id).title == 'Saved title'  # still nothing saved
    again = back.forms['rescue-form']
    assert again.action == '/posts/%d/edit' % post.id
    assert again['body'].value == NEW_TEXT + '\n\nAdded on the rescue page.'
    again.submit(status=303)
    saved = fresh(post.id)
    assert saved.title == 'Edited title' and saved.body.endswith('Added on the rescue page.')


@pytest.mark.parametrize('how', ['expired', 'password changed', 'cookie gone'])
def test_every_ended_session_is_a_401_with_the_text(browser, post, dbconn, how):
    alice = browser('alice')
    form = edit_form(alice, post.id)
    if how == 'expired':
        Session.update(expires_at=datetime.datetime(2000, 1, 1)).execute()
    elif how == 'password changed':
        Session.delete().where(Session.user == post.author_id).execute()
    else:
        alice.reset()
    page = form.submit(status=401)
    assert carried(page, 'body') == NEW_TEXT and 'Sign in and go back' in page.text


def test_a_stale_token_with_a_live_session_gets_a_fresh_form(browser, post, dbconn):
    alice = browser('alice')
    form = edit_form(alice, post.id)
    Auth(alice).logout()
    Auth(alice).login('alice')  # signed in again: a new session, a new token
    page = form.submit(status=403)
    fresh_form = page.forms['rescue-form']
    assert fresh_form['body'].value == NEW_TEXT and fresh_form['version'].value == '1'
    assert fresh(post.id).body == 'Saved body.'
    fresh_form.submit(status=303)
    assert fresh(post.id).body == NEW_TEXT


def test_a_deactivated_author_gets_the_text_to_copy(browser, post, dbconn):
    alice = browser('alice')
    form = edit_form(alice, post.id)
    User.update(is_active=False).where(User.username == 'alice').execute()
    page = form.submit(status=401)
    assert 'deactivated' in page.text
    assert page.forms['rescue-form']['body'].value == NEW_TEXT
    assert 'password' not in page.forms['rescue-form'].fields


def test_a_failed_sign_in_on_the_rescue_page_keeps_the_text(browser, post, dbconn):
    alice = browser('alice')
    form = edit_form(alice, post.id)
    Auth(alice).logout()
    rescue = form.submit(status=401).forms['rescue-form']
    rescue['username'], rescue['password'] = 'alice', 'not the password'
    page = rescue.submit(status=422)
    assert 'do not match' in page.text and carried(page, 'body') == NEW_TEXT


def test_a_new_post_survives_the_session_ending_and_is_made_once(browser, people, dbconn):
    alice = browser('alice')
    form = alice.get('/posts/new').forms['post-form']
    form['title'], form['body'] = 'Brand new', NEW_TEXT
    Auth(alice).logout()
    rescue = form.submit(status=401).forms['rescue-form']
    rescue['username'], rescue['password'] = 'alice', PASSWORD
    again = rescue.submit(status=200).forms['rescue-form']
    assert again.action == '/posts/new' and again['form_id'].value == form['form_id'].value
    again.submit(status=303)
    again.submit(status=303)  # sent twice: still one post
    assert [p.title for p in Post.select()] == ['Brand new']


def test_the_profile_editors_keep_their_text_too(browser, people, dbconn):
    alice = browser('alice')
    form = alice.get('/settings').forms['settings-form']
    form['bio'] = 'A bio typed at length.'
    Auth(alice).logout()
    page = form.submit(status=401)
    assert carried(page, 'bio') == 'A bio typed at length.'
    root = browser('root')
    admin_form = root.get('/admin/users/alice').forms['user-form']
    admin_form['display_name'] = 'Alice, renamed'
    Auth(root).logout()
    assert carried(admin_form.submit(status=401), 'display_name') == 'Alice, renamed'
    assert User.get(User.username == 'alice').bio == ''


def test_a_form_from_elsewhere_saves_nothing(client, post, dbconn):
    """No session, no token (a cross-site form): the text is only shown back."""
    response = client.post('/posts/%d/edit' % post.id,
                           {'title': 'Planted', 'body': 'Planted text', 'version': '1'},
                           status=401)
    assert 'Planted text' in response.text
    assert fresh(post.id).title == 'Saved title'
