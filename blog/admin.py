"""The admin area: /admin/users (every user) and /admin/users/<username> (edit one).

Edits use the same optimistic save and 409 page as /settings (blog.profiles).
Inside that save's IMMEDIATE transaction: the last-admin guard counts the other
active admins (so two admins demoting each other at once cannot both succeed),
deactivation ends the user's sessions, and an audit entry records the change.
"""

import json

from bottle import HTTPError, request

from blog import accounts, forms, sessions
from blog.conflicts import Field
from blog.profiles import (
    PROFILE_FIELDS,
    base_values,
    conflict_page,
    form_values,
    profile_errors,
    read_base,
    read_profile,
    save_user,
    saved_values,
)
from blog.queries import people
from blog.render import render
from blog.responses import see_other
from blog.urls import url
from blog.versioning import CONFLICT, MISSING, SAVED, UNCHANGED

PER_PAGE = 50
FILTER_MAX = 100
USER_FIELDS = PROFILE_FIELDS + (
    Field('is_admin', 'Administrator', 'checkbox'),
    Field('is_active', 'Active (can sign in)', 'checkbox'),
)
LABELS = {field.name: field.label for field in USER_FIELDS}
LAST_ADMIN = ('%s is the last active administrator. Make another user an active admin '
              'first, so that someone can still manage this site.')


@sessions.admin_required
def user_list():
    """GET /admin/users: every user, 50 a page, filtered by ?q= (name)."""
    page = forms.page_number()
    name_filter = forms.query('q').strip()[:FILTER_MAX]
    rows = list(people.admin_user_list(name_filter)
                .limit(PER_PAGE + 1)
                .offset((page - 1) * PER_PAGE))
    if page > 1 and not rows:
        raise HTTPError(404, 'No such page.')
    return render('admin/users.html', users=rows[:PER_PAGE], page=page,
                  has_next=len(rows) > PER_PAGE, q=name_filter)


def _find(username):
    user = None
    if len(username) <= 30:
        user = people.user_named(username)
    if user is None:
        raise HTTPError(404, 'No such user.')
    return user


def read_user_form():
    """The admin form's values: the profile fields and the two checkboxes."""
    values = read_profile()
    values['is_admin'] = forms.checkbox('is_admin')
    values['is_active'] = forms.checkbox('is_active')
    return values


def last_admin_guard(user, changes):
    """Form errors when this change would leave no active admin (else {}).

    Runs inside the save's IMMEDIATE transaction, so the count of other active
    admins cannot change before the UPDATE commits.
    """
    was_admin = user.is_admin and user.is_active
    is_admin = changes.get('is_admin', (None, user.is_admin))[1]
    is_active = changes.get('is_active', (None, user.is_active))[1]
    if not was_admin or (is_admin and is_active):
        return {}
    if people.other_active_admins(user.id).exists():
        return {}
    message = LAST_ADMIN % user.username
    field = 'is_admin' if not is_admin else 'is_active'
    return {field: message, 'form': message}


def audit_and_sign_out(actor):
    """The `after` step of an admin save: audit entry, and end sessions on deactivation."""
    def after(user, changes):
        people.add_audit_entry(user.id, actor.id,
                               json.dumps({name: [old, new] for name, (old, new)
                                           in sorted(changes.items())}, ensure_ascii=False))
        if changes.get('is_active') == (True, False):
            accounts.end_sessions(user.id)
    return after


def _shown(name, value):
    if name in ('is_admin', 'is_active'):
        return 'yes' if value else 'no'
    if value is None or value == '':
        return '(empty)'
    return str(value)


def trail(user):
    """The user's audit entries as rows for the page, newest first."""
    rows = []
    for entry in people.audit_trail(user.id):
        try:
            changes = json.loads(entry.changes)
        except ValueError:
            changes = {}
        rows.append({
            'actor': entry.actor.username if entry.actor_id else 'a deleted user',
            'at': entry.at,
            'changes': [(LABELS.get(name, name), _shown(name, pair[0]), _shown(name, pair[1]))
                        for name, pair in changes.items()
                        if name != 'password' and isinstance(pair, list) and len(pair) == 2],
        })
    return rows


def _page(user, values, version, errors, status=200, base=None):
    return render('admin/user.html', status=status, user=user, values=values,
                  version=version, errors=errors, trail=trail(user),
                  base=base_values(base or values),
                  post_count=people.user_post_count(user.id).scalar())


@sessions.admin_required
def edit_user(username):
    """GET: an admin's form for one user, with the audit trail. POST: save it."""
    user = _find(username)
    names = [field.name for field in USER_FIELDS]
    if request.method == 'GET':
        return _page(user, saved_values(user, names), user.version, {})

    version = forms.read_version()
    values = read_user_form()
    base = read_base(names)
    errors = profile_errors(values)
    if not errors:
        actor = sessions.current_user()
        result = save_user(user.id, version, values, actor=actor,
                           check=last_admin_guard, after=audit_and_sign_out(actor),
                           base=base)
        here = url('admin_user', username=user.username)
        if result.outcome == MISSING:
            raise HTTPError(404, 'No such user.')
        if result.outcome == UNCHANGED:
            see_other(url('admin_user', username=user.username, notice='unchanged'))
        if result.outcome == SAVED:
            if user.id == actor.id and not (values['is_admin'] and values['is_active']):
                # They demoted or deactivated themselves: this page is no longer theirs.
                see_other(url('settings', notice='saved') if values['is_active']
                          else url('home'))
            see_other(url('admin_user', username=user.username,
                          notice='profile-merged' if result.merge else 'saved'))
        if result.outcome == CONFLICT:
            return conflict_page(result, USER_FIELDS, values,
                                 'the profile of %s' % user.username, here,
                                 url('admin_user', username=user.username, notice='discarded'))
        errors = result.errors
    return _page(user, form_values(values), version, errors, status=422, base=base)


def install(app):
    """Add this module's routes to `app`."""
    app.route('/admin/users', 'GET', user_list, name='admin_users')
    app.route('/admin/users/<username>', ['GET', 'POST'], edit_user, name='admin_user',
              editor=True)
