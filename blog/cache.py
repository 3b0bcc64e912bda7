"""A small in-process cache for public pages and query results.

Every write that can change a public page bumps `site_state.generation` (triggers in
the schema do it, in the write's own transaction), so an entry is valid exactly while
the generation it was made at is current; any process sees the bump on its next read.
Reading the generation is one primary-key lookup per request.
"""

import threading
from collections import OrderedDict

from bottle import request

from blog.db import db

MAX_ENTRIES = 2000


def current_generation():
    """The cache generation now in the database."""
    return db.execute_sql('SELECT generation FROM site_state WHERE id = 1').fetchone()[0]


class Cache:
    """A thread-safe LRU of (generation, value) entries."""

    def __init__(self, max_entries=MAX_ENTRIES):
        self.max_entries = max_entries
        self._entries = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key, generation):
        """The value cached for `key` at `generation`, or None."""
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry[0] != generation:
                return None
            self._entries.move_to_end(key)
            return entry[1]

    def put(self, key, generation, value):
        """Remember `value` for `key` at `generation`."""
        with self._lock:
            self._entries[key] = (generation, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)

    def clear(self):
        with self._lock:
            self._entries.clear()


def cached(key, producer):
    """`producer()`'s result, cached under `key` until the next public write.

    With caching off in the config (tests of the uncached path), always produces.
    """
    app = request.app
    if not app.config['blog.config'].cache_pages:
        return producer()
    cache = app.config['blog.cache']
    generation = request.environ.get('blog.generation')
    if generation is None:
        generation = request.environ['blog.generation'] = current_generation()
    value = cache.get(key, generation)
    if value is None:
        value = producer()
        cache.put(key, generation, value)
    return value
