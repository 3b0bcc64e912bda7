"""blog.logs: the access line of every response, and what `configure()` (serve's
logging) writes: timestamps, errors with their tracebacks."""

import io
import logging
import re
import subprocess
import sys
import time

import pytest

from blog import logs
from tests.conftest import ROOT, csrf_from

ACCESS = re.compile(r'^(?P<method>[A-Z]+) (?P<path>\S+) (?P<status>\d{3}) '
                    r'(?P<bytes>\d+|-) B (?P<ms>\d+\.\d) ms$')
STAMP = r'\d{4}-\d\d-\d\d \d\d:\d\d:\d\d'


@pytest.fixture
def access(caplog):
    """The access lines logged so far, as match objects (the logger is on for INFO)."""
    caplog.set_level(logging.INFO, logger='blog.access')

    def lines():
        found = [ACCESS.match(r.getMessage()) for r in caplog.records
                 if r.name == 'blog.access']
        assert all(found), [r.getMessage() for r in caplog.records]
        return found
    return lines


class Written:
    """What `logs.configure()` wrote to a StringIO, once its queue is written out."""

    def __init__(self):
        self.stream = io.StringIO()
        self.handler = logs.configure(self.stream)

    def getvalue(self):
        self.handler.flush()
        return self.stream.getvalue()


@pytest.fixture
def configured(restore_logging):
    """`logs.configure()` writing to a StringIO."""
    return Written()


def boom_route(app):
    def boom():
        raise RuntimeError('secret detail')
    app.route('/boom', 'GET', boom)


def test_one_access_line_per_response_of_every_kind(client, make_user, make_post, access):
    make_post(make_user('alice'))
    page = client.get('/?page=1')
    client.get('/', headers={'If-None-Match': page.headers['ETag']}, status=304)
    style = client.get('/static/style.css')
    client.get('/no/such/page?q=1', status=404)
    token = csrf_from(client.get('/login'))
    body = 'csrf_token=%s&username=%s' % (token, 'x' * (1024 * 1024 + 10))
    client.post('/register', body, content_type='application/x-www-form-urlencoded', status=413)
    client.head('/')

    seen = [(m['method'], m['path'], m['status'], m['bytes']) for m in access()]
    assert seen == [
        ('GET', '/', '200', str(len(page.body))),
        ('GET', '/', '304', '0'),
        ('GET', '/static/style.css', '200', style.headers['Content-Length']),
        ('GET', '/no/such/page', '404', seen[3][3]),
        ('GET', '/login', '200', seen[4][3]),
        ('POST', '/register', '413', seen[5][3]),
        ('HEAD', '/', '200', str(len(page.body))),
    ]
    assert all(int(line) > 0 for line in (seen[3][3], seen[4][3], seen[5][3]))


def test_an_unexpected_error_gets_its_access_line(app, client, access):
    boom_route(app)
    client.get('/boom', status=500)
    (line,) = access()
    assert (line['path'], line['status']) == ('/boom', '500')


def test_a_path_that_could_forge_a_log_line_is_logged_percent_encoded(client, access):
    client.get('/a%0A2026-01-01%2000:00:00%20INFO%20blog.access%20GET%20/%20200/%ff',
               status=400)
    (line,) = access()
    assert line['path'] == '/a%0A2026-01-01%2000:00:00%20INFO%20blog.access%20GET%20/%20200/%FF'


def test_configured_logs_have_timestamps_and_error_tracebacks(app, client, configured):
    boom_route(app)
    client.get('/boom', status=500)
    lines = configured.getvalue().splitlines()
    assert re.match(r'^%s ERROR blog error handling GET /boom$' % STAMP, lines[0]), lines
    assert lines[1] == 'Traceback (most recent call last):'
    assert 'RuntimeError: secret detail' in lines
    assert re.match(r'^%s INFO blog.access GET /boom 500 \d+ B \d+\.\d ms$' % STAMP,
                    lines[-1]), lines


def test_configure_silences_waitress_queue_depth(configured):
    logging.getLogger('waitress.queue').warning('Task queue depth is 2')
    logging.getLogger('waitress').warning('a real warning')
    assert 'queue depth' not in configured.getvalue()
    assert 'a real warning' in configured.getvalue()


def fake_app(body, headers=()):
    def wsgi(environ, start_response):
        start_response('200 OK', list(headers))
        return body
    return wsgi


def call(wsgi, path='/x'):
    statuses = []
    environ = {'REQUEST_METHOD': 'GET', 'PATH_INFO': path, 'QUERY_STRING': 'q=1'}
    body = logs.access_logged(wsgi)(environ, lambda status, headers, exc_info=None:
                                    statuses.append(status))
    assert statuses == ['200 OK']
    return body


@pytest.mark.parametrize('body, headers, logged', [
    ([b'abc', b'de'], [('Content-Length', '99')], '99'),  # the header wins
    ([b'abc', b'de'], [], '5'),
    (iter([b'abc']), [], '-'),  # a stream of unknown length
])
def test_bytes_are_the_length_when_known(access, body, headers, logged):
    assert call(fake_app(body, headers)) is body
    (line,) = access()
    assert (line['path'], line['bytes']) == ('/x', logged)


def test_when_the_logger_is_off_the_request_goes_straight_through(caplog):
    seen = []

    def wsgi(environ, start_response):
        seen.append(start_response)
        return [b'']

    def start_response(status, headers, exc_info=None):
        raise AssertionError('not called by this app')

    assert not logging.getLogger('blog.access').isEnabledFor(logging.INFO)
    logs.access_logged(wsgi)({'PATH_INFO': '/'}, start_response)
    assert seen == [start_response]  # not even a wrapper made for it
    assert not caplog.records


def test_importing_configures_no_logging():
    code = ('import logging, blog.app, blog.cli, blog.logs; root = logging.getLogger(); '
            'print(len(root.handlers), root.level, '
            'logging.getLogger("blog.access").isEnabledFor(logging.INFO))')
    result = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                            cwd=ROOT, timeout=60, check=True)
    assert result.stdout.split() == ['0', str(logging.WARNING), 'False']


def test_the_writer_keeps_the_order_and_writes_other_records_at_once(restore_logging):
    stream = io.StringIO()
    handler = logs.configure(stream)
    handler.access('GET /a 200 1 B 0.1 ms')
    logging.getLogger('blog').info('it broke')
    # The record was written at once, after the access line queued before it.
    lines = stream.getvalue().splitlines()
    assert [line.split(' ', 2)[2] for line in lines] == [
        'INFO blog.access GET /a 200 1 B 0.1 ms', 'INFO blog it broke']
    assert all(re.match(STAMP + ' ', line) for line in lines)


def test_the_writer_thread_writes_queued_lines_without_being_asked(restore_logging):
    stream = io.StringIO()
    handler = logs.QueuedWriter(stream, interval=0.01)
    try:
        handler.access('GET /b 200 1 B 0.1 ms')
        for _ in range(500):
            if stream.getvalue():
                break
            time.sleep(0.01)
        assert stream.getvalue().endswith(' INFO blog.access GET /b 200 1 B 0.1 ms\n')
    finally:
        handler.close()


def test_closing_writes_what_is_left_and_hands_access_lines_back(restore_logging, caplog):
    stream = io.StringIO()
    handler = logs.configure(stream)
    handler.access('GET /c 200 1 B 0.1 ms')
    logging.getLogger().removeHandler(handler)
    handler.close()
    assert 'GET /c' in stream.getvalue()
    assert logs._writer is None  # access lines go back to the logger (and caplog)
    call(fake_app([b'x']))
    (record,) = [r for r in caplog.records if r.name == 'blog.access']
    assert ACCESS.match(record.getMessage())['path'] == '/x'
    assert 'GET /x' not in stream.getvalue()


def test_a_closed_stream_does_not_stop_the_server(restore_logging):
    stream = io.StringIO()
    handler = logs.configure(stream)
    stream.close()
    handler.access('GET /d 200 1 B 0.1 ms')
    handler.flush()  # no exception
    assert not handler._lines
