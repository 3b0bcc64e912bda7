"""Scheduled publishing through the real server: a post scheduled a few seconds
ahead appears at its moment on two server processes sharing one database, cached
homepage and feed included, with no write in between."""

import datetime
import os
import re
import sqlite3
import subprocess
import sys
import time
import zoneinfo

import pytest

from tests.server import ROOT, Browser, Server

pytestmark = pytest.mark.server

ZONE = 'Asia/Tokyo'  # nine hours from UTC: a time read as UTC would be far off
AHEAD = 4.0  # seconds


def etag(headers):
    """The response's ETag (header names as the server wrote them)."""
    found = {name.lower(): value for name, value in headers.items()}.get('etag')
    assert found, headers
    return found


def generation(db_path):
    """The cache generation as the database holds it (read-only)."""
    with sqlite3.connect('file:%s?mode=ro' % db_path, uri=True) as conn:
        return conn.execute('SELECT generation FROM site_state WHERE id = 1').fetchone()[0]


def test_a_post_scheduled_seconds_ahead_appears_on_every_process_with_no_write(tmp_path):
    db_path = str(tmp_path / 'scheduled.db')
    with Server(db_path) as first:
        subprocess.run([sys.executable, os.path.join(ROOT, 'run.py'), 'settings', 'timezone',
                        ZONE, '--db', db_path], cwd=ROOT, check=True, capture_output=True)
        with Server(db_path, open_site=False) as second:
            alice = Browser(first.url)
            assert alice.register('alice') == 303

            def write(title, publish_at):
                status, headers, _ = alice.request('/posts/new', {
                    'csrf_token': alice.csrf('/posts/new'), 'title': title,
                    'body': 'Words of %s.' % title, 'status': 'published', 'tags': 'timely',
                    'publish_at': publish_at, 'form_id': 'f' * 16 + str(len(title))},
                    multipart=True)
                assert status == 303, status
                return int(re.search(r'/posts/(\d+)', headers['Location']).group(1))

            write('Out already', '')
            due = datetime.datetime.now(zoneinfo.ZoneInfo(ZONE)) + datetime.timedelta(
                seconds=AHEAD)
            due = due.replace(microsecond=0) + datetime.timedelta(seconds=1)
            post_id = write('Right on time', due.strftime('%Y-%m-%dT%H:%M:%S'))
            readers = [Browser(first.url), Browser(second.url)]
            paths = ['/', '/feed.atom', '/tags/timely', '/archive']
            before = {}
            time.sleep(0.3)  # past RECHECK_SECONDS: both processes know the write
            for reader in readers:
                for path in paths:
                    for _ in range(2):  # the second from the caches
                        status, headers, text = reader.request(path)
                        assert status == 200 and 'Out already' in text, (path, status)
                        assert 'Right on time' not in text, path
                    before[reader.base, path] = etag(headers)
                assert reader.request('/posts/%d' % post_id)[0] == 404
            # The author sees it, marked, with the time in the site's zone.
            status, _, text = alice.request('/posts/%d' % post_id)
            if status == 301:
                status, _, text = alice.request(_location(alice, post_id))
            assert status == 200 and 'Scheduled' in text and ZONE in text
            count = generation(db_path)
            wait = (due - datetime.datetime.now(zoneinfo.ZoneInfo(ZONE))).total_seconds()
            assert wait > 0, 'the checks took longer than the schedule left'
            time.sleep(wait + 0.1)
            for reader in readers:
                for path in paths:
                    status, headers, text = reader.request(path)
                    assert status == 200 and 'Right on time' in text, (reader.base, path)
                    assert etag(headers) != before[reader.base, path], path
                status, _, text = reader.request(_location(reader, post_id))
                assert status == 200 and 'Words of Right on time.' in text
            assert generation(db_path) == count  # nothing was written to make it so


def _location(browser, post_id):
    _, headers, _ = browser.request('/posts/%d' % post_id)
    return headers['Location']
