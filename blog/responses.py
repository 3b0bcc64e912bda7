"""Small response helpers shared by the route modules."""

from bottle import HTTPResponse, request, response


def see_other(location):
    """Raise a 303 to a same-site path (Post/Redirect/Get).

    Unlike Bottle's redirect() the Location stays relative, so it never depends on
    the Host or X-Forwarded-Host headers a client sent. Cookies already set on the
    response are kept.
    """
    res = response.copy(cls=HTTPResponse)
    res.status = 303
    res.body = ''
    res.set_header('Location', location)
    raise res


def redirect_permanently(path):
    """Raise a 301 to a same-site path (relative Location, query string kept)."""
    if request.query_string:
        path += '?' + request.query_string
    res = response.copy(cls=HTTPResponse)
    res.status = 301
    res.body = ''
    res.set_header('Location', path)
    raise res


EXTERNAL_IMAGES_KEY = 'blog.external_images'


def allow_external_images():
    """Let this response's page show images from other sites (https): its CSP then
    has `img-src 'self' https: data:` instead of `'self' data:` (blog.app)."""
    request.environ[EXTERNAL_IMAGES_KEY] = True
