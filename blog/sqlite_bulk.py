"""Bulk loading into the SQLite backend (the demo command): the insert triggers'
work done once for the whole load, a big page cache, then statistics and a
checkpoint. `SqliteBulk` is a part of `blog.sqlite.SqliteBackend`."""

import contextlib
import importlib.util
import os

from peewee import DatabaseError

from blog.db import MIGRATIONS_DIR

FTS5_HASHSIZE_DEFAULT = 1024 * 1024  # bytes of pending terms before a flush
FTS5_HASHSIZE_BULK = 64 * 1024 * 1024
BULK_CACHE_KIB = 256 * 1024  # page cache while bulk loading
BULK_TRIGGERS = (('0002_posts', 'post_after_insert'),
                 ('0011_homepage_order', 'post_after_insert_latest'))


class SqliteBulk:
    """The bulk-loading methods of the SQLite backend (`self.database` is its pool)."""

    @contextlib.contextmanager
    def bulk_posts(self, first_post):
        """Inside a write transaction: posts inserted in the block skip the per-row
        insert triggers, whose work (search index, tag rows and their span counts,
        cache generation, the homepage's ordering) is then done once in bulk. The
        triggers are re-created from their migrations' own SQL before the transaction
        commits, so no other connection ever sees the table without them."""
        db = self.database
        for _, name in BULK_TRIGGERS:
            db.execute_sql('DROP TRIGGER "%s"' % name)
        yield
        for migration, name in BULK_TRIGGERS:
            db.execute_sql(trigger_sql(migration, name))
        self._rebuild_search_index()
        # The tag rows' span counts (migration 0019) are counted once afterwards, not
        # one upsert per row as their triggers would.
        spans = _load_migration('0019_tag_spans')
        for name in spans.TRIGGERS:
            db.execute_sql('DROP TRIGGER "%s"' % name)
        db.execute_sql('INSERT OR IGNORE INTO post_tag (post_id, tag)'
                       ' SELECT post.id, tags.value FROM post, json_each(post.tags) AS tags'
                       ' WHERE post.id >= ?', (first_post,))
        db.execute_sql('DELETE FROM tag_span')
        db.execute_sql(spans.SEED)
        for sql in spans.TRIGGERS.values():
            db.execute_sql(sql)
        db.execute_sql('DELETE FROM author_latest')
        db.execute_sql(_load_migration('0011_homepage_order').SEED)
        db.execute_sql('UPDATE site_state SET generation = generation + 1')

    def _rebuild_search_index(self):
        """FTS5 'rebuild' from the post table, with a 64 MiB term buffer while it runs
        (half the time of the 1 MiB default at 1M posts), then the default again;
        then 'optimize', which merges the rebuild's segments into one.

        Without it the rebuild leaves a level of segments (seven at 1M posts) that the
        next live writes push past FTS5's crisis-merge limit: one ordinary publish
        then merged the whole index, 43,902 pages (171 MiB of WAL, the write lock held
        meanwhile) where a publish otherwise writes 30 to 100 pages. Optimizing here
        costs the load about 8 s at 1M posts (benchmarks/README.md, "Search index
        merges")."""
        db = self.database
        try:
            db.execute_sql("INSERT INTO post_search (post_search, rank) VALUES ('hashsize', ?)",
                           (FTS5_HASHSIZE_BULK,))
        except DatabaseError:  # an SQLite before the option: rebuild at the default
            db.execute_sql("INSERT INTO post_search (post_search) VALUES ('rebuild')")
        else:
            db.execute_sql("INSERT INTO post_search (post_search) VALUES ('rebuild')")
            db.execute_sql("INSERT INTO post_search (post_search, rank) VALUES ('hashsize', ?)",
                           (FTS5_HASHSIZE_DEFAULT,))
        db.execute_sql("INSERT INTO post_search (post_search) VALUES ('optimize')")

    def next_ids(self):
        """(first free user id, first free post id), inside a write transaction."""
        db = self.database
        user = db.execute_sql('SELECT COALESCE(MAX(id), 0) + 1 FROM "user"').fetchone()[0]
        post = db.execute_sql('SELECT COALESCE(MAX(id), 0) + 1 FROM post').fetchone()[0]
        return user, post

    def insert_many(self, table, columns, rows):
        """Insert `rows` (tuples in `columns` order) with the driver's executemany,
        within the caller's transaction (a bulk load)."""
        # Table and column names are the caller's constants, never input.
        names = ', '.join('"%s"' % name for name in columns)
        sql = 'INSERT INTO "%s" (%s) VALUES (%s)' % (  # noqa: S608  # nosec B608
            table, names, ', '.join('?' * len(columns)))
        self.database.connection().executemany(sql, rows)

    @contextlib.contextmanager
    def bulk_session(self):
        """A connection tuned for a bulk load: a big page cache, then statistics
        and a checkpoint so the file is ready to serve."""
        db = self.database
        with db.connection_context():
            db.execute_sql('PRAGMA cache_size = -%d' % BULK_CACHE_KIB)
            yield
            db.execute_sql('PRAGMA optimize')
            db.execute_sql('PRAGMA wal_checkpoint(TRUNCATE)')


def _load_migration(name):
    """A migration module from blog/migrations (their file names start with digits)."""
    path = os.path.join(MIGRATIONS_DIR, name + '.py')
    spec = importlib.util.spec_from_file_location('blog_migration_' + name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def trigger_sql(migration, name):
    """The exact CREATE TRIGGER statement for trigger `name` from `migration`."""
    prefix = 'CREATE TRIGGER "%s"' % name
    matches = [sql for sql in _load_migration(migration).STATEMENTS if sql.startswith(prefix)]
    if len(matches) != 1:
        raise RuntimeError('%s has no single %s trigger' % (migration, name))
    return matches[0]
