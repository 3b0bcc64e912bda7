"""Scheduled publishing: the time an author asked a post to go out (`publish_at`,
UTC, NULL for "when published"), kept on the post and on each revision.

A published post whose `published_at` is still ahead is *scheduled*: every public
query asks for `published_at <= now`, so it appears at that moment with no write to
make it so, and the cache generation carries the time the next one is due
(blog.cache). The partial index post_published (published_at, id) answers both the
"now" bound and the next-due lookup.
"""

STATEMENTS = [
    'ALTER TABLE "post" ADD COLUMN "publish_at" INTEGER',
    'ALTER TABLE "revision" ADD COLUMN "publish_at" INTEGER',
]


def up(migrator, db):
    for sql in STATEMENTS:
        db.execute_sql(sql)


def down(migrator, db):
    for table in ('revision', 'post'):
        db.execute_sql('ALTER TABLE "%s" DROP COLUMN "publish_at"' % table)
