"""The database: one late-bound peewee `SqliteDatabase` (pooled), its SQL functions,
and the migration runner.

peewee 4 folded `SqliteExtDatabase` into `SqliteDatabase`, so Python functions are
registered on the plain database with `@db.func()` (`PooledSqliteDatabase` is a
`SqliteDatabase` subclass; every new connection gets the functions and pragmas).
When the `pysqlite3` package is installed peewee uses it instead of the standard
library's `sqlite3`, which brings a newer SQLite than the system's (see
`sqlite_version`).
"""

import itertools
import logging
import os
import threading

from peewee import fn
from playhouse.migrations import Runner
from playhouse.pool import PooledSqliteDatabase

from blog import passwords

log = logging.getLogger(__name__)

MIGRATIONS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'migrations')

PRAGMAS = {
    'journal_mode': 'wal',
    'foreign_keys': 1,
    # NORMAL in WAL mode: a commit survives a crash of the process; a power loss
    # may lose the last transactions but never corrupts the file.
    'synchronous': 'normal',
    'cache_size': -32 * 1024,  # 32 MiB of page cache per connection
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
    (`db.connection().execute(...)`) would not be counted, and this process's own
    pages could then lag by up to `blog.cache.RECHECK_SECONDS`. Statements that
    only look like writes (a PRAGMA, a session row) are counted too: that costs one
    extra read of the generation, never a stale page.
    """

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # next() on a count is atomic in CPython, so every commit stores a value
        # no earlier one did: a reader's snapshot of `writes` changes after any
        # commit that follows it, even with threads racing.
        self._commits = itertools.count(1)
        self.writes = 0

    def execute_sql(self, sql, params=None):
        cursor = super().execute_sql(sql, params)
        # Outside a transaction SQLite commits each statement as it runs.
        if not sql.lstrip()[:6].upper() == 'SELECT' and not self.connection().in_transaction:
            self.writes = next(self._commits)
        return cursor

    def commit(self):
        super().commit()
        self.writes = next(self._commits)


db = BlogDatabase(None, pragmas=PRAGMAS, timeout=BUSY_TIMEOUT, **POOL)

# The cost new hashes are made with; tests lower it to keep the suite quick.
_hash_cost = {'cost': passwords.DEFAULT_COST}


@db.func('make_password', num_params=1)
def make_password(raw):
    """SQL: make_password(raw) -> encoded scrypt hash."""
    return passwords.make_password(raw, _hash_cost['cost'])


@db.func('check_password', num_params=2)
def check_password(raw, encoded):
    """SQL: check_password(raw, encoded) -> 1 when they match."""
    return passwords.check_password(raw, encoded)


def hash_password(raw):
    """Hash `raw` through SQL (`SELECT make_password(?)`), outside any write."""
    return db.execute_sql('SELECT make_password(?)', (raw,)).fetchone()[0]


_dummy = {}
_dummy_lock = threading.Lock()


def burn_check(raw):
    """Spend the same time as a real password check, for unknown usernames."""
    with _dummy_lock:
        if _dummy.get('cost') != _hash_cost['cost']:
            _dummy['hash'] = passwords.make_password(os.urandom(8).hex(), _hash_cost['cost'])
            _dummy['cost'] = _hash_cost['cost']
    return db.execute_sql('SELECT check_password(?, ?)', (raw, _dummy['hash'])).fetchone()[0]


def needs_rehash(encoded):
    """True when a stored hash was made with other parameters than today's."""
    return passwords.needs_rehash(encoded, _hash_cost['cost'])


def bind(path):
    """Point the database at the SQLite file `path` (made on first use)."""
    if not db.deferred:
        db.close_all()  # pooled connections may point at another file
    db.init(path, pragmas=PRAGMAS, timeout=BUSY_TIMEOUT, **POOL)
    return db


def init_db(path, hash_cost=None):
    """Bind the database to `path` and apply pending migrations."""
    if hash_cost is not None:
        _hash_cost['cost'] = hash_cost
    bind(path)
    migrate()
    return db


def migrate():
    """Apply pending migrations from blog/migrations; returns their names."""
    with db.connection_context():
        applied = Runner(db, directory=MIGRATIONS_DIR).up()
    for name in applied:
        log.info('applied migration %s', name)
    return applied


def sqlite_version():
    """The SQLite library version and the driver module peewee uses."""
    from peewee import sqlite3
    return '%s (%s)' % (sqlite3.sqlite_version, sqlite3.__name__)


__all__ = ['db', 'fn', 'init_db', 'migrate', 'hash_password', 'burn_check',
           'needs_rehash', 'sqlite_version']
