"""`python run.py demo`: realistic data through the real tables, consistent with
what the schema's triggers would have made, and demo authors can sign in."""

import json
import re
import sqlite3 as stdlib_sqlite3

import pytest
from webtest import TestApp

from blog import demo, sqlite_bulk
from blog.app import create_app
from blog.cli import main
from blog.config import Config
from blog.markdown import render_markdown
from blog.models import TAG_SPAN
from blog.slugs import slugify
from tests.conftest import TEST_COST, Auth


@pytest.fixture
def demo_db(tmp_path, capsys):
    path = tmp_path / 'demo.db'
    assert main(['demo', '--db', str(path), '--authors', '6', '--posts', '400',
                 '--seed', '3']) == 0
    out = capsys.readouterr().out
    return path, out


def rows(path, sql, args=()):
    conn = stdlib_sqlite3.connect(str(path))
    try:
        return conn.execute(sql, args).fetchall()
    finally:
        conn.close()


def test_counts_and_the_published_draft_mix(demo_db):
    path, out = demo_db
    assert rows(path, 'SELECT COUNT(*) FROM user') == [(6,)]
    assert rows(path, 'SELECT COUNT(*) FROM post') == [(400,)]
    (drafts,), = rows(path, "SELECT COUNT(*) FROM post WHERE status = 'draft'")
    assert 0 < drafts < 40
    assert rows(path, "SELECT COUNT(*) FROM post WHERE status = 'draft'"
                      ' AND published_at IS NOT NULL') == [(0,)]
    assert rows(path, "SELECT COUNT(*) FROM post WHERE status = 'published'"
                      ' AND (published_at IS NULL OR created_at > published_at)') == [(0,)]
    # Spread over years, ids in publication order.
    (first, last), = rows(path, 'SELECT MIN(published_at), MAX(published_at) FROM post')
    assert last - first > 3 * 365 * 86400 * 10 ** 6
    times = [t for (t,) in rows(path, 'SELECT updated_at FROM post ORDER BY id')]
    assert times == sorted(times)
    assert 'Made 6 authors and 400 posts' in out


def test_content_is_varied_markdown_with_real_html(demo_db):
    path, _ = demo_db
    bodies = rows(path, 'SELECT DISTINCT body, html FROM post')
    assert len(bodies) > 50
    for body, html in bodies:
        assert html == render_markdown(body)
        assert re.search(r'<h[1-6]>', html) and '<li>' in html
        assert re.search(r'<pre( class="highlight")? tabindex="0"><code', html)
    (titles,), = rows(path, 'SELECT COUNT(DISTINCT title) FROM post')
    assert titles > 200
    (authors,), = rows(path, 'SELECT COUNT(DISTINCT author_id) FROM post')
    assert authors == 6
    names = rows(path, "SELECT display_name, bio FROM user WHERE display_name = ''")
    assert names == []


def test_every_demo_post_has_its_titles_slug(demo_db):
    path, _ = demo_db
    pairs = rows(path, 'SELECT DISTINCT title, slug FROM post')
    assert len(pairs) > 200
    assert all(slug == slugify(title) for title, slug in pairs)


def test_tags_search_index_and_generation_match_the_triggers(demo_db):
    path, _ = demo_db
    expected = sorted((post_id, tag) for post_id, tags in rows(path, 'SELECT id, tags FROM post')
                      for tag in set(json.loads(tags)))
    assert sorted(rows(path, 'SELECT post_id, tag FROM post_tag')) == expected
    assert len(expected) > 300
    conn = stdlib_sqlite3.connect(str(path))
    conn.execute("INSERT INTO post_search (post_search) VALUES ('integrity-check')")
    matched = conn.execute("SELECT COUNT(*) FROM post_search WHERE post_search MATCH 'sqlite'"
                           ).fetchone()[0]
    assert matched == conn.execute("SELECT COUNT(*) FROM post WHERE lower(title || body || tags)"
                                   " LIKE '%sqlite%'").fetchone()[0] > 0
    conn.close()
    assert rows(path, 'SELECT generation FROM site_state') != [(0,)]
    # The bigger FTS5 term buffer used while loading is back to SQLite's default.
    assert rows(path, "SELECT v FROM post_search_config WHERE k = 'hashsize'") in (
        [], [(sqlite_bulk.FTS5_HASHSIZE_DEFAULT,)])


def test_the_insert_triggers_are_back_exactly(demo_db):
    path, _ = demo_db
    for migration, name in sqlite_bulk.BULK_TRIGGERS:
        (sql,), = rows(path, "SELECT sql FROM sqlite_master WHERE name = ?", (name,))
        assert sql == sqlite_bulk.trigger_sql(migration, name)
    (before,), = rows(path, 'SELECT generation FROM site_state')
    conn = stdlib_sqlite3.connect(str(path))
    conn.execute("INSERT INTO post (author_id, title, body, html, status, tags, created_at,"
                 " updated_at) VALUES (1, 't', 'b', '', 'draft', '[\"new-tag\"]', 0, 0)")
    conn.commit()
    conn.close()
    assert rows(path, "SELECT COUNT(*) FROM post_tag WHERE tag = 'new-tag'") == [(1,)]
    assert rows(path, 'SELECT generation FROM site_state') == [(before + 1,)]


def test_demo_authors_sign_in_with_the_printed_password(demo_db):
    path, out = demo_db
    password = re.search(r'password: (.+)', out).group(1)
    username = re.search(r'username (\S+)', out).group(1)
    assert password == demo.DEMO_PASSWORD
    hashes = {h for (h,) in rows(path, 'SELECT password FROM user')}
    assert len(hashes) == 1 and next(iter(hashes)).startswith('scrypt$')
    app = create_app(Config(db_path=str(path), hash_cost=TEST_COST))
    db = app.config['blog.site'].backend.database
    with db.connection_context():
        found = db.execute_sql('SELECT username FROM user WHERE username = ?'
                               ' AND check_password(?, password)',
                               (username, password)).fetchall()
        assert found == [(username,)]
        wrong = db.execute_sql('SELECT COUNT(*) FROM user WHERE check_password(?, password)',
                               ('not the password',)).fetchone()
        assert wrong == (0,)
    client = TestApp(app, extra_environ={'REMOTE_ADDR': '192.0.2.9'})
    Auth(client).login(username, password)
    assert 'Signed in as' in client.get('/').text


def test_demo_pages_render(demo_db):
    path, _ = demo_db
    client = TestApp(create_app(Config(db_path=str(path), hash_cost=TEST_COST)))
    home = client.get('/')
    assert home.text.count('<li>') >= 6
    assert 'href="/authors/' in home.text
    client.get('/authors')
    username = rows(path, 'SELECT username FROM user ORDER BY id LIMIT 1')[0][0]
    assert 'published post' in client.get('/authors/' + username).text


SPANS = ('SELECT tag, MAX(published_at, 0) / 2592000000000, COUNT(*) FROM post_tag'
         ' WHERE published_at IS NOT NULL GROUP BY 1, 2')


def test_running_it_again_adds_more(demo_db, capsys):
    path, _ = demo_db
    assert main(['demo', '--db', str(path), '--authors', '2', '--posts', '10']) == 0
    # The tag span counts, recounted after each load with their triggers back.
    assert TAG_SPAN == 2592000000000  # as the SQL here and in migration 0019 spell it
    assert sorted(rows(path, 'SELECT tag, span, posts FROM tag_span WHERE posts > 0')) == sorted(
        rows(path, SPANS))
    assert len(rows(path, "SELECT name FROM sqlite_master WHERE name LIKE 'post_tag_span_%'")
               ) == 4
    assert rows(path, 'SELECT COUNT(*) FROM user') == [(8,)]
    assert rows(path, 'SELECT COUNT(*) FROM post') == [(410,)]
    assert rows(path, "SELECT COUNT(*) FROM user WHERE username LIKE '%-7'") == [(1,)]


def test_bad_arguments_are_one_line_and_status_2(tmp_path, capsys):
    with pytest.raises(SystemExit) as exc:
        main(['demo', '--db', str(tmp_path / 'x.db'), '--authors', '0'])
    assert exc.value.code == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1


def test_a_bulk_load_leaves_the_search_index_in_one_segment(tmp_path, monkeypatch, capsys):
    # A tiny term buffer makes the rebuild write many segments, as 1M posts do at the
    # real one; left so, a later ordinary publish pays for merging them all.
    monkeypatch.setattr(sqlite_bulk, 'FTS5_HASHSIZE_BULK', 4096)
    path = tmp_path / 'merged.db'
    assert main(['demo', '--db', str(path), '--authors', '3', '--posts', '300']) == 0
    assert rows(path, 'SELECT COUNT(DISTINCT segid) FROM post_search_idx') == [(1,)]
    assert rows(path, "SELECT COUNT(*) FROM post_search WHERE post_search MATCH 'sqlite'"
                ) != [(0,)]
