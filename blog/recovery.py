"""Getting back in, and confirming an address: `/password/forgot` (ask for a reset
link), `/password/reset/<token>` (choose a new password from the mailed link), and
`/email/confirm/<token>` (the link a changed email address is sent).

The forgot form answers the same page, status and work for every input: an account
with a confirmed address, one without, a deactivated one, nobody. Each ask is counted
per address (RESET, past which it is a 429 whoever was asked for) and per account
typed (past which nothing more is mailed to it, with the same answer); the link and
the mail are made only for a real, confirmed account, and the mail leaves on the
mailer's own thread, so the answer never waits for it. A reset ends every session of
that user and signs them in anew.
"""

from bottle import HTTPError, request, response

from blog import accounts, email_links, forms, sessions
from blog.models import utcnow
from blog.queries import people
from blog.render import render
from blog.responses import see_other
from blog.site import current_site
from blog.throttle import RESET
from blog.urls import url

LINK = '<token:re:[A-Za-z0-9_-]{1,100}>'  # a route wildcard, not a secret
LOGIN_MAX = 254
LINK_PROBLEMS = {
    email_links.UNKNOWN: (404, 'This link is not valid',
                          'Check that you copied the whole link from the mail.'),
    email_links.USED: (410, 'This link has been used',
                       'Each link works once. Ask for a new one if you still need it.'),
    email_links.EXPIRED: (410, 'This link has expired',
                          'Ask for a new one: it will work for %d minutes.'
                          % email_links.RESET_MINUTES),
}


def _address():
    return request.environ.get('REMOTE_ADDR') or 'unknown'


def forgot():
    """GET: the form (`login`: a username or an email address). POST: the same
    answer for every input; a reset link mailed when it names an active account
    with a confirmed address."""
    if request.method == 'GET':
        return render('recovery/forgot.html', values={'login': ''}, errors={}, sent=False)
    login = ' '.join(forms.field('login').split())[:LOGIN_MAX]
    if not login:
        return render('recovery/forgot.html', status=422, values={'login': ''},
                      errors={'login': 'Type your username or your email address.'},
                      sent=False)
    throttle = current_site().throttle
    per_address = [(RESET, (_address(),))]
    per_account = [(RESET, ('login', login.lower()))]
    wait = throttle.wait(per_address)
    if wait:
        response.set_header('Retry-After', str(wait))
        return render('recovery/forgot.html', status=429, values={'login': login},
                      errors={'form': 'Too many requests from this address. Try again in '
                                      '%d minutes.' % (wait // 60 + 1)}, sent=False)
    # Both counted for every ask, known or not: the same writes either way.
    throttle.failed(per_address + per_account)
    if not throttle.wait(per_account):
        email_links.ask_reset(login.lower() if '@' in login else
                              forms.normalize_username(login))
    return render('recovery/forgot.html', values={'login': login}, errors={}, sent=True)


def _usable(token, purpose):
    row, problem = email_links.check(token, purpose)
    if problem:
        status, heading, advice = LINK_PROBLEMS[problem]
        raise HTTPError(status, '%s. %s' % (heading, advice))
    return row


def reset(token):
    """GET: choose a new password. POST: set it (the link spent at once), end every
    session of the user and sign them in anew; 303 home."""
    response.set_header('Cache-Control', 'no-store')
    row = _usable(token, email_links.RESET)
    page = {'token': token, 'username': row.user.username}
    if request.method == 'GET':
        return render('recovery/reset.html', errors={}, **page)
    password = forms.field('new_password')
    errors = {}
    error = forms.password_error(password)
    if error:
        errors['new_password'] = error
    elif password != forms.field('new_password_confirm'):
        errors['new_password_confirm'] = forms.PASSWORDS_DIFFER
    if errors:
        return render('recovery/reset.html', status=422, errors=errors, **page)
    if not email_links.spend(row, utcnow()):  # a second tab, a second click
        _usable(token, email_links.RESET)
        raise HTTPError(410, 'This link has been used.')
    accounts.set_password(row.user_id, password)  # ends every session of the user
    sessions.sign_in(people.user_by_id(row.user_id))
    see_other(url('home', notice='password-reset'))


def confirm_email(token):
    """GET /email/confirm/<token>: confirm the address the link was sent to."""
    row, problem = email_links.check(token, email_links.CONFIRM)
    if problem:
        status, heading, advice = LINK_PROBLEMS[problem]
        if problem == email_links.EXPIRED:
            advice = 'Send a new one from your settings page.'
        return render('recovery/confirmed.html', status=status, heading=heading,
                      message=advice, confirmed=False)
    if row.user.email != row.email:
        return render('recovery/confirmed.html', status=410,
                      heading='This address is no longer on the account',
                      message='The account now has another address; its own link confirms it.',
                      confirmed=False)
    if not email_links.confirm(row):
        return render('recovery/confirmed.html', status=410, heading='This link has been used',
                      message='The address may be confirmed already: your settings page says.',
                      confirmed=False)
    return render('recovery/confirmed.html', heading='Address confirmed', confirmed=True,
                  message='%s is confirmed: password reset links can be sent to it.'
                  % row.email)


def install(app):
    """Add this module's routes to `app`."""
    app.route('/password/forgot', ['GET', 'POST'], forgot, name='password_forgot')
    app.route('/password/reset/' + LINK, ['GET', 'POST'], reset, name='password_reset')
    app.route('/email/confirm/' + LINK, 'GET', confirm_email, name='email_confirm')
