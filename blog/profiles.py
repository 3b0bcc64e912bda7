"""The profile form that both profile editors share (/settings for your own,
/admin/users/<name> for an admin), and its optimistic save.

`save_user()` runs one write transaction: it reads the saved row, decides
UNCHANGED, CONFLICT or INVALID (form errors), and otherwise writes with
`save_optimistic()`, whose UPDATE carries the version.
"""

from bottle import request
from peewee import IntegrityError

from blog import email_links, forms, merging
from blog.conflicts import Field, render_conflict
from blog.db import write_transaction
from blog.queries import people
from blog.versioning import (
    CONFLICT,
    INVALID,
    MISSING,
    SAVED,
    ConflictDetectedException,
    SaveResult,
)

DISPLAY_NAME_MAX = 80
BIO_MAX = 2000

PROFILE_FIELDS = (
    Field('display_name', 'Display name'),
    Field('email', 'Email'),
    Field('bio', 'Bio', 'textarea'),
)
EMAIL_TAKEN = 'That email address belongs to another account.'


BASE = 'base:'  # hidden copies of the values a profile form was loaded with
FLAGS = ('is_active',)


def read_profile(prefix=''):
    """display_name, email and bio from the form, tidied as they are stored.

    Textareas arrive with CRLF line ends; storing LF keeps a resubmitted,
    untouched bio equal to the saved one. An empty email is stored as NULL.
    """
    bio = forms.field(prefix + 'bio').replace('\r\n', '\n').replace('\r', '\n').strip()
    return {
        'display_name': ' '.join(forms.field(prefix + 'display_name').split()),
        'email': forms.field(prefix + 'email').strip() or None,
        'bio': bio,
    }


def read_base(names):
    """The values the form was loaded with (its hidden base:NAME fields), tidied as
    the fields are; None when the form did not send them all."""
    if any(BASE + name not in request.forms for name in names):
        return None
    values = read_profile(BASE)
    for name in FLAGS:
        values[name] = forms.field(BASE + name) == '1'
    values['role'] = forms.field(BASE + 'role').strip()
    return {name: values[name] for name in names}


def base_values(values):
    """Values as the hidden base:NAME fields carry them (flags as '1' or '')."""
    return {name: ('1' if value else '') if name in FLAGS else (value or '')
            for name, value in values.items()}


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


def save_user(user_id, version, values, actor, check=None, after=None, base=None):
    """Save `values` onto user `user_id` if its row is still at `version`: a SaveResult.

    All in one write transaction: nothing different from the saved row is
    UNCHANGED whatever the version; a stale version is merged field by field
    from `base` (the values the form was loaded with: a field only one side
    changed takes that side's value) and saved, with `merge` set, or is a
    CONFLICT when a field was changed on both sides (or there is no base); `check(user,
    changes)` may return form errors (INVALID); `after(user, changes)` runs after
    the UPDATE in the same transaction (audit trail, ending sessions). MISSING when
    the user is gone. A unique-index failure on email is INVALID too.
    """
    try:
        with write_transaction():
            user = people.user_by_id(user_id)
            if user is None:
                return SaveResult(MISSING)
            outcome, changes, merge = merging.form_changes(user, version, values, base)
            if outcome is not None:
                return SaveResult(outcome, user, merge=merge)
            version = user.version
            errors = {}
            email = changes.get('email', (None, None))[1]
            if email and people.email_taken(email, user.id).exists():
                errors['email'] = EMAIL_TAKEN
            if check is not None:
                errors.update(check(user, changes))
            if errors:
                return SaveResult(INVALID, user, errors=errors)
            for name, (_, new) in changes.items():
                setattr(user, name, new)
            if 'email' in changes:
                user.email_confirmed_at = None  # a new address is not confirmed yet
            user.updated_by = actor.id
            user.version = version
            user.save_optimistic()  # the UPDATE checks the version itself
            if after is not None:
                after(user, changes)
            result = SaveResult(SAVED, user, changes, merge=merge)
        if user.email and 'email' in changes:
            # After the transaction: the mail's link must find the row committed.
            email_links.send_confirmation(user, user.email)
        return result
    except ConflictDetectedException:
        # Cannot happen while the transaction holds the write lock, but if the
        # row moved on anyway, the user gets the conflict page, not an error.
        return SaveResult(CONFLICT, people.user_by_id(user_id) or user)
    except IntegrityError:
        # Another save took this email between our check and the UPDATE:
        # the unique index decides, and this form says so.
        return SaveResult(INVALID, None, errors={'email': EMAIL_TAKEN})


def conflict_page(result, fields, mine, heading, action, discard_url):
    """The shared 409 page for a profile save that lost the race."""
    user = result.row
    saved_by = user.updated_by.name if user.updated_by_id else 'Someone'
    names = [field.name for field in fields]
    return render_conflict(heading=heading, fields=fields,
                           saved=saved_values(user, names), mine=form_values(mine),
                           saved_by=saved_by, saved_at=user.updated_at,
                           version=user.version, action=action, discard_url=discard_url)
