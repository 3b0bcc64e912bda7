"""One way to build the site's URLs, in Python and in templates: `url(name, **params)`.

Every route gets a name where it is installed (`app.route(path, method, view,
name='post')`), so each path is spelled once. `url()` fills a route's wildcards
from the route table of the app serving the request, each value percent-encoded
as one path segment; the other parameters become the query string (empty ones
left out). `absolute_url()` puts the site's base URL (never the Host header) in
front, for feeds, the sitemap and canonical links.
"""

from urllib.parse import quote, urlencode

from bottle import RouteBuildError

from blog.site import current_site

# Wildcards more than one route uses.
POST_ID = '<post_id:re:[0-9]{1,18}>'  # at most 18 digits: always a 64-bit integer
REVISION = '<n:re:[0-9]{1,9}>'
PATH_PARAMS = frozenset({'path'})  # wildcards that hold a path: '/' stays as it is


def build(router, name, params):
    """The path of route `name` of `router` with `params` filled in (and the rest
    of them as the query string)."""
    builder = router.builder.get(name)
    if not builder:
        raise RouteBuildError('No route called %r.' % name)
    params = dict(params)
    parts = []
    for key, static in builder:
        if key is None:
            parts.append(static)
            continue
        if key not in params:
            raise RouteBuildError('The route %r needs %r.' % (name, key))
        parts.append(quote(str(params.pop(key)), safe='/' if key in PATH_PARAMS else ''))
    query = {key: value for key, value in params.items() if value not in (None, '')}
    path = ''.join(parts)
    return path + '?' + urlencode(query, safe='/') if query else path


def url(name, **params):
    """The site path of route `name`, e.g. url('post', post_id=7, slug='hello')
    -> '/posts/7-hello'."""
    return build(current_site().app.router, name, params)


def absolute_url(name, **params):
    """url(), with the site's base URL in front."""
    return current_site().config.site_url + url(name, **params)
