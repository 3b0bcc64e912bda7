"""Post slugs: `post.slug`, the readable part of a post's address
(`/posts/<id>-<slug>`, blog.slugs), filled in for every existing post from its title.

The backfill reads (id, title) BATCH rows at a time in id order and writes each
batch with one executemany, so memory stays flat whatever the size of the site:
1,000,000 demo posts took 32-63 s here (2 cores shared with other work), the
sitemap index included, in the migration's one transaction. The trigger that bumps
the cache generation fires for every row; setting it aside saved under a fifth of
that, so it stays.

The sitemap's covering index of published posts (migration 0005) gets the slug too,
so the sitemap still never reads a post row (the slug sits after the bodies).
"""

from blog.slugs import slugify

BATCH = 5000
SITEMAP_INDEX = ('CREATE INDEX "post_published_id" ON "post" ("id", "published_at", '
                 '"updated_at"%s) WHERE "status" = \'published\'')


def backfill(db, batch=BATCH):
    """Set every post's slug from its title, `batch` rows at a time."""
    last = 0
    while True:
        rows = db.execute_sql('SELECT "id", "title" FROM "post" WHERE "id" > ? '
                              'ORDER BY "id" LIMIT ?', (last, batch)).fetchall()
        if not rows:
            return
        db.connection().executemany('UPDATE "post" SET "slug" = ? WHERE "id" = ?',
                                    [(slugify(title), post_id) for post_id, title in rows])
        last = rows[-1][0]


def up(migrator, db):
    db.execute_sql('ALTER TABLE "post" ADD COLUMN "slug" TEXT NOT NULL DEFAULT \'\'')
    db.execute_sql('DROP INDEX "post_published_id"')  # made again once, after the writes
    backfill(db)
    db.execute_sql(SITEMAP_INDEX % ', "slug"')


def down(migrator, db):
    db.execute_sql('DROP INDEX "post_published_id"')
    db.execute_sql(SITEMAP_INDEX % '')
    db.execute_sql('ALTER TABLE "post" DROP COLUMN "slug"')
