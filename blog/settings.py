"""/settings: your own profile, saved optimistically (see blog.profiles), and the
state of its email address (a changed address is mailed a confirmation link;
/settings/email/confirm sends it again)."""

from bottle import HTTPError, request

from blog import email_links, forms, sessions
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
from blog.render import render
from blog.responses import see_other
from blog.urls import url
from blog.versioning import CONFLICT, MISSING, SAVED, UNCHANGED


@sessions.login_required
def settings():
    """GET: your profile form. POST: save it (optimistically)."""
    user = sessions.current_user()
    names = [field.name for field in PROFILE_FIELDS]
    if request.method == 'GET':
        saved = saved_values(user, names)
        return render('settings/profile.html', user=user, values=saved,
                      version=user.version, errors={}, base=base_values(saved))

    version = forms.read_version()
    values = read_profile()
    base = read_base(names)
    errors = profile_errors(values)
    if not errors:
        result = save_user(user.id, version, values, actor=user, base=base)
        if result.outcome == MISSING:
            raise HTTPError(404, 'No such user.')
        if result.outcome == SAVED and result.merge:
            see_other(url('settings', notice='profile-merged'))
        if result.outcome in (SAVED, UNCHANGED):
            see_other(url('settings', notice=result.outcome))
        if result.outcome == CONFLICT:
            return conflict_page(result, PROFILE_FIELDS, values, 'your profile',
                                 url('settings'), url('settings', notice='discarded'))
        errors = result.errors
    return render('settings/profile.html', status=422, user=user,
                  values=form_values(values), version=version, errors=errors,
                  base=base_values(base or form_values(values)))


@sessions.login_required
def resend_confirmation():
    """POST: mail the confirmation link of your address again; 303 to /settings."""
    user = sessions.current_user()
    if not user.email or user.email_confirmed_at is not None:
        see_other(url('settings'))
    email_links.send_confirmation(user, user.email)
    see_other(url('settings', notice='confirmation-sent'))


def install(app):
    """Add this module's routes to `app`."""
    app.route('/settings', ['GET', 'POST'], settings, name='settings', editor=True)
    app.route('/settings/email/confirm', 'POST', resend_confirmation, name='email_resend')
