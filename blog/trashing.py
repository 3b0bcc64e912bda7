"""The trash: deleting a post moves it there; from there it is restored as it was,
or purged (deleted for good with its history), by hand or KEEP_DAYS later.

A trashed post keeps its row, id, version, times, text and revisions; only its
status changes (to TRASHED, the old one kept for the restore), so every public
page, feed, search and sitemap, which all ask for published posts, stops showing it
at once, and the post page, editor and history answer 404 until it is restored.

Old trash is purged by `sweep()`, a bounded step (at most SWEEP_LIMIT posts a
call) that runs when a post is trashed, when the trash is shown and when an app
starts, so no request does unbounded work and a site that is used empties its
trash on time. Each function takes `now` so that tests can move the clock.
"""

import datetime

from blog import roles
from blog.db import write_transaction
from blog.models import utcnow
from blog.queries import trash as trash_queries

KEEP_DAYS = 30
KEEP = datetime.timedelta(days=KEEP_DAYS)
SWEEP_LIMIT = 100


def purge_at(deleted_at):
    """When a post trashed at `deleted_at` is purged (at the first sweep after it)."""
    return deleted_at + KEEP


def can_restore(user, post):
    """Whoever may delete a post may bring it back: its author and the editors."""
    return roles.can(user, 'delete', post.author_id)


def can_purge(user, post):
    """Its author and the admins (not editors) may delete a trashed post for good."""
    return roles.can(user, 'purge', post.author_id)


def find(post_id, user, allowed=can_restore):
    """The trashed post `post_id` if `user` may act on it by `allowed`, else None
    (someone else's trash is as unknown as a missing post)."""
    post = trash_queries.trashed_post(post_id)
    if post is None or not allowed(user, post):
        return None
    return post


def trash_post(post_id, user, now=None):
    """Move a post to the trash (and sweep old trash in the same transaction).

    Returns False when it was not there to move (gone, or trashed already).
    """
    now = now or utcnow()
    with write_transaction():
        moved = trash_queries.trash(post_id, user.id, now)
        trash_queries.purge_expired(now - KEEP, SWEEP_LIMIT)
    return moved == 1


def restore(post_id):
    """Bring a trashed post back as it was (same id, status, dates, history).

    Returns False when it is not in the trash (restored or purged meanwhile).
    """
    with write_transaction():
        return trash_queries.untrash(post_id) == 1


def purge(post_id):
    """Delete a trashed post for good, with its revisions and tags.

    Returns False when it is not in the trash (restored or purged meanwhile).
    """
    with write_transaction():
        return trash_queries.purge(post_id) == 1


def sweep(now=None, limit=SWEEP_LIMIT):
    """Purge up to `limit` posts trashed more than KEEP_DAYS before `now`, oldest
    first; returns how many. Nothing due costs one index read and no write lock."""
    cutoff = (now or utcnow()) - KEEP
    if not trash_queries.expired(cutoff, 1).exists():
        return 0
    with write_transaction():
        return trash_queries.purge_expired(cutoff, limit)
