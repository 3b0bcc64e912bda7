"""The admin area: /admin/users (every user), /admin/users/<username> (edit one)
and /admin/settings (the site's settings, blog.site_settings).

Edits use the same optimistic save and 409 page as /settings (blog.profiles).
Inside that save's IMMEDIATE transaction: the last-admin guard counts the other
active admins (so two admins demoting each other at once cannot both succeed),
deactivation ends the user's sessions, and an audit entry records the change.
"""

import json

from bottle import HTTPError, request

from blog import accounts, email_links, forms, invitations, roles, sessions, site_settings
from blog.conflicts import Field, render_conflict
from blog.db import write_transaction
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
from blog.queries import people, site
from blog.render import render
from blog.responses import see_other
from blog.site import current_site
from blog.urls import absolute_url, url
from blog.versioning import CONFLICT, MISSING, SAVED, UNCHANGED

PER_PAGE = 50
FILTER_MAX = 100
ROLE_LABELS = tuple((role, roles.LABELS[role]) for role in roles.ROLES)
CHOOSE_ROLE = 'Choose contributor, author, editor or admin.'
USER_FIELDS = PROFILE_FIELDS + (
    Field('role', 'Role', 'select', ROLE_LABELS),
    Field('is_active', 'Active (can sign in)', 'checkbox'),
)
LABELS = dict({field.name: field.label for field in USER_FIELDS},
              is_admin='Administrator',  # audit entries from before roles
              reset_link='Password reset link')
BASE_PREFIX = 'base:'
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
    """The admin form's values: the profile fields, the role and the active flag."""
    values = read_profile()
    values['role'] = forms.field('role').strip()
    values['is_active'] = forms.checkbox('is_active')
    return values


def role_errors(values):
    """A message beside the role select when it names no role."""
    if values['role'] not in roles.ROLES:
        return {'role': CHOOSE_ROLE}
    return {}


def last_admin_guard(user, changes):
    """Form errors when this change would leave no active admin (else {}).

    Runs inside the save's IMMEDIATE transaction, so the count of other active
    admins cannot change before the UPDATE commits.
    """
    was_admin = user.role == roles.ADMIN and user.is_active
    is_admin = changes.get('role', (None, user.role))[1] == roles.ADMIN
    is_active = changes.get('is_active', (None, user.is_active))[1]
    if not was_admin or (is_admin and is_active):
        return {}
    if people.other_active_admins(user.id).exists():
        return {}
    message = LAST_ADMIN % user.username
    field = 'role' if not is_admin else 'is_active'
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
    if name in ('is_active', 'is_admin'):
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


def _page(user, values, version, errors, status=200, base=None, reset_link=None):
    return render('admin/user.html', status=status, user=user, values=values,
                  version=version, errors=errors, trail=trail(user), reset_link=reset_link,
                  mail_configured=current_site().mailer.target is not None,
                  base=base_values(base or values), role_choices=ROLE_LABELS,
                  post_count=people.user_post_count(user.id).scalar())


@sessions.admin_required
def edit_user(username):
    """GET: an admin's form for one user, with the audit trail. POST: save it."""
    user = _find(username)
    names = [field.name for field in USER_FIELDS]
    if request.method == 'GET':
        return _page(user, saved_values(user, names), user.version, {},
                     reset_link=_held_reset_link(user))

    version = forms.read_version()
    values = read_user_form()
    base = read_base(names)
    errors = dict(profile_errors(values), **role_errors(values))
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
            if user.id == actor.id and not (values['role'] == roles.ADMIN
                                            and values['is_active']):
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


MODE_LABELS = {'open': 'Anyone', 'invite': 'Only with an invitation', 'closed': 'Nobody'}
REGISTRATION_CHOICES = tuple((mode, MODE_LABELS[mode])
                             for mode in site_settings.REGISTRATION_MODES)
ROLE_CHOICES = tuple((role, roles.LABELS[role]) for role in site_settings.DEFAULT_ROLES)
SETTINGS_FIELDS = (
    Field('site_name', 'Site name'),
    Field('site_description', 'Description'),
    Field('registration', 'Who may register', 'select', REGISTRATION_CHOICES),
    Field('default_role', 'Role of new accounts', 'select', ROLE_CHOICES),
    Field('timezone', 'Time zone'),
    Field('require_2fa', 'Second factor required', 'checkbox'),
    Field('media_quota', 'Image space per person (MiB)'),
)


def read_settings_form(row, prefix=''):
    """The settings form's values (or, with prefix 'base:', the ones it was loaded
    with; None when those were not all sent). A form from before the image quota
    (an outside tool) keeps the quota `row` has."""
    keys = [key for key in site_settings.KEYS
            if key != 'media_quota' or 'media_quota' in request.forms]
    if prefix and any(prefix + key not in request.forms for key in keys):
        return None
    values = site_settings.tidy({key: forms.field(prefix + key, None) or '' for key in keys
                                 if key != 'require_2fa'})
    values.setdefault('media_quota', row.media_quota)
    values['require_2fa'] = (forms.field(prefix + 'require_2fa') == '1' if prefix
                             else forms.checkbox('require_2fa'))
    return values


def _settings_page(row, values, version, errors, status=200, base=None):
    base = base or values
    return render('admin/settings.html', status=status, values=values, version=version,
                  errors=errors, registration_choices=REGISTRATION_CHOICES,
                  role_choices=ROLE_CHOICES,
                  base={key: ('1' if value else '') if key == 'require_2fa' else str(value)
                        for key, value in base.items()},
                  limits={'name': site_settings.NAME_MAX,
                          'description': site_settings.DESCRIPTION_MAX},
                  saved_by=_saved_by(row) if row.version > 1 else None,
                  saved_at=row.updated_at)


def _saved_by(row):
    return row.updated_by.name if row.updated_by_id else 'someone at the command line'


@sessions.allowed('site_settings', 'Only admins change the site settings.')
def edit_settings():
    """GET: the site settings form. POST: save it (optimistic, merged, or 409)."""
    row = site.settings_row()
    if request.method == 'GET':
        saved = {key: getattr(row, key) for key in site_settings.KEYS}
        return _settings_page(row, saved, row.version, {})
    version = forms.read_version()
    values = read_settings_form(row)
    base = read_settings_form(row, BASE_PREFIX)
    errors = site_settings.errors(values)
    if not errors:
        result = site_settings.save(version, values, sessions.current_user().id, base)
        if result.outcome == UNCHANGED:
            see_other(url('admin_settings', notice='unchanged'))
        if result.outcome == SAVED:
            see_other(url('admin_settings',
                          notice='settings-merged' if result.merge else 'saved'))
        now = result.row
        return render_conflict(
            heading='the site settings', fields=SETTINGS_FIELDS,
            saved={key: getattr(now, key) for key in site_settings.KEYS}, mine=values,
            saved_by=_saved_by(now), saved_at=now.updated_at, version=now.version,
            action=url('admin_settings'), discard_url=url('admin_settings', notice='discarded'))
    return _settings_page(row, values, version, errors, status=422, base=base)


def _held_reset_link(user):
    # A reset link made by POST .../reset, shown once to the admin who made it.
    if forms.query('reset') != 'shown':
        return None
    token = invitations.take_link(current_site(), 'reset-%d' % user.id,
                                  sessions.current_session())
    return absolute_url('password_reset', token=token) if token else None


@sessions.admin_required
def send_reset(username):
    """POST: a password reset link for the user: mailed to their confirmed address
    when the site has a mail server, else shown once on their page (both audited)."""
    user = _find(username)
    if not user.is_active:
        raise HTTPError(409, '%s is deactivated: activate them first, or the link will not '
                             'work.' % user.username)
    token, mailed = email_links.admin_reset(user, sessions.current_user())
    if mailed:
        see_other(url('admin_user', username=user.username, notice='reset-mailed'))
    invitations.hold_link(current_site(), 'reset-%d' % user.id, sessions.current_session(),
                          token)
    see_other(url('admin_user', username=user.username, reset='shown'))


INVITATIONS_PER_PAGE = 50


@sessions.allowed('invite', 'Only admins make invitations.')
def invitation_list():
    """GET: make an invitation (role, optional email) and see the ones made.
    POST: make one; 303 back to this page, which shows its link once. POST with
    `action=withdraw` and `invitation` (an id): withdraw an unused one."""
    values, errors = {'role': roles.AUTHOR, 'email': ''}, {}
    if request.method == 'POST' and forms.field('action') == 'withdraw':
        return _withdraw()
    if request.method == 'POST':
        values = {'role': forms.field('role').strip(), 'email': forms.field('email').strip()}
        if values['role'] not in roles.ROLES:
            errors['role'] = CHOOSE_ROLE
        error = forms.email_error(values['email'])
        if error:
            errors['email'] = error
        if not errors:
            with write_transaction():
                row, token = invitations.make(values['role'], values['email'],
                                              sessions.current_user().id)
            invitations.hold_link(current_site(), row.id, sessions.current_session(), token)
            if row.email:
                invitations.mail_link(row, token, sessions.current_user())
            see_other(url('admin_invitations', made=row.id))
    page = forms.page_number()
    rows = list(people.invitation_list(INVITATIONS_PER_PAGE + 1,
                                       (page - 1) * INVITATIONS_PER_PAGE))
    if page > 1 and not rows:
        raise HTTPError(404, 'No such page.')
    made = forms.query('made')
    token = invitations.take_link(current_site(), made, sessions.current_session())
    made_row = invitations.check(token)[0] if token else None
    link = absolute_url('register', invite=token) if made_row else None
    return render('admin/invitations.html', status=422 if errors else 200, values=values,
                  errors=errors, role_choices=ROLE_LABELS, link=link, made=made_row,
                  link_gone=bool(made) and link is None,
                  invitations=[(row, invitations.state(row))
                               for row in rows[:INVITATIONS_PER_PAGE]],
                  page=page, has_next=len(rows) > INVITATIONS_PER_PAGE,
                  valid_days=invitations.VALID_DAYS,
                  mail_configured=current_site().mailer.target is not None)


def _withdraw():
    # 303 back with a notice; 404 for no such invitation, 409 when it was used first.
    invitation_id = forms.field('invitation').strip()
    if not invitation_id.isdigit() or len(invitation_id) > 18:
        raise HTTPError(404, 'There is no such invitation.')
    with write_transaction():
        done = invitations.withdraw(int(invitation_id))
        row = None if done else people.invitation_by_id(int(invitation_id))
    if not done and row is None:
        raise HTTPError(404, 'There is no such invitation.')
    if not done:
        raise HTTPError(409, 'That invitation was used (or withdrawn) before you '
                             'withdrew it: reload the list to see who used it.')
    see_other(url('admin_invitations', notice='withdrawn'))


def install(app):
    """Add this module's routes to `app`."""
    app.route('/admin/users', 'GET', user_list, name='admin_users')
    app.route('/admin/users/<username>', ['GET', 'POST'], edit_user, name='admin_user',
              editor=True)
    app.route('/admin/users/<username>/reset', 'POST', send_reset, name='admin_user_reset')
    app.route('/admin/settings', ['GET', 'POST'], edit_settings, name='admin_settings',
              editor=True)
    app.route('/admin/invitations', ['GET', 'POST'], invitation_list,
              name='admin_invitations')
