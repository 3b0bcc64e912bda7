"""Reading and checking submitted forms.

Bottle's `request.forms.get()` decodes UTF-8 input as Latin-1; `getunicode()` is
right, and returns None for a present field that is not valid UTF-8, which is a
malformed request (400), as is a NUL byte. Views collect errors per field in a
dict and answer 422 with the form and the user's input again.
"""

import re
import unicodedata

from bottle import HTTPError, request

from blog.models import STATUSES

USERNAME_RE = re.compile(r'^[a-z0-9_-]{3,30}$')
EMAIL_RE = re.compile(r'^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$')
PASSWORD_MIN, PASSWORD_MAX = 12, 1024
PASSWORDS_DIFFER = 'The two passwords differ.'
TITLE_MAX = 200
# Characters. The editor posts multipart/form-data (UTF-8 unescaped), and its routes
# take requests of Config.editor_body_bytes: 600,000 characters of any script fit.
BODY_MAX = 600_000


def _bad_request(what):
    return HTTPError(400, 'The form could not be read (%s). Please try again.' % what)


def field(name, default=''):
    """The submitted value of form field `name` as text ('' when absent)."""
    try:
        forms = request.forms
    except HTTPError:
        raise
    except Exception:  # a body Bottle cannot parse (broken multipart, say)
        raise _bad_request('malformed body') from None
    value = forms.getunicode(name)
    if value is None:
        if name in forms:
            raise _bad_request('not valid UTF-8')
        return default
    if '\x00' in value:
        raise _bad_request('NUL character')
    return value


def checkbox(name):
    """Checkboxes: present with any value is True, absent is False."""
    return name in request.forms


def query(name, default=''):
    """A query-string parameter as text; undecodable input counts as absent."""
    value = request.query.getunicode(name)
    if value is None or '\x00' in value:
        return default
    return value


def page_number(default=1):
    """?page=N as a positive int; a present but insane value is a 404 page."""
    raw = query('page', '')
    if raw == '':
        return default
    # isdigit() alone accepts '²' and full-width digits, which int() refuses or reads.
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 6 or int(raw) < 1:
        raise HTTPError(404, 'There is no such page.')
    return int(raw)


def normalize_username(raw):
    """Usernames are stored lower-case; surrounding spaces are not part of them."""
    return raw.strip().lower()


def username_error(username):
    """A message when `username` is not 3-30 of a-z 0-9 _ -, else None."""
    if not USERNAME_RE.match(username):
        return 'Use 3 to 30 characters: letters a-z, digits, "_" or "-".'
    return None


def password_error(password):
    """A message when `password` is outside 12-1024 characters, else None."""
    if len(password) < PASSWORD_MIN:
        return 'Use at least %d characters.' % PASSWORD_MIN
    if len(password) > PASSWORD_MAX:
        return 'Use at most %d characters.' % PASSWORD_MAX
    return None


def email_error(email):
    """A message when a non-empty `email` does not look like an address, else None."""
    if email and (len(email) > 254 or not EMAIL_RE.match(email)):
        return 'Enter an email address like name@example.com, or leave it empty.'
    return None


def length_error(value, maximum, label='This'):
    """A message when `value` is longer than `maximum` characters, else None."""
    if len(value) > maximum:
        return '%s can be at most %d characters (it has %d).' % (label, maximum, len(value))
    return None


def normalize_title(text):
    """A post title as stored: runs of whitespace (line breaks too) as one space."""
    return ' '.join(text.split())


def normalize_body(text):
    """Line endings as \\n; leading blank lines dropped (a <textarea> eats the first)."""
    return text.replace('\r\n', '\n').replace('\r', '\n').lstrip('\n')


def post_field_errors(title, body, status, body_required=True):
    """The editor's checks of a post's title, body and status (the editor's already
    normalised by normalize_title and normalize_body): messages by field, empty when
    all is well. Import applies the same rules (blog.zipformat), but takes bodies
    exactly as exported, an empty one included (`body_required` false)."""
    errors = {}
    if not title:
        errors['title'] = 'Give the post a title.'
    elif any(unicodedata.category(ch) == 'Cc' for ch in title):
        errors['title'] = 'The title contains control characters; please retype it.'
    else:
        error = length_error(title, TITLE_MAX, 'The title')
        if error:
            errors['title'] = error
    if body_required and not body.strip():
        errors['body'] = 'Write something in the body.'
    else:
        error = length_error(body, BODY_MAX, 'The body')
        if error:
            errors['body'] = error
    if status not in STATUSES:
        errors['status'] = 'Choose "Draft", "Submit for review" or "Published".'
    return errors


def safe_next(target, default='/'):
    """A same-site path to go to after sign-in; anything else becomes `default`."""
    if not target or not target.startswith('/') or target.startswith('//'):
        return default
    if '\\' in target or any(ord(c) < 32 or ord(c) == 127 for c in target):
        return default
    return target


VERSION_MAX_DIGITS = 18  # 64-bit integers; longer is never a real version


def read_version(name='version'):
    """The hidden `version` field of an editor as an int; a missing or garbled one
    is a malformed request (400)."""
    raw = field(name).strip()
    if not (raw.isascii() and raw.isdigit()) or len(raw) > VERSION_MAX_DIGITS:
        raise HTTPError(400, 'The form did not say which version it edits. '
                             'Go back, reload the page and try again.')
    return int(raw)
