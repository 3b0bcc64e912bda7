"""First run: on a site with no active admin, `serve` prints a one-time link,
`/setup?token=...`, that lets whoever holds it make the first admin in the browser.

The token is made when the app is built (`start()`, from create_app), lives only in
that process's memory, and is compared in constant time. The page is a 404 for a
wrong token and once any active admin exists. (An empty site's homepage does say
that it has no admin yet, so that its owner knows what to do; the token stays
secret.) Making the admin checks again, in the transaction that
makes the account, that no other admin appeared meanwhile (`create-admin` at the
command line, or a second browser): two racing setups make one admin.
"""

import hmac
import secrets

from bottle import HTTPError, request

from blog import accounts, forms, roles, sessions
from blog.db import db
from blog.models import utcnow
from blog.queries import people
from blog.render import render
from blog.responses import see_other
from blog.site import current_site
from blog.urls import build, url

TAKEN = 'An admin was made a moment ago (in another window, or at the command line).'


def start(site):
    """Give `site` a setup token when it has no active admin (else None)."""
    with site.activated(), db.connection_context():
        site.setup_token = None if people.any_active_admin() else (
            secrets.token_urlsafe(24))


def setup_link(site):
    """The link `serve` prints, or None when the site has an admin."""
    if site.setup_token is None:
        return None
    return site.config.site_url + build(site.app.router, 'setup', {'token': site.setup_token})


def _check(token):
    site = current_site()
    expected = site.setup_token
    if expected is None or not hmac.compare_digest(token.encode(), expected.encode()):
        raise HTTPError(404, 'There is nothing here.')
    if people.any_active_admin():
        site.setup_token = None  # an admin was made some other way: the link is dead
        raise HTTPError(404, 'There is nothing here.')


def setup():
    """GET: the form for the first admin. POST: make them, sign them in, and go to
    the site settings."""
    token = (forms.query if request.method == 'GET' else forms.field)('token')
    _check(token)
    if request.method == 'GET':
        return render('first_run/setup.html', values={}, errors={}, token=token)
    username = forms.normalize_username(forms.field('username'))
    password = forms.field('password')
    errors = {}
    error = forms.username_error(username)
    if error:
        errors['username'] = error
    error = forms.password_error(password)
    if error:
        errors['password'] = error
    elif password != forms.field('password_confirm'):
        errors['password_confirm'] = forms.PASSWORDS_DIFFER
    user = None
    if not errors:
        try:
            user = accounts.create_user(username, password, role=roles.ADMIN,
                                        last_login_at=utcnow(), after=_only_admin)
        except accounts.Refused:
            errors['form'] = TAKEN
        else:
            if user is None:
                errors['username'] = accounts.USERNAME_TAKEN
    if errors:
        return render('first_run/setup.html', status=422, values={'username': username},
                      errors=errors, token=token)
    current_site().setup_token = None
    sessions.sign_in(user)
    see_other(url('admin_settings', notice='welcome-admin'))


def _only_admin(user):
    # create_user's `after` step: no other active admin may exist by now.
    if people.other_active_admins(user.id).exists():
        raise accounts.Refused()


def install(app):
    """Add this module's routes to `app`."""
    app.route('/setup', ['GET', 'POST'], setup, name='setup')
