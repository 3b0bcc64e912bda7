"""Our own Jinja2 environment (autoescape on) and the `render()` helper views use.

Bottle's `jinja2_template` builds an environment without autoescape, so it is not
used anywhere.
"""

import datetime
import os
from urllib.parse import urlencode

from bottle import request, response
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from blog import header, roles, scheduling, sessions, site_settings
from blog.markdown import plain_excerpt
from blog.models import utcnow
from blog.site import current_site
from blog.urls import url

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TEMPLATES_DIR = os.path.join(ROOT, 'templates')

# Notices are chosen by key from this table, so a query string cannot put
# arbitrary text on a page.
NOTICES = {
    'welcome': 'Welcome! Your account is ready.',
    'signed-in': 'You are signed in.',
    'signed-out': 'You are signed out.',
    'password-changed': 'Your password was changed. Other sessions were signed out.',
    'password-reset': 'Your new password is saved, and you are signed in. Every other '
                      'session was signed out.',
    'confirmation-sent': 'A new confirmation link is on its way to your address.',
    'reset-mailed': 'A password reset link is on its way to their confirmed address.',
    'saved': 'Saved.',
    'published': 'Published.',
    'sent-back': 'Sent back to its author as a draft, with your note.',
    'withdrawn': 'The invitation is withdrawn: its link now says so and makes no account.',
    'welcome-admin': 'Welcome! You are this site’s admin. Name it here, then invite your '
                     'team (Invitations).',
    'unchanged': 'Nothing had changed, so nothing was saved.',
    'created': 'Post created.',
    'deleted': 'Post deleted.',
    'trashed': 'The post was moved to the trash. It is deleted for good after 30 days.',
    'untrashed': 'The post is back from the trash, as it was.',
    'purged': 'The post and its history were deleted for good.',
    'restored': 'Revision restored.',
    'saved-as-draft': 'Your version was saved as a new draft.',
    'discarded': 'Your edits were discarded; this is the saved version.',
    'profile-merged': 'Saved. Someone else had saved this profile while you were editing; '
                      'their changes were to other fields, so both are kept.',
    'settings-merged': 'Saved. Someone else had changed the settings while you were '
                       'editing; their changes were to other settings, so both are kept.',
    'merged': 'Saved. Someone else had saved this post while you were editing; '
              'their changes and yours did not overlap, so both are kept.',
}
# The notices an editor's successful save redirects with: the page then carries
# data-saved, and static/editor.js drops the copy of the form it sent.
SAVE_NOTICES = frozenset({'saved', 'unchanged', 'created', 'saved-as-draft', 'merged',
                          'profile-merged', 'settings-merged'})


def _local(value):
    # A stored (UTC) moment in the site's time zone (the site setting).
    return scheduling.to_local(value, site_settings.current().timezone)


def format_date(value):
    """'27 Nov 2026' for a datetime, in the site's time zone; '' for None."""
    if value is None:
        return ''
    local = _local(value)
    return '%d %s' % (local.day, local.strftime('%b %Y'))


def site_datetime(value):
    """'27 Nov 2026, 11:49 Europe/Paris': a datetime in the site's time zone (what
    scheduled times are typed in); '' for None."""
    if value is None:
        return ''
    name = site_settings.current().timezone
    local = scheduling.to_local(value, name)
    return '%d %s, %s %s' % (local.day, local.strftime('%b %Y'), local.strftime('%H:%M'), name)


format_datetime = site_datetime  # the `datetime` filter: the same, absolute


def relative_time(value, now=None):
    """'just now', '5 minutes ago', 'in 3 hours', 'yesterday', '4 days ago'; a week
    or more away, 'on 27 Nov 2026'. For signed-in pages, which are rendered for each request (public
    pages are kept between requests, so they say the date)."""
    now = utcnow() if now is None else now
    seconds = (now - value).total_seconds()
    ahead, seconds = seconds < 0, abs(seconds)
    if seconds < 60:
        return 'just now' if not ahead else 'in under a minute'
    for unit, size in (('minute', 60), ('hour', 3600), ('day', 86400)):
        count = int(seconds // size)
        limit = {'minute': 60, 'hour': 24, 'day': 7}[unit]
        if count < limit:
            if unit == 'day' and count == 1:
                return 'tomorrow' if ahead else 'yesterday'
            words = '%d %s%s' % (count, unit, '' if count == 1 else 's')
            return 'in ' + words if ahead else words + ' ago'
    return 'on ' + format_date(value)


def time_ago(value):
    """A <time> element saying relative_time(value), the exact moment in its title
    (in the site's time zone) and datetime; '' for None."""
    if value is None:
        return ''
    return Markup('<time datetime="{}" title="{}">{}</time>').format(
        iso_datetime(value), site_datetime(value), relative_time(value))


def iso_datetime(value):
    """RFC 3339 in UTC, for <time datetime> and feeds."""
    if value is None:
        return ''
    return value.replace(microsecond=0, tzinfo=datetime.UTC).isoformat().replace('+00:00', 'Z')


def form_key(path=None):
    """What static/editor.js keeps the browser's copy of an editor form under: the
    signed-in user (so another account on the same browser is never offered it)
    and the editor's path without its query (`path`, else this request's: an
    editor's answers, the conflict page included, are served at the path it
    posts to)."""
    user = sessions.current_user()
    return '%s:%s' % (user.username if user else '', (path or request.path).split('?')[0])


def field_errors(errors):
    """A form's field errors as (field name, message), in the order found (the form's
    own order), without the form-wide one."""
    return [(name, message) for name, message in (errors or {}).items() if name != 'form']


def first_error(errors):
    """The name of the first field with an error (it gets autofocus), or None."""
    fields = field_errors(errors)
    return fields[0][0] if fields else None


def build_env():
    """A fresh Jinja2 environment over templates/ with autoescape on."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(['html', 'xml'], default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        # Templates are read once per app, like the code: a changed template takes a
        # restart (as blog.cache.BUILD, the pages' validators, assumes), and no
        # request stats every template it uses.
        auto_reload=False,
    )
    env.filters['date'] = format_date
    env.filters['datetime'] = format_datetime
    env.filters['isodate'] = iso_datetime
    env.filters['sitetime'] = site_datetime
    env.filters['ago'] = time_ago
    env.globals['csrf_token'] = sessions.csrf_token
    env.globals['url'] = url
    env.globals['can'] = roles.can
    env.globals['role_label'] = roles.LABELS.get
    env.globals['registration_open'] = registration_open
    env.globals['form_key'] = form_key
    env.globals['field_errors'] = field_errors
    env.globals['first_error'] = first_error
    return env


def post_entry(post):
    """A listed post (a row with `html_head` and its author) as the plain dict the
    lists of posts show (the homepage, the archive)."""
    return {
        'id': post.id,
        'slug': post.slug,
        'title': post.title,
        'published_at': post.published_at,
        'excerpt': plain_excerpt(post.html_head),
        'username': post.author.username,
        'author_name': post.author.name,
    }


def registration_open():
    """Whether /register takes anyone (the header offers it only then)."""
    return site_settings.current().registration == 'open'


def page_url(page, **params):
    """The current path with ?page=N (and other params) set."""
    query = {k: v for k, v in params.items() if v not in (None, '')}
    if page and page > 1:
        query['page'] = page
    return request.path + ('?' + urlencode(query) if query else '')


def render(template, status=200, **context):
    """Render `template` with the request's common context; sets the status."""
    site = current_site()
    config = site.config
    response.status = status
    response.content_type = 'text/html; charset=utf-8'
    notice = request.query.getunicode('notice')
    user = sessions.current_user()
    personal_nav, personal_account = header.parts(user)
    settings = site_settings.current()
    base = {
        'site_name': settings.site_name,
        'site_description': settings.site_description,
        'site_url': config.site_url,
        'current_user': user,
        'personal_nav': personal_nav,
        'personal_account': personal_account,
        'canonical_url': config.site_url + request.path,
        'notice': NOTICES.get(notice or ''),
        'saved_notice': notice in SAVE_NOTICES,
        'page_url': page_url,
    }
    base.update(context)
    return site.jinja.get_template(template).render(base)

