"""Logs a person can read: `configure()` for `serve`, `access_logged()` for the app.

Importing this module configures nothing. `configure()` (called by `serve` only) sends
every record to stderr with a timestamp: the access line of each request, errors with
their tracebacks, applied migrations. `access_logged()` wraps one app's WSGI callable
(`create_app` does it) so that every response, error pages, 304s, static files and
413s included, gets one line:

    2026-12-02 05:30:01 INFO blog.access GET /posts/3 200 5123 B 4.1 ms
"""

import logging
import sys
import time
from urllib.parse import quote

FORMAT = '%(asctime)s %(levelname)s %(name)s %(message)s'
DATE_FORMAT = '%Y-%m-%d %H:%M:%S'

access_log = logging.getLogger('blog.access')


def configure(stream=None):
    """Log INFO and above to `stream` (stderr) with timestamps; returns the handler."""
    handler = logging.StreamHandler(sys.stderr if stream is None else stream)
    handler.setFormatter(logging.Formatter(FORMAT, DATE_FORMAT))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    # waitress logs "Task queue depth is N" for every queued request under load.
    logging.getLogger('waitress.queue').setLevel(logging.ERROR)
    # Its "up: NAME" repeats blog's own "applied migration NAME".
    logging.getLogger('peewee.migrations').setLevel(logging.WARNING)
    return handler


def access_logged(wsgi):
    """`wsgi` (a WSGI callable), logging one access line per request on 'blog.access'.

    The time runs from the call until the app hands back its body (a static file is
    then sent by the server, outside that time). When the logger is off for INFO,
    as in the tests, the request goes straight through.
    """
    def logged(environ, start_response):
        if not access_log.isEnabledFor(logging.INFO):
            return wsgi(environ, start_response)
        started = time.perf_counter()
        # Read before the app runs: Bottle rewrites PATH_INFO while routing.
        path = environ.get('PATH_INFO', '')
        sent = []

        def start(status, headers, exc_info=None):
            sent.append(status)
            sent.append(headers)
            return start_response(status, headers, exc_info)

        body = wsgi(environ, start)
        elapsed = (time.perf_counter() - started) * 1000
        status, headers = sent[-2:] if sent else ('-', ())
        access_log.info('%s %s %s %s B %.1f ms', environ.get('REQUEST_METHOD', '-'),
                        _printable(path), status[:3], _size(headers, body), elapsed)
        return body
    return logged


def _size(headers, body):
    for name, value in headers:
        if name.lower() == 'content-length':
            return value
    if isinstance(body, (list, tuple)):
        return sum(len(chunk) for chunk in body)
    return '-'


def _printable(path):
    # PATH_INFO is percent-decoded (bytes as latin-1): a %0A or %20 in the address
    # would otherwise forge a second log line or split this one into more fields.
    if path.isascii() and path.isprintable() and ' ' not in path:
        return path
    return quote(path.encode('latin-1', 'replace'), safe="/!$&'()*+,;=:@~")
