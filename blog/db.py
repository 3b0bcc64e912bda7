"""The database seam: the `db` the models are bound to, which site's backend it
stands for in this thread, and the few operations whose SQL differs by backend.

Every site (one `create_app`) owns a backend object (`blog.sqlite.SqliteBackend`
today): its connection pool, SQL functions, hash cost and dummy hash. The models
are bound to `db`, a proxy that each thread points at the backend of the site it
is serving (`use()`, called by `blog.site.Site.activate`, which every request does
first). So two apps in one process never see each other's data, and nothing here
holds a connection or a path of its own.

Code outside the backends asks this module, never a backend's SQL:
`write_transaction()` for every transaction that may write, `hash_password()`,
`burn_check()` and `needs_rehash()` for passwords (hashed *in SQL* by the
`make_password`/`check_password` functions the backend registers), and `backend()`
for the rest (search, backups, bulk loads, planner hints). A PostgreSQL backend
implements the same methods.
"""

import os
import threading

from peewee import DatabaseProxy

# The due time of "no scheduled post is waiting" in a cache generation (blog.cache).
NEVER = 2 ** 63 - 1
MIGRATIONS_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'migrations')

_local = threading.local()


class ThreadDatabase(DatabaseProxy):
    """A peewee database proxy whose target is per thread: the active site's."""

    __slots__ = ('_threads',)

    def __init__(self):
        object.__setattr__(self, '_threads', threading.local())
        super().__init__()

    def __setattr__(self, name, value):
        object.__setattr__(self, name, value)

    @property
    def obj(self):
        """The peewee database of the backend this thread serves (None: none)."""
        return getattr(self._threads, 'obj', None)

    @obj.setter
    def obj(self, value):
        self._threads.obj = value


db = ThreadDatabase()
database = db  # the name the models' Meta uses


def use(backend):
    """Point this thread's `db` at `backend` (None: at nothing); returns the previous."""
    previous = getattr(_local, 'backend', None)
    _local.backend = backend
    db.initialize(None if backend is None else backend.database)
    return previous


def backend():
    """The backend of the site this thread serves."""
    current = getattr(_local, 'backend', None)
    if current is None:
        raise RuntimeError('no site is active in this thread (blog.site.Site.activate)')
    return current


def write_transaction():
    """A transaction that may write (on SQLite, BEGIN IMMEDIATE)."""
    return backend().write_transaction()


def hash_password(raw):
    """The stored form of password `raw`, hashed in SQL outside any write."""
    return backend().hash_password(raw)


def burn_check(raw):
    """Spend a password check's time, for a username that has no hash."""
    return backend().burn_check(raw)


def needs_rehash(encoded):
    """True when `encoded` was made at another cost than the site's."""
    return backend().needs_rehash(encoded)


__all__ = ['db', 'use', 'backend', 'write_transaction', 'hash_password',
           'burn_check', 'needs_rehash', 'MIGRATIONS_DIR']
