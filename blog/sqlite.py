"""The SQLite backend: a pooled peewee `SqliteDatabase` on one file, its SQL
functions, and everything else whose SQL only SQLite speaks.

peewee 4 folded `SqliteExtDatabase` into `SqliteDatabase`, so Python functions are
registered on the plain database with `func()` (`PooledSqliteDatabase` is a
`SqliteDatabase` subclass; every new connection gets the functions and pragmas).
When the `pysqlite3` package is installed peewee uses it instead of the standard
library's `sqlite3`, which brings a newer SQLite than the system's (see `version`).

Each `SqliteBackend` is one site's database: its own pool, its own hash cost, its
own dummy hash. Nothing here is shared between two apps in one process.
"""

import itertools
import json
import os
import re
import threading

from peewee import SQL, fn
from peewee import sqlite3 as driver
from playhouse import fts_parser
from playhouse.migrations import Runner
from playhouse.pool import PooledSqliteDatabase
from playhouse.sqlite_ext import FTS5Model, RowIDField, SearchField

from blog import passwords
from blog.db import MIGRATIONS_DIR, NEVER, database
from blog.models import PUBLISHED, Post, utcnow
from blog.sqlite_bulk import SqliteBulk

PRAGMAS = {
    'journal_mode': 'wal',
    'foreign_keys': 1,
    # NORMAL in WAL mode: a commit survives a crash of the process; a power loss
    # may lose the last transactions but never corrupts the file.
    'synchronous': 'normal',
    'cache_size': -12 * 1024,  # 12 MiB of page cache per connection
    'temp_store': 'memory',
}
BUSY_TIMEOUT = 10  # seconds; db.init() would reset it to 5 unless given again

# Requests still connect in a before_request hook and close in after_request, but
# "close" hands the connection back to a pool (rolling back anything left open):
# opening a fresh SQLite connection costs ~1 ms here, mostly parsing the schema,
# which alone would halve the requests/s a page can reach (benchmarks/README.md).
# A pooled connection moves between threads (one at a time), so the driver's
# same-thread check is off.
POOL = {'max_connections': 64, 'stale_timeout': 300, 'check_same_thread': False}



class BlogDatabase(PooledSqliteDatabase):
    """The pooled database, noting each commit this process makes (`writes`).

    The page cache (blog.cache) asks SQLite for the cache generation only when
    `writes` has moved or a short interval has passed: a read of SQLite releases
    Python's lock several times, and under load that hand-off, not the query, was
    what halved a cached page's requests/s (benchmarks/README.md).

    So every write in the server must go through peewee (`execute_sql()`, or a
    transaction's `commit()`); a commit made on the raw connection
    (`connection().execute(...)`) would not be counted, and this process's own
    pages could then lag by up to `blog.cache.RECHECK_SECONDS`. A statement outside a
    transaction counts when it changed rows (SQLite's `total_changes`, which counts
    what triggers change too).
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # next() on a count is atomic in CPython, so every commit stores a value
        # no earlier one did: a reader's snapshot of `writes` changes after any
        # commit that follows it, even with threads racing.
        self._commits = itertools.count(1)
        self.writes = 0

    def execute_sql(self, sql, params=None):
        connection = self.connection()
        changes = connection.total_changes
        cursor = super().execute_sql(sql, params)
        # Outside a transaction SQLite commits each statement as it runs. What a
        # statement changed (triggers included) tells a write from a read better
        # than its first word: the search's WITH ... SELECT counted as a write sent
        # every search's next request to read the generation again.
        if connection.total_changes != changes and not connection.in_transaction:
            self.writes = next(self._commits)
        return cursor

    def commit(self):
        super().commit()
        self.writes = next(self._commits)


# The next due time reads one entry of the partial index post_published.
_GENERATION = """SELECT generation, (
  SELECT MIN(published_at) FROM post WHERE status = 'published' AND published_at > ?)
FROM site_state WHERE id = 1"""
_RANKED = """
WITH cand(id) AS MATERIALIZED (
  SELECT rowid FROM post_search WHERE post_search MATCH ?1 ORDER BY rowid DESC LIMIT ?2),
cut(id) AS (SELECT MIN(id) FROM cand),
titled(id) AS MATERIALIZED (
  SELECT rowid FROM post_search WHERE post_search MATCH ?3 AND rowid >= (SELECT id FROM cut)),
tagged(id) AS MATERIALIZED (
  SELECT rowid FROM post_search WHERE post_search MATCH ?4 AND rowid >= (SELECT id FROM cut))
SELECT post.id, 1 + 10 * (post.id IN (SELECT id FROM titled))
                  + 4 * (post.id IN (SELECT id FROM tagged)) AS score,
       EXISTS (SELECT 1 FROM cand LIMIT 1 OFFSET ?2 - 1)
FROM cand JOIN post ON post.id = cand.id WHERE post.status = ?5 AND post.published_at <= ?8
ORDER BY score DESC, post.published_at DESC, post.id DESC LIMIT ?6 OFFSET ?7"""
# The posts of one results page. A rowid range lets FTS5 evaluate the match once;
# `rowid IN` would run it (prefix merges and all) again for every id, so `+ 0` keeps
# the id list out of the index's hands.
_RESULTS = """
SELECT post.id AS id, post.title AS title, post.slug AS slug,
       post.published_at AS published_at, "user".username AS username,
       "user".display_name AS display_name,
       highlight(post_search, 0, ?1, ?2) AS title_marked,
       snippet(post_search, 1, ?1, ?2, '…', ?3) AS snippet
FROM post_search
JOIN post ON post.id = post_search.rowid
JOIN "user" ON "user".id = post.author_id
WHERE post_search MATCH ?4 AND post_search.rowid BETWEEN ?5 AND ?6
  AND post_search.rowid + 0 IN (SELECT value FROM json_each(?7))
  AND post.status = ?8 AND post.published_at <= ?9"""
_WORD = re.compile(r'\w+')


def _bound_term(term, words_left, star_allowed, min_prefix):
    """A parser term ('"text"' or '"text"*') bounded: (term or None, phrase cut 0/1,
    star dropped 0/1)."""
    if words_left <= 0:
        return None, 0, 0
    starred = term.endswith('*')
    text = term[1:-2] if starred else term[1:-1]
    words = _WORD.findall(text)
    cut = 0
    if len(words) > words_left:
        words, cut = words[:words_left], 1
        text = ' '.join(words)
    unstar = 0
    if starred and (cut or not star_allowed or len(words[-1]) < min_prefix):
        starred, unstar = False, 1
    return '"%s"%s' % (text, '*' if starred else ''), cut, unstar


class PostSearch(FTS5Model):
    """FTS5 index over posts (external content: the text lives in `post` only).

    Kept in step with `post` by triggers, so every write updates it in the same
    transaction; queries join back to `post` to keep only published posts.
    """

    rowid = RowIDField()
    title = SearchField()
    body = SearchField()
    tags = SearchField()

    class Meta:
        database = database
        table_name = 'post_search'
        options = {'content': 'post', 'content_rowid': 'id',
                   'tokenize': 'porter unicode61 remove_diacritics 2'}


def version():
    """The SQLite library version and the driver module peewee uses."""
    return '%s (%s)' % (driver.sqlite_version, driver.__name__)


class SqliteBackend(SqliteBulk):
    """One site's SQLite database and the operations only SQLite spells this way."""

    name = 'sqlite'

    def __init__(self, path, hash_cost=passwords.DEFAULT_COST):
        self.path = path
        self.hash_cost = hash_cost
        self.database = BlogDatabase(path, pragmas=PRAGMAS, timeout=BUSY_TIMEOUT, **POOL)
        self.database.func('make_password', num_params=1)(self._make_password)
        self.database.func('check_password', num_params=2)(passwords.check_password)
        self._dummy_hash = None
        self._dummy_lock = threading.Lock()

    def _make_password(self, raw):
        """SQL: make_password(raw) -> encoded scrypt hash at this site's cost."""
        return passwords.make_password(raw, self.hash_cost)

    def describe(self):
        """Where the data lives, for the start-up line."""
        return '%s (SQLite %s)' % (os.path.abspath(self.path), version())

    # Connections and transactions -------------------------------------------

    @property
    def writes(self):
        """A number that changes after every commit this process makes."""
        return self.database.writes

    def connect(self):
        self.database.connect(reuse_if_open=True)

    def close(self):
        if not self.database.is_closed():
            self.database.close()

    def close_all(self):
        """Close every pooled connection (the site is done)."""
        self.close()
        self.database.close_all()

    def write_transaction(self):
        """A transaction that may write: BEGIN IMMEDIATE, so writers queue on the
        busy timeout instead of failing when a read would upgrade to a write."""
        return self.database.atomic('IMMEDIATE')

    def ping(self):
        """Raise unless the database answers a query."""
        self.database.execute_sql('SELECT 1').fetchone()

    def generation(self):
        """The cache generation now in the database: (the count every public write
        bumps, the microsecond the next scheduled post is due or NEVER)."""
        now = Post.published_at.db_value(utcnow())
        row = self.database.execute_sql(_GENERATION, (now,)).fetchone()
        return row[0], NEVER if row[1] is None else row[1]

    def migrate(self):
        """Apply pending migrations; returns their names."""
        with self.database.connection_context():
            return Runner(self.database, directory=MIGRATIONS_DIR).up()

    def backup(self, path):
        """A consistent copy of the database in the new file `path` (online)."""
        dest = driver.connect(path)  # the same driver (pysqlite3 or sqlite3) as peewee's
        try:
            with self.database.connection_context():
                self.database.connection().backup(dest)
        finally:
            dest.close()

    # Passwords, hashed in SQL ----------------------------------------------

    def hash_password(self, raw):
        """Hash `raw` through SQL (`SELECT make_password(?)`), outside any write."""
        return self.database.execute_sql('SELECT make_password(?)', (raw,)).fetchone()[0]

    def burn_check(self, raw):
        """Spend the same time as a real password check, for unknown usernames."""
        with self._dummy_lock:
            if self._dummy_hash is None:
                self._dummy_hash = passwords.make_password(os.urandom(8).hex(), self.hash_cost)
        return self.database.execute_sql('SELECT check_password(?, ?)',
                                         (raw, self._dummy_hash)).fetchone()[0]

    def needs_rehash(self, encoded):
        """True when a stored hash was made with other parameters than this site's."""
        return passwords.needs_rehash(encoded, self.hash_cost)

    # SQL that differs between backends -------------------------------------

    def selective(self, condition):
        """`condition`, marked for the planner as true for few rows (SQLite has no
        statistics to know it, and would otherwise walk a whole index)."""
        return fn.likelihood(condition, SQL('0.001'))

    def nocase(self, expression):
        """`expression` compared case-insensitively (as the index on it is)."""
        return expression.collate('NOCASE')

    # Full-text search (FTS5) ------------------------------------------------

    def search_expression(self, text, max_terms, max_prefixes, min_prefix):
        """(FTS5 expression, terms dropped, stars dropped) for what a reader typed:
        peewee's parser makes the syntax valid; its terms are bounded before it renders
        (each reads a doclist; a prefix merges every doclist it expands to): at most
        `max_terms` words, `max_prefixes` stars on stems of `min_prefix`+ characters."""
        columns = [f.column_name for f in PostSearch._meta.sorted_fields
                   if isinstance(f, SearchField)]
        parser = fts_parser._Parser(text, columns)  # private: its tokens are the terms to bound
        kept, dropped, unstarred, words, prefixes = [], 0, 0, 0, 0
        for kind, value in parser.tokens:
            if kind == 'term':
                value, cut, unstar = _bound_term(value, max_terms - words,
                                                 prefixes < max_prefixes, min_prefix)
                if value is None:
                    dropped += 1
                    continue
                dropped += cut
                unstarred += unstar
                prefixes += value.endswith('*')
                words += len(_WORD.findall(value))
            kept.append((kind, value))
        parser.tokens = kept
        return parser.translate(), dropped, unstarred

    def search_ranked(self, match, candidates, offset, limit, now):
        """(post id, score) of the posts live at `now`, `offset` to `offset + limit` among
        the newest `candidates` matches of `match`, best first (ties: newest first),
        and whether there were more matches than that.

        The index is walked backwards (cheap for any word); nothing counts or bm25()
        ranks every match (bm25 reads each term's whole doclist). Score: title 10,
        tags 4, body 1. Drafts and scheduled posts take a place: they can shorten an
        answer, never slow it.
        One statement returning the page only: fetching the candidates row by row
        released Python's lock for each, and four searches at once then ran slower
        together than one alone (benchmarks/README.md, runs 15 and 16).
        """
        rows = self.database.execute_sql(_RANKED, (
            match, candidates, '"title": (%s)' % match, '"tags": (%s)' % match,
            PUBLISHED, limit, offset, Post.published_at.db_value(now))).fetchall()
        return [(post_id, score) for post_id, score, _ in rows], bool(rows and rows[0][2])

    def search_results(self, match, ids, marks, snippet_tokens, now):
        """The posts `ids` (matches of `match`) live at `now`, with their authors, a
        highlighted title (`title_marked`) and body `snippet`, in no particular order.

        Matches are wrapped in the two `marks`; snippet() reads the body, so it
        runs for these few rows only. One fixed statement (the ids go in as one JSON
        parameter): building it with peewee cost more than SQLite takes to run it.
        """
        ids = list(ids)
        if not ids:
            return []
        open_mark, close_mark = marks
        cursor = self.database.execute_sql(_RESULTS, (
            open_mark, close_mark, snippet_tokens, match, min(ids), max(ids),
            json.dumps(ids), PUBLISHED, Post.published_at.db_value(now)))
        names = [column[0] for column in cursor.description]
        to_time = Post.published_at.python_value
        return [dict(zip(names, row[:3] + (to_time(row[3]),) + row[4:], strict=True))
                for row in cursor.fetchall()]
