"""Confirmed addresses and password reset by mail (blog.recovery, blog.email_links):
the confirmation link of a changed address, the forgot form's one answer for every
input, the reset link (once, 60 minutes, ending every session), and its throttle."""

import re

import pytest

from blog.db import db
from blog.models import EmailToken, User, utcnow
from tests.conftest import PASSWORD, csrf_from

NEW_PASSWORD = 'a brand new password 2'


@pytest.fixture
def outbox(site, monkeypatch):
    """Every mail the site sends: (to, subject, text)."""
    sent = []
    monkeypatch.setattr(site.mailer, 'send',
                        lambda to, subject, text, html=None: sent.append((to, subject, text)))
    return sent


def link_in(text, route):
    match = re.search(r'http://blog\.test(/%s/[A-Za-z0-9_-]+)' % route, text)
    assert match, text
    return match.group(1)


def set_email(client, email):
    form = client.get('/settings').forms['settings-form']
    form['email'] = email
    return form.submit(status=303).follow()


def confirmed(user, address):
    with db.connection_context():
        User.update(email=address, email_confirmed_at=utcnow()).where(
            User.id == user.id).execute()


def test_a_new_address_is_mailed_a_link_that_confirms_it_once(browser, outbox, client):
    alice = browser('alice')
    page = set_email(alice, 'alice@example.org')
    assert 'alice@example.org is not confirmed yet' in page.text
    ((to, subject, text),) = outbox
    assert to == 'alice@example.org' and 'Confirm your email address' in subject
    link = link_in(text, 'email/confirm')
    answer = client.get(link)  # from the mail: no need to be signed in
    assert 'alice@example.org is confirmed' in answer.text
    assert 'alice@example.org is confirmed.' in alice.get('/settings').text
    assert client.get(link, status=410)
    # A changed address is unconfirmed again, with a link of its own.
    set_email(alice, 'alice@elsewhere.example')
    with db.connection_context():
        assert User.get(User.username == 'alice').email_confirmed_at is None
    assert outbox[-1][0] == 'alice@elsewhere.example'


def test_the_confirmation_can_be_sent_again(browser, outbox):
    alice = browser('alice')
    page = set_email(alice, 'alice@example.org')
    token = csrf_from(page)
    alice.post('/settings/email/confirm', {'csrf_token': token}, status=303)
    assert len(outbox) == 2
    first, second = (link_in(text, 'email/confirm') for _, _, text in outbox)
    alice.get(first, status=410)  # the newer link replaced it
    assert 'is confirmed' in alice.get(second).text


def forgot(client, login):
    token = csrf_from(client.get('/password/forgot'))
    return client.post('/password/forgot', {'csrf_token': token, 'login': login}, status='*')


def without_token(page, login):
    return re.sub(r'name="csrf_token" value="[^"]+"', '', page.text).replace(
        'value="%s"' % login, '')


def test_the_forgot_form_answers_the_same_for_every_input(people, make_user, outbox, client_for):
    confirmed(people['alice'], 'alice@example.org')
    with db.connection_context():
        User.update(email='bob@example.org').where(User.id == people['bob'].id).execute()
    gone = make_user('gone', is_active=False)
    confirmed(gone, 'gone@example.org')
    answers = {login: forgot(client_for(), login)
               for login in ('alice', 'ALICE@example.org', 'bob', 'bob@example.org', 'gone',
                             'nobody', 'nobody@example.org')}
    statuses = {answer.status_int for answer in answers.values()}
    assert statuses == {200}
    bodies = {without_token(answer, login) for login, answer in answers.items()}
    assert len(bodies) == 1 and 'password is on its way to that address' in bodies.pop()
    # Only the active account with a confirmed address got mail, once per ask.
    assert [to for to, _, _ in outbox] == ['alice@example.org', 'alice@example.org']


def test_a_reset_link_works_once_ends_every_session_and_signs_in(people, outbox, browser,
                                                                 client_for, auth):
    confirmed(people['alice'], 'alice@example.org')
    elsewhere = browser('alice')  # signed in somewhere else
    reader = client_for()
    forgot(reader, 'alice')
    link = link_in(outbox[-1][2], 'password/reset')
    page = reader.get(link)
    assert page.headers['Cache-Control'] == 'no-store'
    form = page.forms['reset-form']
    form['new_password'] = NEW_PASSWORD
    form['new_password_confirm'] = 'something else entirely'
    assert 'The two passwords differ' in form.submit(status=422).text
    form = reader.get(link).forms['reset-form']
    form['new_password'] = form['new_password_confirm'] = NEW_PASSWORD
    home = form.submit(status=303).follow()
    assert 'Your new password is saved' in home.text and 'Signed in as' in home.text
    assert 'Signed in as' not in elsewhere.get('/').text  # that session ended
    reader.get(link, status=410)
    auth.login('alice', PASSWORD, status=422)  # the old password no longer works
    auth.login('alice', NEW_PASSWORD)


def test_an_expired_or_made_up_link_says_so(people, outbox, client):
    confirmed(people['alice'], 'alice@example.org')
    forgot(client, 'alice')
    link = link_in(outbox[-1][2], 'password/reset')
    with db.connection_context():
        EmailToken.update(expires_at=utcnow()).execute()
    assert 'expired' in client.get(link, status=410).text
    assert 'not valid' in client.get('/password/reset/made-up-token', status=404).text
    client.get('/password/reset/' + 'x' * 101, status=404)


def test_asking_is_throttled_per_address_and_per_account(people, outbox, client_for, site):
    confirmed(people['alice'], 'alice@example.org')
    limit = site.throttle.limits['reset'].limit
    client = client_for()
    for _ in range(limit):
        assert forgot(client, 'alice').status_int == 200
    assert len(outbox) == limit - 1  # the account's own count stopped the last mail
    answer = forgot(client, 'nobody-at-all')
    assert answer.status_int == 429 and 'Retry-After' in answer.headers
    # From another address: the same answer, and still no more mail to alice.
    other = client_for()
    other.extra_environ['REMOTE_ADDR'] = '192.0.2.77'
    assert forgot(other, 'alice').status_int == 200
    assert len(outbox) == limit - 1


def test_the_sign_in_page_links_to_the_forgot_form(client):
    assert 'href="/password/forgot"' in client.get('/login').text


def test_an_admin_makes_a_reset_link_shown_once_without_a_mail_server(people, browser,
                                                                      client_for, outbox):
    root = browser('root')
    page = root.get('/admin/users/alice')
    assert 'no mail server' in page.text
    answer = root.post('/admin/users/alice/reset', {'csrf_token': csrf_from(page)},
                       status=303)
    assert answer.headers['Location'].endswith('/admin/users/alice?reset=shown')
    shown = answer.follow()
    link = re.search(r'id="reset-link"[^>]*value="http://blog\.test([^"]+)"', shown.text).group(1)
    assert 'Password reset link' in shown.text and 'shown to the admin' in shown.text  # audited
    assert 'id="reset-link"' not in root.get('/admin/users/alice?reset=shown').text  # once
    assert outbox == []
    reader = client_for()
    form = reader.get(link).forms['reset-form']
    form['new_password'] = form['new_password_confirm'] = NEW_PASSWORD
    form.submit(status=303)
    # Only admins, and not for a deactivated user.
    bob = browser('bob')
    bob.post('/admin/users/alice/reset', {'csrf_token': csrf_from(bob.get('/'))}, status=403)
    with db.connection_context():
        User.update(is_active=False).where(User.username == 'bob').execute()
    root.post('/admin/users/bob/reset', {'csrf_token': csrf_from(page)}, status=409)


def test_with_a_mail_server_and_a_confirmed_address_the_admin_link_is_mailed(
        people, browser, outbox, site, monkeypatch):
    confirmed(people['alice'], 'alice@example.org')
    monkeypatch.setattr(site.mailer, 'target', object())  # as if --smtp-url were given
    root = browser('root')
    page = root.get('/admin/users/alice')
    assert 'The link is mailed to alice@example.org' in page.text
    answer = root.post('/admin/users/alice/reset', {'csrf_token': csrf_from(page)},
                       status=303)
    assert answer.headers['Location'].endswith('notice=reset-mailed')
    ((to, subject, text),) = outbox
    assert to == 'alice@example.org' and '/password/reset/' in text
    assert 'mailed to alice@example.org' in answer.follow().text
