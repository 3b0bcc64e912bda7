"""Roles in place of the is_admin flag: contributor, author, editor, admin
(blog.roles). Today's admins become admins and everyone else an author, which is
what they could do before: publish their own posts.

A new user and a new role now bump the cache generation: the first admin changes
what an empty site's homepage says (blog.first_run), and both are rare writes."""

STATEMENTS = [
    '''ALTER TABLE "user" ADD COLUMN "role" VARCHAR(12) NOT NULL DEFAULT 'author'
        CHECK ("role" IN ('contributor', 'author', 'editor', 'admin'))''',
    '''UPDATE "user" SET "role" = 'admin' WHERE "is_admin"''',
    'ALTER TABLE "user" DROP COLUMN "is_admin"',
    '''CREATE TRIGGER "user_after_insert" AFTER INSERT ON "user" BEGIN
        UPDATE "site_state" SET "generation" = "generation" + 1;
    END''',
    '''CREATE TRIGGER "user_after_update_role" AFTER UPDATE OF "role" ON "user" BEGIN
        UPDATE "site_state" SET "generation" = "generation" + 1;
    END''',
]


def up(migrator, db):
    for sql in STATEMENTS:
        db.execute_sql(sql)


def down(migrator, db):
    db.execute_sql('DROP TRIGGER "user_after_update_role"')
    db.execute_sql('DROP TRIGGER "user_after_insert"')
    db.execute_sql('ALTER TABLE "user" ADD COLUMN "is_admin" INTEGER NOT NULL DEFAULT 0')
    db.execute_sql('''UPDATE "user" SET "is_admin" = ("role" = 'admin')''')
    db.execute_sql('ALTER TABLE "user" DROP COLUMN "role"')
