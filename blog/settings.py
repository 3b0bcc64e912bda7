"""Profiles: /settings (your own), and the optimistic save both profile editors use.

`save_user()` is shared with blog.admin: one IMMEDIATE transaction reads the
saved row, decides "unchanged" (303), "conflict" (409) or a form error (422), and
otherwise writes with `save_optimistic()`, whose UPDATE carries the version.
"""

from bottle import HTTPError, request
from peewee import IntegrityError

from blog import forms, queries, sessions
from blog.conflicts import Field, render_conflict
from blog.db import write_transaction
from blog.models import User
from blog.render import render
from blog.responses import see_other
from blog.versioning import ConflictDetectedException

DISPLAY_NAME_MAX = 80
BIO_MAX = 2000
VERSION_MAX_DIGITS = 18  # SQLite integers are 64-bit; longer is never a real version

PROFILE_FIELDS = (
    Field('display_name', 'Display name'),
    Field('email', 'Email'),
    Field('bio', 'Bio', 'textarea'),
)
EMAIL_TAKEN = 'That email address belongs to another account.'


def read_version():
    """The hidden `version` field as an int; a missing or odd one is a 400."""
    raw = forms.field('version').strip()
    if not raw.isdigit() or not raw.isascii() or len(raw) > VERSION_MAX_DIGITS:
        raise HTTPError(400, 'The form is incomplete (its version is missing). '
                             'Reload the page and try again.')
    return int(raw)


def read_profile():
    """display_name, email and bio from the form, tidied as they are stored.

    Textareas arrive with CRLF line ends; storing LF keeps a resubmitted,
    untouched bio equal to the saved one. An empty email is stored as NULL.
    """
    bio = forms.field('bio').replace('\r\n', '\n').replace('\r', '\n').strip()
    return {
        'display_name': ' '.join(forms.field('display_name').split()),
        'email': forms.field('email').strip() or None,
        'bio': bio,
    }


def profile_errors(values):
    """Per-field messages for display_name, email and bio (shape only)."""
    errors = {}
    checks = [
        ('display_name', forms.length_error(values['display_name'], DISPLAY_NAME_MAX,
                                            'A display name')),
        ('email', forms.email_error(values['email'] or '')),
        ('bio', forms.length_error(values['bio'], BIO_MAX, 'A bio')),
    ]
    for name, error in checks:
        if error:
            errors[name] = error
    return errors


def form_values(values):
    """Values as a form shows them (no email is an empty box)."""
    return dict(values, email=values.get('email') or '')


def saved_values(user, names):
    """The saved row's values for `names`, as a form shows them."""
    return form_values({name: getattr(user, name) for name in names})


class Outcome:
    """What `save_user` did: status is 'saved', 'unchanged', 'conflict' or 'invalid'."""

    def __init__(self, status, user, changes=None, errors=None):
        self.status = status
        self.user = user  # the row as saved (or as found, for a conflict)
        self.changes = changes or {}  # {field: (old, new)}
        self.errors = errors or {}


def save_user(user_id, version, values, actor, check=None, after=None):
    """Save `values` onto user `user_id` if its row is still at `version`.

    All in one IMMEDIATE transaction: nothing different from the saved row is
    'unchanged' whatever the version; a stale version is a 'conflict'; `check(user,
    changes)` may return form errors ('invalid'); `after(user, changes)` runs after
    the UPDATE in the same transaction (audit trail, ending sessions). Raises 404
    when the user is gone. A unique-index failure on email is an 'invalid' too.
    """
    try:
        with write_transaction():
            user = User.get_or_none(User.id == user_id)
            if user is None:
                raise HTTPError(404, 'No such user.')
            changes = {name: (getattr(user, name), value) for name, value in values.items()
                       if getattr(user, name) != value}
            if not changes:
                return Outcome('unchanged', user)
            if user.version != version:
                return Outcome('conflict', user)
            errors = {}
            email = changes.get('email', (None, None))[1]
            if email and queries.email_taken(email, user.id).exists():
                errors['email'] = EMAIL_TAKEN
            if check is not None:
                errors.update(check(user, changes))
            if errors:
                return Outcome('invalid', user, errors=errors)
            for name, (_, new) in changes.items():
                setattr(user, name, new)
            user.updated_by = actor.id
            user.version = version
            user.save_optimistic()  # the UPDATE checks the version itself
            if after is not None:
                after(user, changes)
            return Outcome('saved', user, changes)
    except ConflictDetectedException:
        # Cannot happen while the transaction holds the write lock, but if the
        # row moved on anyway, the user gets the conflict page, not an error.
        return Outcome('conflict', User.get_or_none(User.id == user_id) or user)
    except IntegrityError:
        # Another save took this email between our check and the UPDATE:
        # the unique index decides, and this form says so.
        return Outcome('invalid', None, errors={'email': EMAIL_TAKEN})


def conflict_page(outcome, fields, mine, heading, action, discard_url):
    """The shared 409 page for a profile save that lost the race."""
    user = outcome.user
    saved_by = user.updated_by.name if user.updated_by_id else 'Someone'
    names = [field.name for field in fields]
    return render_conflict(heading=heading, fields=fields,
                           saved=saved_values(user, names), mine=form_values(mine),
                           saved_by=saved_by, saved_at=user.updated_at,
                           version=user.version, action=action, discard_url=discard_url)


@sessions.login_required
def settings():
    """GET: your profile form. POST: save it (optimistically)."""
    user = sessions.current_user()
    names = [field.name for field in PROFILE_FIELDS]
    if request.method == 'GET':
        return render('settings/profile.html', user=user, values=saved_values(user, names),
                      version=user.version, errors={})

    version = read_version()
    values = read_profile()
    errors = profile_errors(values)
    if not errors:
        outcome = save_user(user.id, version, values, actor=user)
        if outcome.status == 'unchanged':
            see_other('/settings?notice=unchanged')
        if outcome.status == 'saved':
            see_other('/settings?notice=saved')
        if outcome.status == 'conflict':
            return conflict_page(outcome, PROFILE_FIELDS, values, 'your profile',
                                 '/settings', '/settings?notice=discarded')
        errors = outcome.errors
    return render('settings/profile.html', status=422, user=user,
                  values=form_values(values), version=version, errors=errors)


def install(app):
    """Add this module's routes to `app`."""
    app.route('/settings', ['GET', 'POST'], settings)
