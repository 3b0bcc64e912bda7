"""The front door: anonymous readers' cached pages, answered before Bottle runs.

`cached_page` and the feeds (via `blog.cache.keep_whole`) mark each anonymous 200
they serve; `Front(wsgi, site)` then keeps that whole response (status, headers,
body) under the request's exact path and query, in a store of its own, at the
generation it was made at. The next
plain GET of that address by a reader without a session cookie is answered from
there: no routing, no hooks, no session, no database. In-process that costs about
what a hello-world Bottle route does; Bottle's routing, plugins and hooks cost a
cached page five times as much (benchmarks/README.md).

A signed-in reader (our session cookie) is answered from there only with a document
that is the same for everyone (a feed: `keep_whole(everyone=True)`), which is kept
whoever asked for it first; their pages carry their name, go to Bottle, and are never
kept. So does anything else: other methods, conditional requests (Bottle answers their
304s), a body, an address not yet kept, and every request while the generation is due
to be read again (after this process commits, or `RECHECK_SECONDS` after the last
read), so another process's writes show no later than they did without this layer.
"""

import re

from blog.cache import FRONT_EVERYONE, FRONT_KEY, Cache
from blog.sessions import COOKIE_NAME

# A store of its own, so that addresses nobody else asks for (an attacker's
# /posts/0001, /posts/00001, ...) can only push out each other, never the page
# and query caches behind it: at worst a request goes through Bottle as before.
FRONT_ENTRIES = 1000
FRONT_BYTES = 16 * 1024 * 1024
# The query strings a kept page may have: none, or a page number as written.
KEPT_QUERY = re.compile(r'(page=[1-9][0-9]{0,8})?')

COOKIE_MARK = COOKIE_NAME + '='
# Request headers that make the answer depend on more than the address.
CONDITIONAL = ('HTTP_IF_NONE_MATCH', 'HTTP_IF_MODIFIED_SINCE', 'HTTP_AUTHORIZATION')


def _plain(environ):
    """True for a GET whose answer depends only on its address and on whether the
    reader has a session."""
    if environ.get('REQUEST_METHOD') != 'GET':
        return False
    if environ.get('CONTENT_LENGTH') not in (None, '', '0'):
        return False
    return not any(name in environ for name in CONDITIONAL)


class Front:
    """`wsgi` (the app's Bottle callable) behind a store of whole anonymous pages."""

    def __init__(self, wsgi, site):
        self.wsgi = wsgi
        self.site = site
        self.store = Cache(site.backend, FRONT_ENTRIES, FRONT_BYTES)

    def __call__(self, environ, start_response):
        query = environ.get('QUERY_STRING', '')
        site = self.site
        if not (site.config.cache_pages and _plain(environ) and KEPT_QUERY.fullmatch(query)):
            return self.wsgi(environ, start_response)
        key = (environ.get('PATH_INFO', ''), query)
        session = COOKIE_MARK in environ.get('HTTP_COOKIE', '')
        generation = site.cache.fresh_generation()
        if generation is not None:
            kept = self.store.get(key, generation)
            if kept is not None and (kept[3] or not session):
                start_response(kept[0], kept[1])
                return [kept[2]]
        sent = []

        def start(status, headers, exc_info=None):
            sent[:] = [status, headers]
            return start_response(status, headers, exc_info)

        body = self.wsgi(environ, start)
        made_at = environ.get(FRONT_KEY)
        everyone = bool(environ.get(FRONT_EVERYONE))
        # What a signed-in reader is sent is theirs alone, unless it is the same for
        # everyone (a feed: no header, and _keep refuses a response setting a cookie).
        if made_at is not None and (everyone or not session) and sent and \
                sent[0].startswith('200 '):
            _keep(self.store, key, made_at, sent[0], sent[1], body, everyone)
        return body


def _keep(store, key, generation, status, headers, body, everyone):
    # Only a body Bottle has already joined (a list of bytes), and never a
    # response that sets a cookie: what is kept is sent to everybody.
    if not isinstance(body, list) or not all(isinstance(chunk, bytes) for chunk in body):
        return
    if any(name.lower() == 'set-cookie' for name, _ in headers):
        return
    store.put(key, generation, (status, list(headers), b''.join(body), everyone))
