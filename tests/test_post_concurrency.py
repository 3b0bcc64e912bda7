"""Through the real server: sixteen people save the same version of a post at once.

Exactly one wins (303); the other fifteen get the 409 conflict page with their own
text; the version moves by exactly one; no 500 and no "database is locked".
"""

import re
import sqlite3
import subprocess
import sys
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.conftest import PASSWORD
from tests.server import ROOT, Browser, Server

pytestmark = pytest.mark.server
WRITERS = 16


def test_sixteen_simultaneous_edits_of_one_version(tmp_path):
    db_path = tmp_path / 'blog.db'
    # An admin made on the command line (password on stdin), an author who registers.
    made = subprocess.run([sys.executable, 'run.py', 'create-admin', 'root', '--db',
                           str(db_path)], input=PASSWORD + '\n', cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert made.returncode == 0, made.stderr

    with Server(db_path, threads=WRITERS) as server:
        alice = Browser(server.url)
        assert alice.register('alice') == 303
        token, _, _ = alice.form('/posts/new')
        status, headers, _ = alice.request('/posts/new', {
            'csrf_token': token, 'title': 'Contended', 'body': 'The original text.',
            'status': 'published', 'tags': 'race'})
        assert status == 303
        post_id = int(re.match(r'/posts/(\d+)-contended\?', headers['Location']).group(1))

        # Sixteen signed-in sessions: half the author's, half the admin's.
        names = ['alice' if i % 2 else 'root' for i in range(WRITERS)]
        with ThreadPoolExecutor(WRITERS) as pool:
            browsers = list(pool.map(lambda name: Browser(server.url).sign_in(name), names))
        forms = [b.form('/posts/%d/edit' % post_id) for b in browsers]
        assert {version for _, version, _ in forms} == {'1'}

        barrier = threading.Barrier(WRITERS)

        def submit(i):
            token, version, _ = forms[i]
            fields = {'csrf_token': token, 'version': version, 'title': 'Contended',
                      'body': 'Edit number %d, written by %s.' % (i, names[i]),
                      'status': 'published', 'tags': 'race'}
            barrier.wait(timeout=30)
            return browsers[i].request('/posts/%d/edit' % post_id, fields)

        with ThreadPoolExecutor(WRITERS) as pool:
            results = list(pool.map(submit, range(WRITERS)))
        log = server.output()

    statuses = Counter(status for status, _, _ in results)
    assert statuses == Counter({303: 1, 409: WRITERS - 1}), statuses
    winner = next(i for i, (status, _, _) in enumerate(results) if status == 303)
    assert results[winner][1]['Location'] == '/posts/%d-contended?notice=saved' % post_id
    for i, (status, _, text) in enumerate(results):
        if status == 409:
            # Each loser sees their own text, editable, and the newest version.
            assert '>Edit number %d, written by %s.</textarea>' % (i, names[i]) in text
            assert 'name="version" value="2"' in text
            assert 'Edit number %d' % winner in text  # the saved version, in the diff
    assert 'database is locked' not in log
    assert 'Traceback' not in log and ' 500 ' not in log

    conn = sqlite3.connect(str(db_path))
    try:
        version, body = conn.execute('SELECT version, body FROM post WHERE id = ?',
                                     (post_id,)).fetchone()
        revisions = conn.execute('SELECT version, body FROM revision WHERE post_id = ?',
                                 (post_id,)).fetchall()
        tags = conn.execute('SELECT tag FROM post_tag WHERE post_id = ?', (post_id,)).fetchall()
    finally:
        conn.close()
    assert version == 2
    assert body == 'Edit number %d, written by %s.' % (winner, names[winner])
    assert revisions == [(1, 'The original text.')]
    assert tags == [('race',)]
