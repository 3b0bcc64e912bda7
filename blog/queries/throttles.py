"""Queries for the throttle's counters (the `throttle` table, migration 0009).

The model lives here, not in blog.models: only the throttle reads or writes it.
"""

from peewee import EXCLUDED, CharField, IntegerField, Model, fn

from blog.db import database
from blog.queries import delete_expired


class ThrottleCount(Model):
    """Failures of one hashed key in one fixed time bucket of one scope."""

    scope = CharField(max_length=32)
    key = CharField(max_length=64)
    bucket = IntegerField()  # the bucket's number: its start // its length
    count = IntegerField()
    last_at = IntegerField()  # Unix seconds of the latest failure counted here
    expires_at = IntegerField()  # Unix seconds when this bucket stops counting

    class Meta:
        database = database
        table_name = 'throttle'


def live_counts(pairs, now):
    """(scope, key, count, last_at, expires_at) of every bucket still counting at
    `now` for the (scope, key) `pairs`: one read of the unique index per pair."""
    condition = None
    for scope, key in pairs:
        term = (ThrottleCount.scope == scope) & (ThrottleCount.key == key)
        condition = term if condition is None else (condition | term)
    return list(ThrottleCount
                .select(ThrottleCount.scope, ThrottleCount.key, ThrottleCount.count,
                        ThrottleCount.last_at, ThrottleCount.expires_at)
                .where(condition &
                       (ThrottleCount.expires_at > now))
                .tuples())


def add_failures(rows):
    """Count one failure in each row's bucket: one upsert for all of them.

    `rows` are dicts of scope, key, bucket, last_at and expires_at."""
    return (ThrottleCount
            .insert_many([dict(row, count=1) for row in rows])
            .on_conflict(conflict_target=[ThrottleCount.scope, ThrottleCount.key,
                                          ThrottleCount.bucket],
                         update={ThrottleCount.count: ThrottleCount.count + 1,
                                 ThrottleCount.last_at: EXCLUDED.last_at})
            .execute())


def clear(scope, key):
    """Forget every bucket of one key in one scope."""
    return (ThrottleCount
            .delete()
            .where((ThrottleCount.scope == scope) &
                   (ThrottleCount.key == key))
            .execute())


def sweep(now, batch):
    """Delete at most `batch` rows that stopped counting; returns how many."""
    return delete_expired(ThrottleCount.id, ThrottleCount.expires_at, now, batch)


def row_count():
    """How many counter rows there are (live or not yet swept)."""
    return ThrottleCount.select(fn.COUNT(ThrottleCount.id)).scalar()
