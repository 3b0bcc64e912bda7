"""The application factory: `create_app(config)` builds a fresh Bottle app.

Importing this module starts nothing. The app owns its state: one `blog.site.Site`
(configuration, database backend, cache, throttle, templates) made here and kept in
`app.config`. Per request: the `before_request` hook makes this thread serve the
app's site and opens a database connection, and `after_request` always closes it
and hands the thread back (Bottle runs it in a `finally`). The session is loaded up
front so every page, error pages too, knows who is signed in. Every route is wrapped
by `guard`, which checks the CSRF token of every POST and turns an unexpected
exception into a logged 500 page. Around it all, `blog.logs.access_logged` writes one
access line per response (when that logger is on: `serve` turns it on).
"""

import functools
import logging
import os

import bottle
from bottle import Bottle, HTTPError, HTTPResponse, request, response, static_file
from peewee import OperationalError

from blog import (
    admin,
    archive,
    auth,
    authors,
    db,
    discovery,
    exports,
    feeds,
    first_run,
    history,
    home,
    logs,
    media,
    my_posts,
    posts,
    recovery,
    rescue,
    review,
    search,
    sessions,
    settings,
    tags,
    trash,
    trashing,
)
from blog.cache import RECHECK_SECONDS, Cache
from blog.config import Config
from blog.front import Front
from blog.media_store import MediaFiles
from blog.render import ROOT, build_env, render
from blog.responses import EXTERNAL_IMAGES_KEY, redirect_permanently
from blog.site import APP_KEY, Site, current_site, open_backend
from blog.throttle import Throttle
from blog.urls import url

log = logging.getLogger('blog')

STATIC_DIR = os.path.join(ROOT, 'static')

# Route modules; each has install(app).
MODULES = [auth, home, archive, authors, posts, history, settings, admin, feeds, search,
           tags, discovery, exports, trash, first_run, review, my_posts, media, recovery]

ERROR_TITLES = {
    400: 'Bad request',
    403: 'Not allowed',
    404: 'Not found',
    405: 'Method not allowed',
    413: 'Too large',
    422: 'Not saved',
    429: 'Too many requests',
    500: 'Something went wrong',
    503: 'Busy',
}

# No inline script anywhere. Images from this site only, except on the pages of
# posts that show images from elsewhere (responses.allow_external_images).
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'")
CSP_EXTERNAL_IMAGES = CSP.replace("img-src 'self' data:", "img-src 'self' https: data:")
SECURITY_HEADERS = {
    'Content-Security-Policy': CSP,
    'X-Content-Type-Options': 'nosniff',
    'Referrer-Policy': 'strict-origin-when-cross-origin',
    'X-Frame-Options': 'DENY',
    'Cross-Origin-Opener-Policy': 'same-origin',
}


class Guard:
    """Route plugin: the route's request size limit, CSRF on every POST; unexpected
    errors become a logged 500.

    Routes installed with `large_body=True` (the post editor's) take requests large
    enough for the longest body in any script, so a body that is too long comes
    back as a form error with the text kept instead of a bare 413. On editor routes
    (`editor=True`: every form where people type) a POST whose session ended or
    whose token is stale saves nothing and gets its fields back (blog.rescue).
    """

    name = 'guard'
    api = 2

    def apply(self, callback, route):
        large = route.config.get('large_body') or False  # True, 'upload' or False
        editor = bool(route.config.get('editor'))

        @functools.wraps(callback)
        def wrapper(*args, **kwargs):
            try:
                check_size(large)
                if request.method == 'POST':
                    problem = sessions.csrf_problem()
                    if problem is not None and editor:
                        return keep_what_was_sent(problem)
                    if problem is not None:
                        sessions.check_csrf()
                return callback(*args, **kwargs)
            except HTTPResponse:
                raise
            except Exception:
                log.exception('error handling %s %s', request.method, request.path)
                raise HTTPError(500, 'Something went wrong on our side.') from None
        return wrapper


def keep_what_was_sent(problem):
    """An editor's POST without a valid session and token saves nothing, and shows
    what was sent: after a sign-in form (401) or in a fresh form (403)."""
    target = request.fullpath
    fields = rescue.sent_fields()
    if problem == sessions.STALE:
        return rescue.editor_page(fields, target, 'stale', 403)
    return rescue.ended_page(fields, target, sessions.ended_because_deactivated())


def check_size(large):
    """413 for a request body over this route's limit; else Bottle may keep a body up
    to that limit in memory (it reads the limit from the request)."""
    config = current_site().config
    if large == 'upload':
        limit = config.upload_body_bytes
    elif large:  # the post editor, which can carry an image too
        limit = config.editor_body_bytes + config.upload_body_bytes
    else:
        limit = config.max_body_bytes
    request.environ[LIMIT_KEY] = limit
    if request.environ['blog.content_length'] > limit:
        raise HTTPError(413, 'That request is larger than the %d KiB this site accepts.'
                        % (limit // 1024))


# Bottle's in-memory limit for a request body, read from the request itself: the
# limit check_size chose for its route (a class attribute would be one value for
# every app and every route in the process).
LIMIT_KEY = 'blog.body_limit'
DEFAULT_MEMFILE_MAX = bottle.BaseRequest.MEMFILE_MAX


def _memfile_max(req):
    return req.environ.get(LIMIT_KEY, DEFAULT_MEMFILE_MAX)


def open_request():
    """before_request: this thread serves the app's site; database connection,
    session, then the request's sanity."""
    site = request.app.config[APP_KEY]
    request.environ['blog.previous_backend'] = site.activate()
    try:
        site.backend.connect()
        sessions.load()  # first, so even an error page knows who is signed in
    except HTTPResponse:
        raise
    except Exception:
        log.exception('error opening request %s %s', request.method, request.path)
        raise HTTPError(500, 'Something went wrong on our side.') from None
    try:
        # Bottle decodes the path with errors ignored (/authors/al%ffice would reach
        # /authors/alice); a path that is not UTF-8 is a malformed request.
        request.environ.get('bottle.raw_path', '').encode('latin-1').decode('utf-8')
    except UnicodeError:
        raise HTTPError(400, 'The address is not valid UTF-8.') from None
    try:
        request.environ['blog.content_length'] = int(request.environ.get('CONTENT_LENGTH')
                                                     or 0)
    except ValueError:
        raise HTTPError(400, 'Bad Content-Length.') from None


def close_request():
    """after_request: security headers, close the connection."""
    for name, value in SECURITY_HEADERS.items():
        response.set_header(name, value)
    if request.environ.get(EXTERNAL_IMAGES_KEY):
        response.set_header('Content-Security-Policy', CSP_EXTERNAL_IMAGES)
    if 'Cache-Control' not in response.headers:
        response.set_header('Cache-Control', 'no-cache, private')
    site = current_site()
    site.backend.close()
    if 'blog.previous_backend' in request.environ:
        db.use(request.environ.pop('blog.previous_backend'))


def error_page(error):
    """Templated error page; the message is ours, never a traceback."""
    status = error.status_code
    message = error.body if isinstance(error.body, str) and status != 500 else ''
    try:
        return render('errors/error.html', status=status,
                      title=ERROR_TITLES.get(status, 'Error'), message=message)
    except Exception:
        log.exception('error rendering the %d page', status)
        response.content_type = 'text/plain; charset=utf-8'
        return '%d %s\n' % (status, ERROR_TITLES.get(status, 'Error'))


def healthz():
    """`ok` when the database answers a query."""
    current_site().backend.ping()
    response.content_type = 'text/plain; charset=utf-8'
    return 'ok'


def static(path):
    """Files under static/, cached for a day."""
    resp = static_file(path, root=STATIC_DIR)
    if resp.status_code == 200:
        resp.set_header('Cache-Control', 'public, max-age=86400')
    return resp


def favicon():
    """GET /favicon.ico: the site's icon, for clients that ask for it without
    reading the page's <link rel="icon"> (feed readers, some browsers)."""
    redirect_permanently(url('static', path='favicon.svg'))


def _sweep_trash(site):
    """Purge a first batch of old trash at start: a site nobody deletes posts on
    still empties its trash (every showing of /trash and every delete sweep too)."""
    with site.activated():
        site.backend.connect()
        try:
            trashing.sweep()
        except OperationalError:
            # Serving matters more than purging on time (a read-only or busy file).
            log.exception('could not purge old posts from the trash at start')
        finally:
            site.backend.close()


def create_app(config=None):
    """Build a new Bottle app for `config` (defaults from the environment)."""
    config = config or Config.from_env()
    backend = open_backend(config)
    site = Site(config, backend, cache=Cache(backend), jinja=build_env(),
                throttle=Throttle(config.throttle_window, config.throttle_per_user,
                                  config.throttle_per_address),
                sessions=sessions.Known(backend, RECHECK_SECONDS))
    site.search_cache = Cache(backend, search.CACHED_SEARCHES, search.CACHED_BYTES)
    for name in site.migrate():
        log.info('applied migration %s', name)
    _sweep_trash(site)
    first_run.start(site)
    # Idempotent, the same for every app: the value itself comes from each request.
    bottle.BaseRequest.MEMFILE_MAX = property(_memfile_max)

    app = Bottle(catchall=True)
    # Around Bottle's whole WSGI call, where the status and the length are final,
    # so that error pages, 304s, static files and 413s get their line too.
    # Inside it, the front door answers anonymous readers' kept pages (blog.front).
    site.front = Front(app.wsgi, site)
    # In front of that, image files (blog.media_store): they need no page machinery.
    app.wsgi = logs.access_logged(MediaFiles(site.front, site.media, SECURITY_HEADERS))
    app.config[APP_KEY] = site
    site.app = app
    app.add_hook('before_request', open_request)
    app.add_hook('after_request', close_request)
    app.install(Guard())

    app.route('/healthz', 'GET', healthz, name='healthz')
    app.route('/static/<path:path>', 'GET', static, name='static')
    app.route('/favicon.ico', 'GET', favicon, name='favicon')
    for module in MODULES:
        module.install(app)
    for status in ERROR_TITLES:
        app.error(status)(error_page)
    return app
