"""Server-side sessions and CSRF tokens.

The cookie carries a random token; the `session` table stores only its SHA-256, so
a leaked database does not hand out live sessions. One CSRF token per session,
valid for every form until sign-in or sign-out (both start a new session).
Anonymous visitors get a session the first time a page shows them a form; it
lasts `ANONYMOUS_LIFETIME` (a day), not the signed-in `session_days`, because every
cookie-less GET of a form page makes one. Each new session sweeps at most
`SWEEP_BATCH` expired rows, so the table holds the live sessions and little more.

A signed-in reader's every request needs their session and user: `Known` keeps the
rows this process read, for as long as it has committed nothing and for at most
`blog.cache.RECHECK_SECONDS` (the page cache's own bound on another process's writes),
so a sign-out, a password change or a deactivation made here ends the session on the
very next request, and one made by another process (the command line, a second
server) within that time. Reading the rows cost a signed-in page more than rendering
it (benchmarks/README.md, runs 15 and 16).
"""

import collections
import contextlib
import datetime
import functools
import hashlib
import hmac
import secrets
import threading
import time

from bottle import HTTPError, request, response

from blog import roles
from blog.models import Session, User, utcnow
from blog.queries import people
from blog.responses import see_other
from blog.site import current_site
from blog.urls import url

COOKIE_NAME = 'blog_session'
# last_seen_at is written at most this often, so reads stay reads.
TOUCH_EVERY = datetime.timedelta(minutes=10)
ANONYMOUS_LIFETIME = datetime.timedelta(days=1)
# Each new session adds one row and deletes up to this many expired ones.
SWEEP_BATCH = 100
KNOWN_MAX = 10000  # sessions kept in memory; past it, all are forgotten at once
_clock = time.monotonic

_STATE = 'blog.session'  # request.environ key: the Session row, or None
_SHARED = 'blog.shared_render'  # request.environ key: set while rendering as_anyone
_DEACTIVATED = 'blog.session_deactivated'
# Where a page shared by one variant's readers has each reader's token: random, so
# no text a post could hold is ever taken for it.
CSRF_MARKER = 'csrf-marker-' + secrets.token_hex(16)


def _hash(token):
    return hashlib.sha256(token.encode('ascii')).hexdigest()


def _config():
    return current_site().config


def _lifetime(signed_in):
    if signed_in:
        return datetime.timedelta(days=_config().session_days)
    return ANONYMOUS_LIFETIME


# One session Known keeps: its row and its user's (as dicts), this process's commit
# count and the monotonic time when they were read, and what `memo` kept with them.
_Entry = collections.namedtuple('_Entry', 'session user writes read_at memo')


class Known:
    """Session rows (with their users) this process read lately, by token hash."""

    def __init__(self, backend, recheck_seconds, max_entries=KNOWN_MAX):
        self.backend = backend
        self.recheck_seconds = recheck_seconds  # the page cache's (blog.app passes it)
        self.max_entries = max_entries
        self._entries = {}
        self._lock = threading.Lock()

    def session(self, token_hash, now):
        """The live session with `token_hash` (a fresh copy for this request), or None."""
        writes = self.backend.writes  # before the read: a commit after it forces another
        entry = self._entries.get(token_hash)
        if (entry is not None and entry.writes == writes
                and _clock() - entry.read_at < self.recheck_seconds
                and entry.session['expires_at'] > now):
            return _copy(entry.session, entry.user)
        session = people.live_session(token_hash, now)
        if session is None:
            self._entries.pop(token_hash, None)
            return None
        user = dict(session.user.__data__) if session.user_id is not None else None
        with self._lock:
            if len(self._entries) >= self.max_entries:
                self._entries.clear()
            self._entries[token_hash] = _Entry(dict(session.__data__), user, writes,
                                               _clock(), {})
        return session

    def memo(self, token_hash, name, produce):
        """`produce()`, kept with the session's rows while they are (what depends on
        the session and its user only: their header parts)."""
        entry = self._entries.get(token_hash)
        if entry is None or entry.writes != self.backend.writes:
            return produce()
        value = entry.memo.get(name)
        if value is None:
            value = entry.memo[name] = produce()
        return value

    def __len__(self):
        return len(self._entries)


def _copy(session_data, user_data):
    # Each request gets its own rows: a view may change the ones it was given.
    session = Session(**session_data)
    if user_data is not None:
        session.user = User(**user_data)
    return session


def load():
    """Find the request's session from its cookie (called once per request)."""
    request.environ[_STATE] = None
    token = request.get_cookie(COOKIE_NAME)
    if not token or len(token) > 100 or not token.isascii():
        return None
    now = utcnow()
    session = current_site().sessions.session(_hash(token), now)
    if session is None:
        _write_cookie('')
        return None
    if session.user_id is not None and not session.user.is_active:
        # A deactivated user's sessions end (they are also deleted on deactivation).
        people.delete_session(session.token_hash)
        request.environ[_DEACTIVATED] = True
        _write_cookie('')
        return None
    if now - session.last_seen_at > TOUCH_EVERY:
        lifetime = _lifetime(session.user_id is not None)
        people.touch_session(session.token_hash, now, now + lifetime)
    request.environ[_STATE] = session
    return session


def current_session():
    """The request's Session row, or None."""
    return request.environ.get(_STATE)


def current_user():
    """The signed-in User, or None."""
    session = request.environ.get(_STATE)
    if session is None or session.user_id is None:
        return None
    return session.user


def _start(user=None):
    token = secrets.token_urlsafe(32)
    now = utcnow()
    lifetime = _lifetime(user is not None)
    people.delete_expired_sessions(now, SWEEP_BATCH)
    session = people.create_session(
        token_hash=_hash(token), user=user, csrf_token=secrets.token_urlsafe(32),
        created_at=now, last_seen_at=now, expires_at=now + lifetime)
    if user is not None:
        session.user = user
    request.environ[_STATE] = session
    _write_cookie(token, lifetime)
    return session


def ensure():
    """The request's session, starting an anonymous one if there is none."""
    return current_session() or _start()


def csrf_token():
    """The CSRF token for forms on this page (starts a session if needed)."""
    shared = request.environ.get(_SHARED)
    if shared is True:
        # A page shown to every reader must never carry one reader's token.
        raise RuntimeError('a page rendered to be shared asked for a CSRF token')
    if shared:
        return CSRF_MARKER
    return ensure().csrf_token


@contextlib.contextmanager
def as_anyone(variant=False):
    """Within: nobody is signed in, and the page rendered is to be shared by every
    reader (blog.header puts each reader's own parts in afterwards). For a
    `variant` (blog.cache.cached_page) the reader stays signed in, and the page is
    shared by every reader of that variant: a CSRF token is then a marker that
    blog.header replaces with each reader's own."""
    environ = request.environ
    saved = environ.get(_STATE)
    if not variant:
        environ[_STATE] = None
    environ[_SHARED] = variant or True
    try:
        yield
    finally:
        environ[_STATE] = saved
        environ.pop(_SHARED, None)


def rendering_shared():
    """True while a page is rendered to be shared (`as_anyone`)."""
    return _SHARED in request.environ


ENDED, STALE = 'ended', 'stale'


def csrf_problem():
    """None when this POST's csrf_token is its session's; else why not: ENDED when
    no one is signed in (the form's session is gone), STALE when someone is but the
    token is another session's (signed out and in again elsewhere)."""
    session = current_session()
    sent = request.forms.getunicode('csrf_token') or ''
    if session is not None and hmac.compare_digest(sent.encode(), session.csrf_token.encode()):
        return None
    return STALE if current_user() is not None else ENDED


def ended_because_deactivated():
    """True when this request's session ended because its user was deactivated."""
    return bool(request.environ.get(_DEACTIVATED))


def check_csrf():
    """Refuse (403) a POST whose csrf_token is missing or not this session's."""
    if csrf_problem() is not None:
        raise HTTPError(403, 'The form has expired or did not come from this site. '
                             'Go back, reload the page and try again.')


def sign_in(user):
    """End the current session and start a fresh one for `user`."""
    old = current_session()
    if old is not None:
        people.delete_session(old.token_hash)
    return _start(user)  # which sweeps expired sessions


def sign_out():
    """Delete the current session and clear the cookie."""
    session = current_session()
    if session is not None:
        people.delete_session(session.token_hash)
    request.environ[_STATE] = None
    _write_cookie('')


def _write_cookie(token, lifetime=None):
    # Set on the response right away: Bottle's redirect() (and our see_other) copy the response as
    # it is, and cookies set later (in an after_request hook) would be dropped.
    config = _config()
    if token:
        response.set_cookie(COOKIE_NAME, token, path='/', httponly=True, samesite='lax',
                            secure=config.cookies_secure,
                            max_age=int(lifetime.total_seconds()))
    else:
        response.delete_cookie(COOKIE_NAME, path='/', httponly=True, samesite='lax',
                               secure=config.cookies_secure)


def login_url():
    """/login?next=<this path and query>."""
    target = request.fullpath
    if request.query_string:
        target += '?' + request.query_string
    return url('login', next=target)


def login_required(view):
    """Send anonymous visitors to sign in (303), then back here."""
    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        if current_user() is None:
            see_other(login_url())
        return view(*args, **kwargs)
    return wrapper


def allowed(action, message):
    """A view decorator: anonymous, sign in first; signed in but not allowed to do
    `action` to anyone's things (blog.roles), 403 with `message`."""
    def decorate(view):
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            user = current_user()
            if user is None:
                see_other(login_url())
            if not roles.can(user, action):
                raise HTTPError(403, message)
            return view(*args, **kwargs)
        return wrapper
    return decorate


admin_required = allowed('manage_people', 'This page is for administrators.')
