"""The personal parts of every page's header: one shared page, many readers.

A page's header shows the reader's own links and name (templates/header/pieces.html);
nothing else on a public page depends on who reads it. So `blog.cache.cached_page`
renders a public page once per generation *as nobody* (`sessions.as_anyone()`), with
a marker where each personal part goes, and keeps it split at the markers. Each
reader then gets the kept segments joined around their own parts: anonymous readers
the same bytes every time (kept too), a signed-in reader two small macros' worth of
rendering instead of the whole page. Pages that read differently for some reader
say so to `cached_page`: those it renders whole for them, or, when a group of
readers sees one page (everyone who may edit a post sees its controls), once for
the group, with a marker for the CSRF token that `with_csrf` fills in.
"""

from markupsafe import Markup

from blog import sessions
from blog.site import current_site

NAV = Markup('<!--personal:nav-->')
ACCOUNT = Markup('<!--personal:account-->')
MARKERS = (NAV, ACCOUNT)


def _macros():
    return current_site().jinja.get_template('header/pieces.html').module


def parts(user):
    """The (nav, account) header parts for `user` (None: anonymous); the markers
    while a page is rendered to be shared."""
    if sessions.rendering_shared():
        return MARKERS
    session = sessions.current_session()
    if user is None or session is None or session.user_id != user.id:
        return _render(user)
    # They depend on the user and the session's CSRF token only: rendered once while
    # this process keeps the session's rows (blog.sessions.Known).
    return current_site().sessions.memo(session.token_hash, 'header',
                                        lambda: _render(user))


def _render(user):
    macros = _macros()
    return macros.nav(user), macros.account(user)


def split(text):
    """`text` cut at each marker, in order: len(MARKERS) + 1 segments, or None when
    a marker is missing or repeated (that page is then never shared)."""
    segments = []
    rest = text
    for marker in MARKERS:
        pieces = rest.split(marker)
        if len(pieces) != 2:
            return None
        segments.append(pieces[0])
        rest = pieces[1]
    segments.append(rest)
    return segments


def with_csrf(page):
    """A page shared by one variant's readers (blog.cache) with this reader's token."""
    return page.replace(sessions.CSRF_MARKER, sessions.csrf_token())


def join(segments, user):
    """The page for `user` from a shared page's segments."""
    nav, account = parts(user)
    return ''.join((segments[0], nav, segments[1], account, segments[2]))
