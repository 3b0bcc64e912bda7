"""Through the real server: readers and writers at once, and a SIGKILL while
authors are saving. Nothing acknowledged is ever lost; nothing answers 5xx."""

import re
import signal
import sqlite3
import threading
import time

import pytest

from tests.server import Browser, Server

pytestmark = pytest.mark.server


def writer(base, username):
    """A new author, signed up over HTTP, holding the csrf token their saves send."""
    browser = Browser(base)
    assert browser.register(username) == 303
    browser.token = browser.csrf('/posts/new')
    return browser


def new_post(browser, title, body):
    """POST /posts/new; returns the new post id on a 303, else None."""
    status, headers, _ = browser.request('/posts/new', {
        'title': title, 'body': body, 'status': 'published', 'tags': 'load',
        'csrf_token': browser.token})
    if status != 303:
        return status, None
    match = re.match(r'^/posts/(\d+)', headers['Location'])
    return status, int(match.group(1))


def edit_post(browser, post_id, version, title, body):
    status, _, _ = browser.request('/posts/%d/edit' % post_id, {
        'title': title, 'body': body, 'status': 'published', 'tags': 'load',
        'version': str(version), 'csrf_token': browser.token})
    return status


def test_readers_and_writers_at_once(tmp_path):
    with Server(tmp_path / 'blog.db', threads=4) as server:
        writers = [writer(server.url, 'writer%d' % i) for i in range(4)]
        statuses, acknowledged = [], []
        lock = threading.Lock()

        def write(i, browser):
            for k in range(12):
                title = 'w%d-%d' % (i, k)
                status, post_id = new_post(browser, title, 'body of %s' % title)
                edited = None
                if post_id:
                    edited = edit_post(browser, post_id, 1, title, 'edited body of ' + title)
                with lock:
                    statuses.extend([status, edited] if edited else [status])
                    if status == 303:
                        acknowledged.append((post_id, title, edited == 303))

        def read(j):
            reader = Browser(server.url)
            for k in range(40):
                path = ['/', '/authors', '/search?q=body', '/feed.atom',
                        '/authors/writer%d' % (k % 4), '/posts/%d' % (k % 10 + 1)][k % 6]
                status, headers, _ = reader.request(path)
                if status == 301:  # /posts/<id>: on to its slugged address
                    status, _, _ = reader.request(headers['Location'])
                with lock:
                    statuses.append(status)

        threads = ([threading.Thread(target=write, args=(i, b)) for i, b in enumerate(writers)]
                   + [threading.Thread(target=read, args=(j,)) for j in range(6)])
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        log = server.output()

    assert all(s < 500 for s in statuses), sorted(set(statuses))
    assert len(acknowledged) == 48
    assert 'database is locked' not in log and 'Traceback' not in log
    conn = sqlite3.connect(tmp_path / 'blog.db')
    rows = dict((r[0], (r[1], r[2])) for r in conn.execute(
        'SELECT id, title, body FROM post'))
    for post_id, title, edited in acknowledged:
        assert rows[post_id][0] == title
        if edited:
            assert rows[post_id][1] == 'edited body of ' + title


def test_sigkill_while_saving_loses_no_acknowledged_save(tmp_path):
    db = tmp_path / 'blog.db'
    server = Server(db, threads=4).start()
    authors = [writer(server.url, 'author%d' % i) for i in range(3)]
    acknowledged = []  # (post_id, version, body) for every 303
    lock = threading.Lock()
    stop = threading.Event()

    def save(i, browser):
        k = 0
        post_id, version = None, 1
        while not stop.is_set():
            k += 1
            body = 'author %d save %d' % (i, k)
            try:
                if post_id is None:
                    status, post_id = new_post(browser, 'post of %d' % i, body)
                else:
                    status = edit_post(browser, post_id, version, 'post of %d' % i, body)
                    if status == 303:
                        version += 1
            except OSError:
                return  # the server is gone
            if status == 303:
                with lock:
                    acknowledged.append((post_id, version, body))

    threads = [threading.Thread(target=save, args=(i, b)) for i, b in enumerate(authors)]
    for thread in threads:
        thread.start()
    time.sleep(3)
    server.stop(signal.SIGKILL)
    stop.set()
    for thread in threads:
        thread.join(30)
    assert len(acknowledged) > 10

    with Server(db) as again:
        assert Browser(again.url).request('/healthz')[2] == 'ok'
    conn = sqlite3.connect(db)
    assert conn.execute('PRAGMA integrity_check').fetchone()[0] == 'ok'
    latest = {}
    for post_id, version, body in acknowledged:
        if version >= latest.get(post_id, (0, ''))[0]:
            latest[post_id] = (version, body)
    for post_id, (version, body) in latest.items():
        saved_version, saved_body = conn.execute(
            'SELECT version, body FROM post WHERE id = ?', (post_id,)).fetchone()
        # A save in flight at the kill may have committed without its answer.
        assert saved_version >= version
        if saved_version == version:
            assert saved_body == body
        older = conn.execute('SELECT count(*) FROM revision WHERE post_id = ?',
                             (post_id,)).fetchone()[0]
        assert older == saved_version - 1  # every replaced version is in the history


@pytest.mark.parametrize('size, who_answers', [
    (2 * 1024 * 1024, 'app'),  # over the app's 1 MiB: the app's own 413 page
    # Over waitress's limit (twice the editor's 8 MiB body and 10 MiB image, about 37 MiB):
    # waitress's plain 413.
    (40 * 1024 * 1024, 'waitress'),
])
def test_oversized_bodies_get_413_and_the_server_keeps_serving(tmp_path, size, who_answers):
    import socket
    with Server(tmp_path / 'blog.db') as server:
        # waitress buffers a body it accepts before calling the app, so that one is
        # sent whole; one over waitress's own limit is refused from its
        # Content-Length, so only its start is sent (the client never blocks writing
        # megabytes into a connection about to close).
        body = b'title=' + b'x' * (size - 6) if who_answers == 'app' else b'title=xxxx'
        with socket.create_connection(('127.0.0.1', server.port), timeout=30) as sock:
            sock.sendall(b'POST /register HTTP/1.1\r\nHost: 127.0.0.1\r\n'
                         b'Content-Type: application/x-www-form-urlencoded\r\n'
                         b'Content-Length: %d\r\nConnection: close\r\n\r\n' % size + body)
            answer = b''
            while chunk := sock.recv(65536):
                answer += chunk
        status_line, _, rest = answer.partition(b'\r\n')
        assert status_line.split()[1] == b'413', status_line
        if who_answers == 'app':
            assert b'<h1>Too large</h1>' in rest
            assert b"frame-ancestors 'none'" in rest  # the app's headers, too
        assert Browser(server.url).request('/healthz')[2] == 'ok'
        assert 'Traceback' not in server.output()
