"""Tag pages from one index: `post_tag.published_at`, the post's date while it is
published (NULL otherwise), kept in step by triggers.

A tag page is then a walk of the partial index (tag, published_at, post_id) on
published rows: the last page of a tag with 47,000 posts reads index entries only,
instead of probing `post` for each of its rows (about 45 ms at 1,000,000 posts;
benchmarks/README.md, runs 15 and 16). One trigger fills the date of every new tag row
(whatever inserts it: the post's own triggers, the bulk loader); another follows a
post's status and date (publishing, unpublishing, the trash and back).
"""

STATEMENTS = [
    'ALTER TABLE "post_tag" ADD COLUMN "published_at" INTEGER',
    '''UPDATE "post_tag" SET "published_at" = (
        SELECT "post"."published_at" FROM "post"
        WHERE "post"."id" = "post_tag"."post_id" AND "post"."status" = 'published')''',
    '''CREATE INDEX "post_tag_tag_published" ON "post_tag" ("tag", "published_at", "post_id")
        WHERE "published_at" IS NOT NULL''',
    '''CREATE TRIGGER "post_tag_after_insert" AFTER INSERT ON "post_tag" BEGIN
        UPDATE "post_tag" SET "published_at" = (
            SELECT "post"."published_at" FROM "post"
            WHERE "post"."id" = new."post_id" AND "post"."status" = 'published')
        WHERE "rowid" = new."rowid";
    END''',
    '''CREATE TRIGGER "post_after_update_published" AFTER UPDATE OF "status", "published_at"
        ON "post" BEGIN
        UPDATE "post_tag" SET "published_at" =
            CASE WHEN new."status" = 'published' THEN new."published_at" END
        WHERE "post_id" = new."id";
    END''',
]


def up(migrator, db):
    for sql in STATEMENTS:
        db.execute_sql(sql)


def down(migrator, db):
    db.execute_sql('DROP TRIGGER "post_after_update_published"')
    db.execute_sql('DROP TRIGGER "post_tag_after_insert"')
    db.execute_sql('DROP INDEX "post_tag_tag_published"')
    db.execute_sql('ALTER TABLE "post_tag" DROP COLUMN "published_at"')
