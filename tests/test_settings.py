"""/settings: your own profile, validated, saved optimistically, 409 on a stale form."""

import pytest

from blog.models import User
from blog.queries import people as people_queries
from tests.conftest import csrf_from

XSS = '<script>alert("x")</script>'


@pytest.fixture
def alice(make_user, auth):
    user = make_user('alice')
    auth.login('alice')
    return user


def fresh(username='alice'):
    return User.get(User.username == username)


def submit(client, status, **values):
    """Load /settings, fill the form with `values`, submit it."""
    form = client.get('/settings').forms['settings-form']
    for name, value in values.items():
        form[name] = value
    return form.submit(status=status)


def conflict_form(page, action='/settings'):
    """The conflict page's form (it has no id; the header has search and sign-out)."""
    forms = [form for key, form in page.forms.items()
             if isinstance(key, int) and form.action == action and form.method.upper() == 'POST']
    assert len(forms) == 1
    return forms[0]


def post(client, status, **values):
    """POST /settings directly (a form kept open in another tab, say)."""
    data = {'csrf_token': csrf_from(client.get('/settings/password'))}
    data.update(values)
    return client.post('/settings', data, status=status)


def test_anonymous_is_sent_to_sign_in(client):
    response = client.get('/settings', status=303)
    assert response.headers['Location'] == '/login?next=/settings'


def test_form_shows_profile_and_links_to_password(client, alice, dbconn):
    page = client.get('/settings')
    form = page.forms['settings-form']
    assert form['version'].value == '1'
    assert {'display_name', 'email', 'bio', 'csrf_token'} <= set(form.fields)
    assert 'href="/settings/password"' in page.text
    assert 'href="/authors/alice"' in page.text


def test_save_profile(client, alice, dbconn):
    response = submit(client, 303, display_name='  Alice   Liddell ', email='alice@example.com',
                      bio='Line one\r\nLine two\r\n')
    assert response.headers['Location'] == '/settings?notice=saved'
    page = response.follow()
    assert 'Saved.' in page.text and 'Alice Liddell' in page.text
    user = fresh()
    assert (user.display_name, user.email, user.bio) == (
        'Alice Liddell', 'alice@example.com', 'Line one\nLine two')
    assert user.version == 2 and user.updated_by_id == user.id


def test_empty_email_is_stored_as_null(client, make_user, auth, dbconn):
    make_user('alice', email='old@example.com')
    auth.login('alice')
    submit(client, 303, email='   ')
    assert fresh().email is None


@pytest.mark.parametrize('field, value, message', [
    ('display_name', 'x' * 81, 'at most 80 characters'),
    ('bio', 'y' * 2001, 'at most 2000 characters'),
    ('email', 'not-an-address', 'Enter an email address'),
    ('email', 'a@b', 'Enter an email address'),
])
def test_invalid_profile_is_422_with_input_kept(client, alice, dbconn, field, value, message):
    values = {'display_name': 'Kept name', 'email': 'kept@example.com', 'bio': 'Kept bio'}
    values[field] = value
    response = submit(client, 422, **values)
    assert message in response.text
    assert 'id="f-%s-error"' % field in response.text
    form = response.forms['settings-form']
    assert form[field].value == value
    assert form['version'].value == '1'
    for name in values:
        assert form[name].value == values[name]
    user = fresh()
    assert user.version == 1 and user.display_name == '' and user.email is None


@pytest.mark.parametrize('taken', ['bob@example.com', 'BOB@Example.COM'])
def test_email_must_be_unique(client, alice, make_user, dbconn, taken):
    make_user('bob', email='bob@example.com')
    response = submit(client, 422, email=taken)
    assert 'belongs to another account' in response.text
    assert response.forms['settings-form']['email'].value == taken
    assert fresh().email is None


def test_email_race_lost_at_the_unique_index_is_a_form_error(client, alice, make_user,
                                                             dbconn, monkeypatch):
    """The check passes (as if bob took it a moment later); the index still refuses."""
    make_user('bob', email='bob@example.com')

    class Nobody:
        def exists(self):
            return False
    monkeypatch.setattr(people_queries, 'email_taken', lambda *args: Nobody())
    for email in ('bob@example.com', 'Bob@example.com'):  # the exact and the lower() index
        response = submit(client, 422, email=email)
        assert 'belongs to another account' in response.text
    assert fresh().email is None


def test_own_email_may_be_resaved_in_another_case(client, make_user, auth, dbconn):
    make_user('alice', email='alice@example.com')
    auth.login('alice')
    submit(client, 303, email='Alice@Example.com')
    assert fresh().email == 'Alice@Example.com'


def test_unchanged_save_is_303_and_keeps_the_version(client, make_user, auth, dbconn):
    make_user('alice', display_name='Alice', bio='One\ntwo')
    auth.login('alice')
    # The browser sends the textarea back with CRLF line ends: still unchanged.
    response = submit(client, 303, bio='One\r\ntwo')
    assert response.headers['Location'] == '/settings?notice=unchanged'
    assert 'Nothing had changed' in response.follow().text
    assert fresh().version == 1


def test_stale_but_identical_is_unchanged_not_a_conflict(client, alice, dbconn):
    old_form = client.get('/settings').forms['settings-form']
    submit(client, 303, display_name='Alice')
    assert fresh().version == 2
    old_form['display_name'] = 'Alice'  # the other tab typed the same thing
    response = old_form.submit(status=303)
    assert response.headers['Location'] == '/settings?notice=unchanged'
    assert fresh().version == 2


def test_stale_form_gets_the_conflict_page_and_can_overwrite(client, alice, dbconn):
    old_form = client.get('/settings').forms['settings-form']
    submit(client, 303, display_name='Saved in tab one', bio='Saved bio')
    old_form['display_name'] = 'Typed in tab two'
    old_form['bio'] = 'Typed bio'
    page = old_form.submit(status=409)
    assert 'Saved in tab one' in page.text and 'Typed in tab two' in page.text
    assert 'Saved bio' in page.text and 'Typed bio' in page.text
    assert 'href="/settings?notice=discarded"' in page.text
    conflict = conflict_form(page)
    assert conflict['version'].value == '2'
    assert conflict['display_name'].value == 'Typed in tab two'
    user = fresh()
    assert user.display_name == 'Saved in tab one' and user.version == 2

    conflict.submit(status=303)
    user = fresh()
    assert (user.display_name, user.bio, user.version) == ('Typed in tab two', 'Typed bio', 3)


def test_discard_link_shows_the_saved_profile(client, alice, dbconn):
    submit(client, 303, display_name='Saved')
    page = client.get('/settings?notice=discarded')
    assert 'Your edits were discarded' in page.text
    assert page.forms['settings-form']['display_name'].value == 'Saved'


@pytest.mark.parametrize('version', [None, '', 'abc', '-1', '1.0', '9' * 19, '١'])
def test_missing_or_odd_version_is_400(client, alice, dbconn, version):
    values = {'display_name': 'X'}
    if version is not None:
        values['version'] = version
    post(client, 400, **values)
    assert fresh().display_name == ''


def test_settings_cannot_promote_or_deactivate(client, alice, dbconn):
    post(client, 303, version='1', display_name='Sneaky', email='', bio='',
         role='admin', is_active='')
    user = fresh()
    assert user.display_name == 'Sneaky' and user.role == 'author' and user.is_active


def test_csrf_is_required(client, alice, dbconn):
    client.post('/settings', {'version': '1', 'display_name': 'X'}, status=403)
    assert fresh().display_name == ''


def test_profile_text_is_escaped_on_settings_and_conflict_pages(app, client, alice, dbconn):
    old_form = client.get('/settings').forms['settings-form']
    page = submit(client, 303, display_name=XSS, bio=XSS).follow()
    assert XSS not in page.text and '&lt;script&gt;' in page.text
    old_form['display_name'] = XSS + '!'
    page = old_form.submit(status=409)
    assert '<script>' not in page.text and '&lt;script&gt;' in page.text


def test_a_second_session_sees_the_saved_profile(client_for, client, alice, dbconn):
    other = client_for('alice')
    submit(client, 303, display_name='From the first')
    assert other.get('/settings').forms['settings-form']['display_name'].value == \
        'From the first'
