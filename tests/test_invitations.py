"""Invitations and the registration setting: links made by admins, shown once,
single use, 7 days, working in every registration mode."""

import datetime
import re
from urllib.parse import parse_qs, urlsplit

import pytest

from blog import invitations
from blog.db import db
from blog.models import Invitation, SiteSettings, User, utcnow
from tests.conftest import PASSWORD, csrf_from


def set_registration(mode):
    with db.connection_context():
        SiteSettings.update(registration=mode).execute()


def invite(admin, role='editor', email=''):
    """Make an invitation as `admin`: (its token, the page that shows its link)."""
    form = admin.get('/admin/invitations').forms['invitation-form']
    form['role'] = role
    form['email'] = email
    response = form.submit(status=303)
    made = parse_qs(urlsplit(response.headers['Location']).query)['made'][0]
    assert made.isdigit()  # the invitation's id: the token never travels in a URL
    page = response.follow()
    link = page.html.find(id='invite-link')['value']
    return parse_qs(urlsplit(link).query)['invite'][0], page


def register(client, token, username='newbie', status=303):
    page = client.get('/register?invite=%s' % token)
    form = page.forms['register-form']
    form['username'] = username
    form['password'] = form['password_confirm'] = PASSWORD
    return form.submit(status=status)


def user(username):
    with db.connection_context():
        return User.get_or_none(User.username == username)


def test_an_admin_makes_a_link_shown_once_and_stored_hashed(browser, people):
    admin = browser('root')
    token, page = invite(admin, 'editor', 'newbie@example.com')
    link = page.html.find(id='invite-link')['value']
    assert link == 'http://blog.test/register?invite=%s' % token
    assert 'an editor (newbie@example.com)' in page.text
    with db.connection_context():
        row = Invitation.get()
    assert row.token_hash == invitations.token_hash(token) and token not in row.token_hash
    assert (row.role, row.email, row.created_by_id) == ('editor', 'newbie@example.com',
                                                        people['root'].id)
    assert row.expires_at - row.created_at == datetime.timedelta(days=7)
    listing = admin.get('/admin/invitations')
    assert listing.html.find(id='invite-link') is None  # only right after it is made
    again = admin.get(page.request.url)  # reloading the page that showed it
    assert again.html.find(id='invite-link') is None and 'shown once already' in again.text
    # Another admin's session never sees a link someone else made.
    other = browser('root')
    form = other.get('/admin/invitations').forms['invitation-form']
    made = form.submit(status=303).headers['Location']
    assert browser('root').get(made).html.find(id='invite-link') is None
    assert 'open until' in listing.text and 'newbie@example.com' in listing.text
    assert admin.get('/admin/invitations?made=forged').html.find(id='invite-link') is None


@pytest.mark.parametrize('mode', ['open', 'invite', 'closed'])
def test_an_invitation_works_in_every_mode_and_gives_its_role(browser, people, mode):
    set_registration(mode)
    token, _ = invite(browser('root'), 'editor')
    visitor = browser(None)
    page = visitor.get('/register?invite=%s' % token)
    assert 'invited to join Blog as an editor' in page.text
    response = register(visitor, token)
    assert response.headers['Location'].endswith('/?notice=welcome')
    made = user('newbie')
    assert made.role == 'editor'
    with db.connection_context():
        row = Invitation.get()
    assert row.used_by_id == made.id and row.used_at is not None
    assert 'Signed in as' in visitor.get('/').text
    # Used: the link now says so, to anyone, and makes no second account.
    again = browser(None)
    assert 'has been used' in again.get('/register?invite=%s' % token, status=410).text
    token_field = {'csrf_token': csrf_from(again.get('/login')), 'invite': token,
                   'username': 'second', 'password': PASSWORD, 'password_confirm': PASSWORD}
    again.post('/register', token_field, status=410)
    assert user('second') is None


@pytest.mark.parametrize('mode, status, text', [
    ('open', 200, 'Create an account'),
    ('invite', 403, 'by invitation only'),
    ('closed', 403, 'not taking new accounts'),
])
def test_without_an_invitation_the_setting_decides(browser, people, mode, status, text):
    set_registration(mode)
    visitor = browser(None)
    assert text in visitor.get('/register', status=status).text
    fields = {'csrf_token': csrf_from(visitor.get('/login')), 'username': 'walkin',
              'password': PASSWORD, 'password_confirm': PASSWORD}
    visitor.post('/register', fields, status=303 if mode == 'open' else 403)
    assert (user('walkin') is not None) == (mode == 'open')
    if mode == 'open':
        assert user('walkin').role == 'author'  # the site's default_role (conftest)
    # The header offers "Register" only where it works.
    assert ('href="/register"' in browser(None).get('/authors').text) == (mode == 'open')


def test_an_expired_or_unknown_link_says_so(browser, people):
    token, _ = invite(browser('root'))
    with db.connection_context():
        Invitation.update(expires_at=utcnow() - datetime.timedelta(seconds=1)).execute()
    visitor = browser(None)
    assert 'has expired' in visitor.get('/register?invite=%s' % token, status=410).text
    assert 'not valid' in visitor.get('/register?invite=nope', status=404).text
    assert 'not valid' in visitor.get('/register?invite=' + 'x' * 500, status=404).text
    assert 'expired' in browser('root').get('/admin/invitations').text


def test_a_link_spent_between_the_form_and_the_submit_makes_no_account(browser, people):
    token, _ = invite(browser('root'), 'author')
    first, second = browser(None), browser(None)
    page = second.get('/register?invite=%s' % token)  # opened, not yet sent
    register(first, token, 'winner')
    form = page.forms['register-form']
    form['username'] = 'loser'
    form['password'] = form['password_confirm'] = PASSWORD
    assert 'has been used' in form.submit(status=410).text
    assert user('winner') is not None and user('loser') is None


def test_the_spend_is_atomic(app, people):
    with db.connection_context():
        row, _ = invitations.make('author', '', people['root'].id)
        assert invitations.use(row.id, people['alice'].id) is True
        assert invitations.use(row.id, people['bob'].id) is False  # once only
        assert Invitation.get_by_id(row.id).used_by_id == people['alice'].id


@pytest.mark.parametrize('field, value, message', [
    ('role', 'owner', 'Choose contributor, author, editor or admin.'),
    ('email', 'not-an-address', 'Enter an email address'),
])
def test_a_bad_invitation_form_is_422_with_input_kept(browser, people, field, value, message):
    admin = browser('root')
    fields = {'csrf_token': csrf_from(admin.get('/admin/invitations')), 'role': 'author',
              'email': 'kept@example.com', field: value}
    page = admin.post('/admin/invitations', fields, status=422)
    assert message in page.html.find(id='f-%s-error' % field).text
    if field == 'email':
        assert page.html.find(id='f-email')['value'] == value
    with db.connection_context():
        assert Invitation.select().count() == 0


def test_tokens_are_long_and_random(app, people):
    with db.connection_context():
        tokens = {invitations.make('author', '', None)[1] for _ in range(20)}
    assert len(tokens) == 20 and all(re.fullmatch(r'[A-Za-z0-9_-]{43}', t) for t in tokens)


def withdraw_form(admin_page, invitation_id):
    for form in admin_page.forms.values():
        if 'invitation' in form.fields and form['invitation'].value == str(invitation_id):
            return form
    return None


def test_an_admin_withdraws_an_unused_link(browser, people):
    root = browser('root')
    token, _ = invite(root, 'editor', 'wrong@example.org')
    opened = browser(None).get('/register?invite=%s' % token)  # opened before, sent after
    with db.connection_context():
        row = Invitation.get()
    page = root.get('/admin/invitations')
    answer = withdraw_form(page, row.id).submit(status=303)
    assert answer.headers['Location'] == '/admin/invitations?notice=withdrawn'
    listed = answer.follow()
    assert 'The invitation is withdrawn' in listed.text
    assert 'withdrawn' in listed.html.find('table').text
    assert withdraw_form(listed, row.id) is None  # nothing left to withdraw
    with db.connection_context():
        assert Invitation.get_by_id(row.id).revoked_at is not None
    visitor = browser(None)
    assert 'was withdrawn' in visitor.get('/register?invite=%s' % token, status=410).text
    form = opened.forms['register-form']
    form['username'] = 'late'
    form['password'] = form['password_confirm'] = PASSWORD
    assert 'was withdrawn' in form.submit(status=410).text
    assert user('late') is None


def test_a_used_link_cannot_be_withdrawn_and_unknown_ones_are_404(browser, people):
    root = browser('root')
    token, _ = invite(root, 'author')
    with db.connection_context():
        row = Invitation.get()
    page = root.get('/admin/invitations')
    stale = withdraw_form(page, row.id)
    register(browser(None), token, 'quick')
    assert 'was used' in stale.submit(status=409).text
    with db.connection_context():
        assert Invitation.get_by_id(row.id).revoked_at is None
    for bad in ('999', 'x', '1' * 40):
        root.post('/admin/invitations', {'csrf_token': csrf_from(page), 'action': 'withdraw',
                                         'invitation': bad}, status=404)
    assert user('quick').role == 'author'


@pytest.mark.parametrize('who', [None, 'alice'])
def test_only_admins_withdraw(browser, people, who):
    token, page = invite(browser('root'))
    with db.connection_context():
        row = Invitation.get()
    client = browser(who)
    csrf = csrf_from(client.get('/login' if who is None else '/settings'))
    client.post('/admin/invitations', {'csrf_token': csrf, 'action': 'withdraw',
                                       'invitation': str(row.id)}, status=[303, 403])
    with db.connection_context():
        assert Invitation.get_by_id(row.id).revoked_at is None


def test_an_invitation_with_an_address_is_mailed_its_link(people, client_for, site,
                                                          monkeypatch):
    sent = []
    monkeypatch.setattr(site.mailer, 'send',
                        lambda to, subject, text, html=None: sent.append((to, subject, text)))
    root = client_for('root')
    token, page = invite(root, role='author', email='newcomer@example.org')
    ((to, subject, text),) = sent
    assert to == 'newcomer@example.org' and 'An invitation to' in subject
    assert 'http://blog.test/register?invite=%s' % token in text
    assert '(newcomer@example.org), mailed to that address' in page.text
    assert 'the mail went to the server log' in page.text  # the tests have no mail server
    invite(root, role='author')  # without an address: nothing mailed
    assert len(sent) == 1
