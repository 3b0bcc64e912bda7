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
"""


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
