"""`run.py backup` takes a consistent copy while the real server keeps writing,
and the copy serves again."""

import os
import sqlite3
import subprocess
import sys
import threading
import urllib.request

import pytest

from tests.server import ROOT, Browser, Server

pytestmark = pytest.mark.server


def test_backup_while_serving_then_restore(tmp_path):
    db = tmp_path / 'blog.db'
    copy = tmp_path / 'copy.db'
    with Server(db) as server:
        for i in range(3):
            assert Browser(server.url).register('before%d' % i) == 303
        statuses = []
        writers = [threading.Thread(target=lambda i=i: statuses.append(
            Browser(server.url).register('during%d' % i))) for i in range(6)]
        for thread in writers:
            thread.start()
        result = subprocess.run([sys.executable, os.path.join(ROOT, 'run.py'), 'backup',
                                 str(copy), '--db', str(db)],
                                capture_output=True, text=True, timeout=120)
        for thread in writers:
            thread.join(60)
        assert result.returncode == 0, result.stderr
        assert statuses == [303] * 6
        assert 'database is locked' not in server.output()

    conn = sqlite3.connect(copy)
    assert conn.execute('PRAGMA integrity_check').fetchone()[0] == 'ok'
    copied = {row[0] for row in conn.execute('SELECT username FROM user')}
    conn.close()
    live = sqlite3.connect(db)
    everyone = {row[0] for row in live.execute('SELECT username FROM user')}
    live.close()
    assert {'before0', 'before1', 'before2'} <= copied <= everyone
    assert len(everyone) == 9

    # The copy is a working database: serve it and sign in as a user it holds.
    with Server(copy) as restored:
        Browser(restored.url).sign_in('before0')  # asserts the 303
        assert urllib.request.urlopen(restored.url + '/healthz').read() == b'ok'
