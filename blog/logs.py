"""Logs a person can read: `configure()` for `serve`, `access_logged()` for the app.

Importing this module configures nothing. `configure()` (called by `serve` only) sends
every record to stderr with a timestamp: the access line of each request, errors with
their tracebacks, applied migrations. `access_logged()` wraps one app's WSGI callable
(`create_app` does it) so that every response, error pages, 304s, static files and
413s included, gets one line:

    2026-12-02 05:30:01 INFO blog.access GET /posts/3 200 5123 B 4.1 ms

Once configured, an access line skips the logging machinery: the request appends the
finished line to the handler's queue, and the handler's thread writes the queue out
every fifth of a second; any other record is written at once, after them, so the order
holds. Going through `logging.Logger.info` for every request cost about a third of the
server's throughput under load (benchmarks/README.md, runs 15 and 16).
"""

import collections
import logging
import sys
import threading
import time
from urllib.parse import quote

FORMAT = '%(asctime)s %(levelname)s %(name)s %(message)s'
DATE_FORMAT = '%Y-%m-%d %H:%M:%S'
FLUSH_SECONDS = 0.2

access_log = logging.getLogger('blog.access')
_writer = None  # the QueuedWriter that configure() installed, while it is open


class QueuedWriter(logging.Handler):
    """A handler that queues formatted lines and writes them from its own thread."""

    def __init__(self, stream, interval=FLUSH_SECONDS):
        super().__init__()
        self.stream = stream
        self.setFormatter(logging.Formatter(FORMAT, DATE_FORMAT))
        self._lines = collections.deque()
        self._write_lock = threading.Lock()
        self._stop = threading.Event()
        self._stamp = (None, '')
        self._thread = threading.Thread(target=self._run, args=(interval,),
                                        name='blog-log-writer', daemon=True)
        self._thread.start()

    def emit(self, record):
        """Write the record out at once, after the access lines queued before it."""
        try:
            self._lines.append(self.format(record))
        except Exception:  # logging's own rule: a bad record never breaks the caller
            self.handleError(record)
            return
        # Records are few (migrations, warnings, errors), and one written at once
        # keeps its place before whatever `serve` prints next.
        self.flush()

    def access(self, message):
        """Queue one access line: the cheap path `access_logged` takes per request."""
        now = int(time.time())
        second, stamp = self._stamp
        if second != now:
            stamp = time.strftime(DATE_FORMAT, time.localtime(now))
            self._stamp = (now, stamp)
        self._lines.append('%s INFO blog.access %s' % (stamp, message))

    def flush(self):
        """Write out every queued line, in order."""
        with self._write_lock:
            lines = []
            try:
                while True:
                    lines.append(self._lines.popleft())
            except IndexError:
                pass
            if lines:
                try:
                    self.stream.write('\n'.join(lines) + '\n')
                    self.stream.flush()
                except (OSError, ValueError):  # a closed stderr must not stop the server
                    pass

    def close(self):
        """Stop the thread, write what is left and stop taking access lines."""
        global _writer
        if _writer is self:
            _writer = None
        self._stop.set()
        if self._thread is not threading.current_thread():
            self._thread.join(timeout=5)
        self.flush()
        super().close()

    def _run(self, interval):
        while not self._stop.wait(interval):
            self.flush()


def configure(stream=None):
    """Log INFO and above to `stream` (stderr) with timestamps; returns the handler."""
    global _writer
    handler = QueuedWriter(sys.stderr if stream is None else stream)
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    # waitress logs "Task queue depth is N" for every queued request under load.
    logging.getLogger('waitress.queue').setLevel(logging.ERROR)
    # Its "up: NAME" repeats blog's own "applied migration NAME".
    logging.getLogger('peewee.migrations').setLevel(logging.WARNING)
    _writer = handler
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
        message = '%s %s %s %s B %.1f ms' % (
            environ.get('REQUEST_METHOD', '-'), _printable(path), status[:3],
            _size(headers, body), elapsed)
        writer = _writer
        if writer is not None:
            writer.access(message)
        else:
            access_log.info('%s', message)
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
