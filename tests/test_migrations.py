"""The schema's migrations: a database made by an older version moves forward
without losing anything."""

import pytest
from peewee import IntegrityError
from playhouse.migrations import Runner

from blog.db import MIGRATIONS_DIR
from blog.models import PUBLISHED
from blog.sqlite import SqliteBackend
from blog.sqlite_bulk import _load_migration
from tests.conftest import csrf_from


def old_database(tmp_path, target, posts):
    """A database migrated up to `target` only, holding user 1, `posts` published
    posts (ids 1 to `posts`, tagged "x") and a revision of post 3."""
    db = SqliteBackend(str(tmp_path / 'old.db')).database
    with db.connection_context():
        Runner(db, directory=MIGRATIONS_DIR).up(target=target)
        db.execute_sql("INSERT INTO user (username, password, created_at, updated_at) "
                       "VALUES ('a', 'x', 0, 0)")
        for i in range(1, posts + 1):
            db.execute_sql(
                "INSERT INTO post (author_id, title, body, html, status, tags, created_at, "
                "updated_at, published_at) VALUES (1, ?, 'word', 'h', 'published', "
                "'[\"x\"]', 0, 0, ?)", ('title %d' % i, i))
        db.execute_sql("INSERT INTO revision (post_id, version, title, body, tags, status, "
                       "saved_at) VALUES (3, 1, 't', 'b', '[]', 'draft', 0)")
    return db


def test_rebuild_for_autoincrement_keeps_rows_links_and_triggers(tmp_path):
    db = old_database(tmp_path, '0005_sitemap_index', posts=3)
    with db.connection_context():

        applied = Runner(db, directory=MIGRATIONS_DIR).up()
        assert '0006_post_ids_never_reused' in applied
        assert 'AUTOINCREMENT' in db.execute_sql(
            "SELECT sql FROM sqlite_master WHERE name = 'post'").fetchone()[0]
        assert db.execute_sql('SELECT count(*) FROM post').fetchone()[0] == 3
        assert db.execute_sql('SELECT count(*) FROM revision').fetchone()[0] == 1
        assert db.execute_sql('PRAGMA foreign_keys').fetchone()[0] == 1
        assert db.execute_sql('PRAGMA integrity_check').fetchone()[0] == 'ok'
        # The triggers came back: search, tags and the cache generation follow writes.
        db.execute_sql("UPDATE post SET title = 'renamed', tags = '[\"y\"]' WHERE id = 1")
        assert db.execute_sql("SELECT rowid FROM post_search WHERE post_search MATCH "
                              "'renamed'").fetchall() == [(1,)]
        assert db.execute_sql('SELECT tag FROM post_tag WHERE post_id = 1').fetchall() \
            == [('y',)]
        # Cascades still work, and the id of a deleted newest post is never reused.
        db.execute_sql('DELETE FROM post WHERE id = 3')
        assert db.execute_sql('SELECT count(*) FROM revision').fetchone()[0] == 0
        db.execute_sql("INSERT INTO post (author_id, title, body, html, status, tags, "
                       "created_at, updated_at) VALUES (1, 'new', 'b', 'h', 'draft', '[]', 0, 0)")
        assert db.execute_sql('SELECT max(id) FROM post').fetchone()[0] == 4
    db.close_all()


def test_stale_form_of_a_deleted_post_never_overwrites_a_new_one(client_for, client, auth,
                                                                 make_user, make_post, dbconn):
    """The newest post is deleted for good and a new one made: the old form must not
    hit it."""
    alice = make_user('alice')
    make_user('root', role='admin')
    post = make_post(alice, title='Old', body='old body', status=PUBLISHED)
    admin = client_for('root')
    stale = admin.get('/posts/%d/edit' % post.id).forms['post-form']

    auth.login('alice')
    token = csrf_from(client.get('/posts/new'))
    client.post('/posts/%d/delete' % post.id, {'csrf_token': token}, status=303)
    client.post('/trash/%d/purge' % post.id, {'csrf_token': token}, status=303)
    created = client.post('/posts/new', {'title': 'Brand new', 'body': 'new body',
                                         'status': 'published', 'tags': '',
                                         'csrf_token': token}, status=303)
    assert not created.headers['Location'].startswith('/posts/%d-' % post.id)

    stale['title'] = 'Admin edit'
    stale.submit(status=404)  # the rescue page, with the admin's text kept
    titles = [row[0] for row in dbconn.execute_sql('SELECT title FROM post')]
    assert titles == ['Brand new']


def test_trash_rebuild_keeps_rows_indexes_triggers_and_the_id_counter(tmp_path):
    db = old_database(tmp_path, '0006_post_ids_never_reused', posts=4)
    with db.connection_context():
        db.execute_sql('DELETE FROM post WHERE id = 4')  # the counter stays at 4
        before = set(db.execute_sql("SELECT type, name FROM sqlite_master "
                                    "WHERE tbl_name = 'post'").fetchall())

        applied = Runner(db, directory=MIGRATIONS_DIR).up()
        assert '0007_trash' in applied
        after = set(db.execute_sql("SELECT type, name FROM sqlite_master "
                                   "WHERE tbl_name = 'post'").fetchall())
        assert before < after  # every index and trigger is back, the new indexes too
        assert {('index', 'post_trashed_at'), ('index', 'post_trashed_author')} <= after
        assert db.execute_sql('SELECT id, title, status, published_at, trashed_status, '
                              'deleted_at FROM post ORDER BY id').fetchall() == [
            (i, 'title %d' % i, PUBLISHED, i, None, None) for i in range(1, 4)]
        assert db.execute_sql('SELECT count(*) FROM revision').fetchone()[0] == 1
        assert db.execute_sql("SELECT name, seq FROM sqlite_sequence").fetchall() \
            == [('post', 4)]
        assert db.execute_sql('PRAGMA foreign_keys').fetchone()[0] == 1
        assert db.execute_sql('PRAGMA integrity_check').fetchone()[0] == 'ok'

        # The new states are allowed, with the trash columns in step; others are not.
        db.execute_sql("UPDATE post SET status = 'pending' WHERE id = 1")
        db.execute_sql("UPDATE post SET trashed_status = status, status = 'trashed', "
                       "deleted_at = 5 WHERE id = 2")
        for bad in ("UPDATE post SET status = 'bogus' WHERE id = 1",
                    "UPDATE post SET status = 'trashed' WHERE id = 3",
                    "UPDATE post SET deleted_at = 5 WHERE id = 3",
                    "UPDATE post SET trashed_status = 'trashed', status = 'trashed', "
                    "deleted_at = 5 WHERE id = 3"):
            with pytest.raises(IntegrityError):
                db.execute_sql(bad)
        # The triggers came back, cascades work, and ids are still never reused.
        db.execute_sql("UPDATE post SET title = 'renamed' WHERE id = 1")
        assert db.execute_sql("SELECT rowid FROM post_search WHERE post_search MATCH "
                              "'renamed'").fetchall() == [(1,)]
        db.execute_sql('DELETE FROM post WHERE id = 3')
        assert db.execute_sql('SELECT count(*) FROM revision').fetchone()[0] == 0
        db.execute_sql("INSERT INTO post (author_id, title, body, html, status, tags, "
                       "created_at, updated_at) VALUES (1, 'new', 'b', 'h', 'draft', '[]', 0, 0)")
        assert db.execute_sql('SELECT max(id) FROM post').fetchone()[0] == 5
    db.close_all()


def test_throttle_table_arrives_on_an_existing_database(tmp_path):
    db = old_database(tmp_path, '0008_post_form_ids', posts=3)
    with db.connection_context():
        applied = Runner(db, directory=MIGRATIONS_DIR).up()
        assert '0009_throttle' in applied
        indexes = {row[0] for row in db.execute_sql(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'throttle'")}
        assert {'throttle_scope_key_bucket', 'throttle_expires_at'} <= indexes
        assert db.execute_sql('SELECT count(*) FROM post').fetchone() == (3,)


def test_tag_rows_get_their_posts_dates_on_an_existing_database(tmp_path):
    db = old_database(tmp_path, '0009_throttle', posts=3)
    with db.connection_context():
        db.execute_sql("UPDATE post SET status = 'draft', published_at = NULL WHERE id = 2")
        applied = Runner(db, directory=MIGRATIONS_DIR).up()
        assert '0010_tag_dates' in applied
        rows = db.execute_sql(
            'SELECT post_id, published_at FROM post_tag ORDER BY post_id').fetchall()
        assert rows == [(1, 1), (2, None), (3, 3)]
        indexes = {row[0] for row in db.execute_sql(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'post_tag'")}
        assert 'post_tag_tag_published' in indexes


def test_the_homepage_ordering_is_seeded_on_an_existing_database(tmp_path):
    db = old_database(tmp_path, '0010_tag_dates', posts=4)
    with db.connection_context():
        db.execute_sql("INSERT INTO user (username, password, created_at, updated_at) "
                       "VALUES ('b', 'x', 0, 0)")
        db.execute_sql("UPDATE post SET author_id = 2 WHERE id = 2")
        db.execute_sql("UPDATE post SET status = 'draft', published_at = NULL WHERE id = 4")
        applied = Runner(db, directory=MIGRATIONS_DIR).up()
        assert '0011_homepage_order' in applied
        assert db.execute_sql('SELECT author_id, published_at, post_id FROM author_latest'
                              ' ORDER BY author_id').fetchall() == [(1, 3, 3), (2, 2, 2)]
        # Its triggers are in place: publishing post 4 makes it user 1's latest.
        db.execute_sql("UPDATE post SET status = 'published', published_at = 9 WHERE id = 4")
        assert db.execute_sql('SELECT published_at, post_id FROM author_latest'
                              ' WHERE author_id = 1').fetchall() == [(9, 4)]
    db.close_all()


def test_a_site_with_users_keeps_open_registration_and_its_admins(tmp_path):
    db = old_database(tmp_path, '0011_homepage_order', posts=3)
    with db.connection_context():
        db.execute_sql("INSERT INTO user (username, password, is_admin, created_at, "
                       "updated_at) VALUES ('boss', 'x', 1, 0, 0)")
        db.execute_sql("UPDATE post SET status = 'pending' WHERE id = 1")
        applied = Runner(db, directory=MIGRATIONS_DIR).up()
        assert applied[:4] == ['0012_site_settings', '0013_roles', '0014_invitations',
                               '0015_review']
        # It had users: it stays open, new accounts authors, as before settings.
        assert db.execute_sql('SELECT site_name, registration, default_role, version '
                              'FROM site_settings').fetchall() == [('Blog', 'open', 'author', 1)]
        assert db.execute_sql('SELECT username, role FROM user ORDER BY id').fetchall() == [
            ('a', 'author'), ('boss', 'admin')]
        columns = {row[1] for row in db.execute_sql('PRAGMA table_info("user")')}
        assert 'is_admin' not in columns
        # A post already in review got its submission time.
        assert db.execute_sql('SELECT submitted_at IS NOT NULL FROM post WHERE id = 1'
                              ).fetchone() == (1,)
    db.close_all()


def test_a_new_site_is_invite_only_with_contributors(tmp_path):
    db = SqliteBackend(str(tmp_path / 'new.db')).database
    with db.connection_context():
        Runner(db, directory=MIGRATIONS_DIR).up()
        assert db.execute_sql('SELECT registration, default_role FROM site_settings'
                              ).fetchall() == [('invite', 'contributor')]
    db.close_all()


def test_posts_from_before_scheduling_stay_as_they_were(tmp_path):
    db = old_database(tmp_path, '0015_review', posts=3)
    with db.connection_context():
        applied = Runner(db, directory=MIGRATIONS_DIR).up()
        assert '0017_scheduling' in applied and '0018_invitation_withdrawal' in applied
        # Nobody asked for a time: every post keeps its date, and the revision too.
        assert db.execute_sql('SELECT id, published_at, publish_at FROM post ORDER BY id'
                              ).fetchall() == [(1, 1, None), (2, 2, None), (3, 3, None)]
        assert db.execute_sql('SELECT publish_at FROM revision').fetchall() == [(None,)]
        columns = {row[1] for row in db.execute_sql('PRAGMA table_info("invitation")')}
        assert 'revoked_at' in columns
        Runner(db, directory=MIGRATIONS_DIR).down(target='0015_review')
        columns = {row[1] for row in db.execute_sql('PRAGMA table_info("post")')}
        assert 'publish_at' not in columns
    db.close_all()


def test_existing_posts_get_slugs_from_their_titles(tmp_path):
    db = old_database(tmp_path, '0015_review', posts=3)
    with db.connection_context():
        for title in ('Ça va? Größe — 東京', '!!!', 'word ' * 30):
            db.execute_sql("INSERT INTO post (author_id, title, body, html, status, tags, "
                           "created_at, updated_at) VALUES (1, ?, 'b', 'h', 'draft', '[]', 0, 0)",
                           (title,))
        db.execute_sql('DELETE FROM post WHERE id = 2')  # ids with a gap
        applied = Runner(db, directory=MIGRATIONS_DIR).up()
        assert '0016_slugs' in applied
        assert db.execute_sql('SELECT id, slug FROM post ORDER BY id').fetchall() == [
            (1, 'title-1'), (3, 'title-3'), (4, 'ca-va-grosse-dong-jing'), (5, 'post'),
            (6, '-'.join(['word'] * 12))]
        assert db.execute_sql('PRAGMA integrity_check').fetchone()[0] == 'ok'
        # A row written without a slug gets '' (never NULL); the sitemap's covering
        # index carries the slug.
        db.execute_sql("INSERT INTO post (author_id, title, body, html, status, tags, "
                       "created_at, updated_at) VALUES (1, 'n', 'b', 'h', 'draft', '[]', 0, 0)")
        assert db.execute_sql('SELECT slug FROM post WHERE id = 7').fetchone() == ('',)
        plan = ' '.join(row[3] for row in db.execute_sql(
            "EXPLAIN QUERY PLAN SELECT id, updated_at, slug FROM post "
            "WHERE status = 'published' ORDER BY id"))
        assert 'COVERING INDEX post_published_id' in plan, plan
    db.close_all()


class CountingDatabase:
    """A database whose SELECTs and executemany calls are counted."""

    def __init__(self, db):
        self.db, self.selects, self.batches = db, [], []

    def execute_sql(self, sql, params=()):
        self.selects.append(params)
        return self.db.execute_sql(sql, params)

    def connection(self):
        outer = self

        class Connection:
            def executemany(self, sql, rows):
                outer.batches.append(len(rows))
                return outer.db.connection().executemany(sql, rows)
        return Connection()


def test_the_slug_backfill_reads_and_writes_in_bounded_batches(tmp_path):
    db = old_database(tmp_path, '0016_slugs', posts=7)
    migration = _load_migration('0016_slugs')
    with db.connection_context():
        counting = CountingDatabase(db)
        migration.backfill(counting, batch=3)
        assert counting.batches == [3, 3, 1]
        assert [params[1] for params in counting.selects] == [3, 3, 3, 3]
        assert db.execute_sql("SELECT count(*) FROM post WHERE slug = 'title-' || id"
                              ).fetchone() == (7,)
    db.close_all()
