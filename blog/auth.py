"""Accounts on the web: register, sign in, sign out, change password.

The account work itself (hashing in SQL outside the write lock, the same time for
unknown usernames, ending sessions) is in blog.accounts, which the command line
uses too.
"""

from bottle import HTTPResponse, request, response

from blog import accounts, forms, invitations, rescue, sessions, site_settings
from blog.models import utcnow
from blog.queries import people
from blog.render import render
from blog.responses import see_other
from blog.site import current_site
from blog.throttle import PASSWORD as PASSWORD_SCOPE
from blog.throttle import PASSWORD_USER, REGISTER
from blog.urls import url

SIGN_IN_FAILED = 'That username and password do not match an active account.'
WRONG_CURRENT = 'That is not your current password.'


def _throttle():
    return current_site().throttle


def _client_address():
    return request.environ.get('REMOTE_ADDR') or 'unknown'


def _too_many(wait, what):
    """The Retry-After header and the form error of a throttled try."""
    response.set_header('Retry-After', str(wait))
    if wait < 60:
        return {'form': 'Too many %s. Try again in %d seconds.' % (what, wait)}
    return {'form': 'Too many %s. Try again in %d minutes.' % (what, wait // 60 + 1)}


INVITE_PROBLEMS = {
    invitations.UNKNOWN: (404, 'This invitation link is not valid',
                          'Check that you copied the whole link, or ask for a new one.'),
    invitations.USED: (410, 'This invitation has been used',
                       'Each invitation makes one account. If it was yours, sign in; '
                       'otherwise ask for a new one.'),
    invitations.WITHDRAWN: (410, 'This invitation was withdrawn',
                            'Whoever made it took it back. Ask them for a new one if it '
                            'was meant for you.'),
    invitations.EXPIRED: (410, 'This invitation has expired',
                          'Invitations are valid for %d days. Ask for a new one.'
                          % invitations.VALID_DAYS),
}
CLOSED = {
    'invite': 'This site takes new accounts by invitation only. Ask one of its admins '
              'for an invitation link.',
    'closed': 'This site is not taking new accounts.',
}


def _invitation(token):
    """The usable invitation for `token`; raises the page that says why not."""
    invitation, problem = invitations.check(token)
    if problem:
        status, heading, advice = INVITE_PROBLEMS[problem]
        raise HTTPResponse(render('auth/closed.html', status=status, heading=heading,
                                  message=advice), status=status)
    return invitation


def register():
    """GET: the sign-up form. POST: create the account and sign in.

    Open to anyone on an `open` site; with a valid invitation (`invite`, from
    ?invite=TOKEN) in every mode, the new account taking the invitation's role."""
    token = (forms.query if request.method == 'GET' else forms.field)('invite').strip()
    invitation = _invitation(token) if token else None
    mode = site_settings.current().registration
    if invitation is None and mode != 'open':
        return render('auth/closed.html', status=403, heading='Registration is closed',
                      message=CLOSED[mode])
    if request.method == 'GET':
        if sessions.current_user() is not None:
            see_other(url('home'))
        return render('auth/register.html', values={}, errors={}, invitation=invitation,
                      invite=token)

    username = forms.normalize_username(forms.field('username'))
    password = forms.field('password')
    confirm = forms.field('password_confirm')
    page = {'invitation': invitation, 'invite': token}
    # Every try counts (each may hash a password and answers whether a name is
    # taken), before any work is done.
    checks = [(REGISTER, (_client_address(),))]
    wait = _throttle().wait(checks)
    if wait:
        return render('auth/register.html', status=429, values={'username': username},
                      errors=_too_many(wait, 'sign-ups from this address'), **page)
    _throttle().failed(checks)
    errors = {}
    error = forms.username_error(username)
    if error:
        errors['username'] = error
    elif people.username_taken(username):
        errors['username'] = accounts.USERNAME_TAKEN
    error = forms.password_error(password)
    if error:
        errors['password'] = error
    elif password != confirm:
        errors['password_confirm'] = forms.PASSWORDS_DIFFER
    user = None
    if not errors:
        role = invitation.role if invitation else site_settings.current().default_role
        try:
            user = accounts.create_user(username, password, last_login_at=utcnow(), role=role,
                                        after=_spend(invitation))
        except accounts.Refused:
            _invitation(token)  # used or expired a moment ago: that page says so
        if user is None:
            errors['username'] = accounts.USERNAME_TAKEN
    if errors:
        return render('auth/register.html', status=422,
                      values={'username': username}, errors=errors, **page)
    sessions.sign_in(user)
    see_other(url('home', notice='welcome'))


def _spend(invitation):
    # create_user's `after` step: the invitation is used by the new account, in the
    # transaction that makes it, or the account is not made.
    def spend(user):
        if invitation is not None and not invitations.use(invitation.id, user.id):
            raise accounts.Refused()
    return spend


def login():
    """GET: the sign-in form. POST: check the password in SQL and sign in."""
    next_path = forms.safe_next(forms.field('next') or forms.query('next'))
    if request.method == 'GET':
        return render('auth/login.html', values={'next': next_path}, errors={})

    username = forms.normalize_username(forms.field('username'))
    password = forms.field('password')
    values = {'username': username, 'next': next_path}
    # An editor's fields, carried through this sign-in by the page that kept them
    # when the session had ended (blog.rescue).
    carried = rescue.sent_fields(rescue.PREFIX)
    # No username is longer than 30 characters: a longer one is counted by its
    # start, so a megabyte of name is not hashed into every key.
    throttle_key = username[:31]
    wait = _throttle().sign_in_wait(throttle_key, _client_address())
    if wait:
        errors = _too_many(wait, 'failed sign-ins')
        if carried:
            return rescue.ended_page(carried, next_path, errors=errors, status=429)
        return render('auth/login.html', status=429, values=values, errors=errors)

    user = accounts.authenticate(username, password)
    if user is None or not user.is_active:
        _throttle().sign_in_failed(throttle_key, _client_address())
        if carried:
            return rescue.ended_page(carried, next_path, errors={'form': SIGN_IN_FAILED},
                                     status=422)
        return render('auth/login.html', status=422, values=values,
                      errors={'form': SIGN_IN_FAILED})

    _throttle().sign_in_succeeded(throttle_key, _client_address())
    accounts.signed_in(user, password)
    sessions.sign_in(user)
    if carried:
        return rescue.editor_page(carried, next_path, 'resumed', 200)
    see_other(next_path)


@sessions.login_required
def logout():
    """POST: end this session."""
    sessions.sign_out()
    see_other(url('home', notice='signed-out'))


@sessions.login_required
def change_password():
    """GET: the form. POST: check the current password, store the new hash."""
    user = sessions.current_user()
    if request.method == 'GET':
        return render('auth/password.html', errors={})

    current = forms.field('current_password')
    new = forms.field('new_password')
    confirm = forms.field('new_password_confirm')
    # Like sign-in: a stolen session must not become a way to guess the password.
    checks = [(PASSWORD_SCOPE, (user.id, _client_address())), (PASSWORD_USER, (user.id,))]
    wait = _throttle().wait(checks)
    if wait:
        return render('auth/password.html', status=429,
                      errors=_too_many(wait, 'wrong current passwords'))
    errors = {}
    if not accounts.password_is(user, current):
        _throttle().failed(checks)
        errors['current_password'] = WRONG_CURRENT
    error = forms.password_error(new)
    if error:
        errors['new_password'] = error
    elif new != confirm:
        errors['new_password_confirm'] = forms.PASSWORDS_DIFFER
    if errors:
        return render('auth/password.html', status=422, errors=errors)

    accounts.set_password(user.id, new, keep_session=sessions.current_session().token_hash)
    see_other(url('password', notice='password-changed'))


def install(app):
    """Add this module's routes to `app`."""
    app.route('/register', ['GET', 'POST'], register, name='register')
    app.route('/login', ['GET', 'POST'], login, name='login', large_body=True)
    app.route('/logout', 'POST', logout, name='logout')
    app.route('/settings/password', ['GET', 'POST'], change_password, name='password')
