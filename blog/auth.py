"""Accounts: register, sign in, sign out, change password.

Passwords are hashed and checked *in SQL* by the `make_password` and
`check_password` functions registered on the database (see blog.db). Hashing is
done with a SELECT before any write transaction starts, so a slow hash never holds
SQLite's write lock.
"""

from bottle import request, response
from peewee import IntegrityError, fn

from blog import db as database
from blog import forms, passwords, sessions
from blog.db import write_transaction
from blog.models import User, utcnow
from blog.render import render
from blog.responses import see_other
from blog.site import current_site

SIGN_IN_FAILED = 'That username and password do not match an active account.'
WRONG_CURRENT = 'That is not your current password.'


def _throttle():
    return current_site().throttle


def _client_address():
    return request.environ.get('REMOTE_ADDR') or 'unknown'


def register():
    """GET: the sign-up form. POST: create the account and sign in."""
    if request.method == 'GET':
        if sessions.current_user() is not None:
            see_other('/')
        return render('auth/register.html', values={}, errors={})

    username = forms.normalize_username(forms.field('username'))
    password = forms.field('password')
    confirm = forms.field('password_confirm')
    errors = {}
    error = forms.username_error(username)
    if error:
        errors['username'] = error
    elif User.select().where(User.username == username).exists():
        errors['username'] = 'That username is taken. Please choose another.'
    error = forms.password_error(password)
    if error:
        errors['password'] = error
    elif password != confirm:
        errors['password_confirm'] = forms.PASSWORDS_DIFFER
    if not errors:
        encoded = database.hash_password(password)  # outside the write transaction
        try:
            with write_transaction():
                user = User.create(username=username, password=encoded,
                                   last_login_at=utcnow())
        except IntegrityError:
            # Someone registered the same name between our check and the insert:
            # the unique index decides, and the loser gets a form error.
            errors['username'] = 'That username is taken. Please choose another.'
    if errors:
        return render('auth/register.html', status=422,
                      values={'username': username}, errors=errors)
    sessions.sign_in(user)
    see_other('/?notice=welcome')


def login():
    """GET: the sign-in form. POST: check the password in SQL and sign in."""
    next_path = forms.safe_next(forms.field('next') or forms.query('next'))
    if request.method == 'GET':
        return render('auth/login.html', values={'next': next_path}, errors={})

    username = forms.normalize_username(forms.field('username'))
    password = forms.field('password')
    values = {'username': username, 'next': next_path}
    # No username is longer than 30 characters: a longer one is counted by its
    # start, so a megabyte of name cannot sit in the throttle's memory.
    throttle_key = username[:31]
    wait = _throttle().retry_after(throttle_key, _client_address())
    if wait:
        response.set_header('Retry-After', str(wait))
        return render('auth/login.html', status=429, values=values, errors={
            'form': 'Too many failed sign-ins. Try again in %d minutes.' % (wait // 60 + 1)})

    user = None
    if len(password) <= forms.PASSWORD_MAX:
        user = (User
                .select()
                .where((User.username == username) &
                       fn.check_password(password, User.password))
                .first())
        if user is None:
            stored = (User
                      .select(User.password)
                      .where(User.username == username)
                      .scalar())
            if passwords.parse(stored) is None:
                # No hash was computed (unknown name, or an account that cannot sign
                # in, such as an imported author): spend the same time anyway.
                database.burn_check(password)
    if user is None or not user.is_active:
        _throttle().failed(throttle_key, _client_address())
        return render('auth/login.html', status=422, values=values,
                      errors={'form': SIGN_IN_FAILED})

    _throttle().succeeded(throttle_key)
    User.update(last_login_at=utcnow()).where(User.id == user.id).execute()
    if database.needs_rehash(user.password):
        # Only over the hash just checked: a password set meanwhile (the user's own
        # change, `run.py set-password`) is never replaced by the old one.
        (User
         .update(password=database.hash_password(password))
         .where((User.id == user.id) & (User.password == user.password))
         .execute())
    sessions.sign_in(user)
    see_other(next_path)


@sessions.login_required
def logout():
    """POST: end this session."""
    sessions.sign_out()
    see_other('/?notice=signed-out')


@sessions.login_required
def change_password():
    """GET: the form. POST: check the current password, store the new hash."""
    user = sessions.current_user()
    if request.method == 'GET':
        return render('auth/password.html', errors={})

    current = forms.field('current_password')
    new = forms.field('new_password')
    confirm = forms.field('new_password_confirm')
    errors = {}
    matches = (len(current) <= forms.PASSWORD_MAX and User
               .select()
               .where((User.id == user.id) & fn.check_password(current, User.password))
               .exists())
    if not matches:
        errors['current_password'] = WRONG_CURRENT
    error = forms.password_error(new)
    if error:
        errors['new_password'] = error
    elif new != confirm:
        errors['new_password_confirm'] = forms.PASSWORDS_DIFFER
    if errors:
        return render('auth/password.html', status=422, errors=errors)

    encoded = database.hash_password(new)
    with write_transaction():
        User.update(password=encoded, updated_at=utcnow()).where(User.id == user.id).execute()
        sessions.end_sessions(user, keep_current=True)
    see_other('/settings/password?notice=password-changed')


def install(app):
    """Add this module's routes to `app`."""
    app.route('/register', ['GET', 'POST'], register)
    app.route('/login', ['GET', 'POST'], login)
    app.route('/logout', 'POST', logout)
    app.route('/settings/password', ['GET', 'POST'], change_password)
