"""The query layer: every query the app runs, as parenthesised chains, one clause
per line, in one module per area. Route modules and services call these and only
paginate and render; SQL that only one backend speaks sits behind the database
seam (`blog.db.backend()`), not here.

- `posts`: one post, its revisions, the writes of the editor.
- `trash`: deleted posts: into the trash and out, its lists, purging.
- `listings`: the homepage and the author pages.
- `readers`: feeds, tags, search, the sitemap, export and import.
- `people`: users, sessions, the admin area and its audit trail.
- `throttles`: the throttle's counters (blog.throttle).
- `site`: the site settings row.

`live()` is what every public query asks of a post: published, and its time come
(a scheduled post stays out until then; blog.scheduling). `Prepared` runs a hot
query without peewee building its SQL again each time.
"""

import datetime
import weakref

from blog.db import db
from blog.models import PUBLISHED, Post, utcnow


def live(now=None, published_at=None):
    """The condition for posts readers see at `now` (default: this moment): published,
    and not scheduled for later. `published_at` is the column to bound (a copy of the
    post's date, such as post_tag's, which is NULL while the post is unpublished)."""
    now = utcnow() if now is None else now
    if published_at is not None:
        return published_at <= now
    return (Post.status == PUBLISHED) & (Post.published_at <= now)


def scheduled(now):
    """The condition for posts published for a moment still ahead of `now`."""
    return (Post.status == PUBLISHED) & (Post.published_at > now)


def delete_expired(key, expires_at, now, batch):
    """Delete at most `batch` rows of `key`'s table whose `expires_at` is past, the
    oldest first (read from the index on expires_at); returns how many."""
    model = key.model
    oldest = (model
              .select(key)
              .where(expires_at <= now)
              .order_by(expires_at)
              .limit(batch))
    return (model
            .delete()
            .where(key.in_(oldest))
            .execute())


class Prepared:
    """A SELECT whose SQL peewee builds once per database, then runs with new values.

    peewee builds a query's SQL again on every execution: for a two-table SELECT of
    every column that took 200 to 300 µs here, several times what SQLite takes to
    run it, and most of a signed-in page's time (benchmarks/README.md, runs 15 and 16).
    `Prepared(build, *samples)` calls `build(*samples)` once per database, finds
    each sample among the SQL's parameters and puts the caller's values in their
    places from then on; the rows come back as `build`'s query would give them.
    A sample must be a value no query builds by itself (`sample()` makes them); one
    that peewee converts (a datetime) is given as `(field, sample)`, and the
    caller's values then go through `field.db_value` too.
    """

    def __init__(self, build, *samples):
        self.build = build
        self.samples = [s[1] if isinstance(s, tuple) else s for s in samples]
        self.converters = [s[0].db_value if isinstance(s, tuple) else None
                           for s in samples]
        self._compiled = weakref.WeakKeyDictionary()  # peewee database -> compiled

    def _compile(self, database):
        query = self.build(*self.samples)
        sql, params = query.sql()
        places = []
        for sample_value, convert in zip(self.samples, self.converters, strict=True):
            wanted = sample_value if convert is None else convert(sample_value)
            found = [i for i, value in enumerate(params) if value == wanted]
            if not found:
                raise ValueError('%r is not a parameter of %s' % (wanted, sql))
            places.append(found)
        compiled = self._compiled[database] = (query, sql, list(params), places)
        return compiled

    def cursor(self, *values):
        """The query's cursor wrapper, for `values` in the samples' places."""
        database = db.obj
        compiled = self._compiled.get(database) or self._compile(database)
        query, sql, params, places = compiled
        params = list(params)
        for found, convert, value in zip(places, self.converters, values, strict=True):
            if convert is not None:
                value = convert(value)
            for i in found:
                params[i] = value
        return query._get_cursor_wrapper(database.execute_sql(sql, params))

    def first(self, *values):
        """The first row for `values`, or None."""
        return next(self.cursor(*values).iterator(), None)

    def all(self, *values):
        """Every row for `values`, as a list."""
        return list(self.cursor(*values).iterator())


_SAMPLES = {int: -7_319_004_211, str: '\x00sample', datetime.datetime:
            datetime.datetime(1901, 2, 3, 4, 5, 6, 789012)}


def sample(kind, n=0):
    """A value of `kind` (int, str or datetime) for `Prepared`, distinct for each n."""
    value = _SAMPLES[kind]
    if kind is str:
        return '%s%d' % (value, n)
    if kind is int:
        return value - n
    return value + datetime.timedelta(microseconds=n)
