"""Review: a post submitted for review (`pending`) notes when (`submitted_at`, set
by triggers whatever writes the status), and an editor who sends it back leaves a
note the author sees in the editor (`review_note`, `reviewed_by_id`) until they
submit it again. The queue at
/review reads a partial index of pending posts, oldest submission first."""

STATEMENTS = [
    'ALTER TABLE "post" ADD COLUMN "submitted_at" INTEGER',
    '''ALTER TABLE "post" ADD COLUMN "review_note" TEXT NOT NULL DEFAULT \'\'''',
    '''ALTER TABLE "post" ADD COLUMN "reviewed_by_id" INTEGER
        REFERENCES "user" ("id") ON DELETE SET NULL''',
    '''UPDATE "post" SET "submitted_at" = "updated_at" WHERE "status" = 'pending' ''',
    '''CREATE INDEX "post_pending" ON "post" ("submitted_at", "id")
        WHERE "status" = 'pending' ''',
    'CREATE INDEX "post_reviewed_by_id" ON "post" ("reviewed_by_id")',
    '''CREATE TRIGGER "post_after_insert_pending" AFTER INSERT ON "post"
        WHEN new."status" = 'pending' BEGIN
        UPDATE "post" SET "submitted_at" = new."updated_at" WHERE "id" = new."id";
    END''',
    '''CREATE TRIGGER "post_after_update_pending" AFTER UPDATE OF "status" ON "post"
        WHEN new."status" = 'pending' AND old."status" IS NOT 'pending' BEGIN
        UPDATE "post" SET "submitted_at" = new."updated_at", "review_note" = ''
        WHERE "id" = new."id";
    END''',
]


def up(migrator, db):
    for sql in STATEMENTS:
        db.execute_sql(sql)


def down(migrator, db):
    for name in ('post_after_update_pending', 'post_after_insert_pending'):
        db.execute_sql('DROP TRIGGER "%s"' % name)
    for name in ('post_reviewed_by_id', 'post_pending'):
        db.execute_sql('DROP INDEX "%s"' % name)
    for column in ('reviewed_by_id', 'review_note', 'submitted_at'):
        db.execute_sql('ALTER TABLE "post" DROP COLUMN "%s"' % column)
