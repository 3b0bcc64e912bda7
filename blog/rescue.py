"""Nothing typed is lost when a save cannot be carried out: the page that answers
shows what was sent, in a form that can be sent again.

- The session ended (signed out elsewhere, expired, password changed): 401, the
  sent fields in an editable form with a sign-in form around them. Signing in
  from there (`/login` carries the fields, prefixed `keep:`) shows them again in
  a form for the editor, with the new session's token: Save goes through the
  usual version check. Nothing is saved from a request without a valid session
  and token, so a form from another site cannot plant text.
- A stale token with a live session (signed out and in again in another tab):
  403, the same fields in a form for the editor with a fresh token.
"""

from bottle import request

from blog import forms
from blog.render import render

PREFIX = 'keep:'  # how the sign-in form carries an editor's fields
SKIP = frozenset({'csrf_token', 'username', 'password', 'next', 'preview', 'resolve'})
HIDDEN = frozenset({'version', 'form_id', 'merge_base'})
HIDDEN_PREFIXES = ('part-', 'choice-')
LONG = frozenset({'body', 'bio'})
FLAGS = frozenset({'is_active', 'require_2fa'})
LABELS = {'title': 'Title', 'slug': 'URL', 'body': 'Body (Markdown)', 'status': 'Status',
          'tags': 'Tags', 'display_name': 'Display name', 'email': 'Email', 'bio': 'Bio',
          'role': 'Role', 'is_active': 'Active (can sign in)', 'site_name': 'Site name',
          'site_description': 'Description', 'registration': 'Who may register',
          'default_role': 'Role of new accounts', 'timezone': 'Time zone',
          'require_2fa': 'Second factor required'}
MAX_FIELDS = 10_100  # a conflict form's choices, and the fields themselves


def kind(name):
    """How the rescue form shows field `name`."""
    if name in HIDDEN or name.startswith(HIDDEN_PREFIXES):
        return 'hidden'
    if name in LONG:
        return 'textarea'
    if name in FLAGS:
        return 'checkbox'
    return 'text'


def sent_fields(prefix=''):
    """[{name, value, kind, label}] for the fields of this request worth keeping
    (with `prefix`: only those carried under it, the prefix taken off)."""
    out, seen = [], set()
    for key in request.forms.keys():
        if key in seen or not key.startswith(prefix):
            continue
        seen.add(key)
        name = key[len(prefix):]
        if not name or name in SKIP or len(out) >= MAX_FIELDS:
            continue
        out.append({'name': name, 'value': forms.field(key), 'kind': kind(name),
                    'label': LABELS.get(name, name)})
    return out


def _render(status, **context):
    return render('rescue/page.html', status=status, **context)


def ended_page(fields, target, deactivated=False, errors=None, status=401):
    """The session ended: the fields, editable, inside a sign-in form that carries
    them back to `target` (unless the account was deactivated: then to copy)."""
    return _render(status, mode='deactivated' if deactivated else 'ended', fields=fields,
                   target=forms.safe_next(target), prefix=PREFIX, errors=errors or {})


def editor_page(fields, target, mode, status):
    """The fields again in a form for the editor at `target`, with this session's
    token: after signing in (mode 'resumed', 200) or for a stale token ('stale')."""
    return _render(status, mode=mode, fields=fields, target=forms.safe_next(target),
                   prefix='', errors={})
