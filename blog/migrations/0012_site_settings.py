"""Site settings: one row (id 1), versioned, edited at /admin/settings and by
`python run.py settings` (blog.site_settings).

A new site starts with `registration = 'invite'` and `default_role = 'contributor'`:
nobody can join without an invitation, and someone who joins an open site later
cannot publish without review. A site that already has users keeps working as it
did (`open`, new accounts are authors) until an admin changes that. A trigger bumps
the cache generation when the row changes, since the site name and description are
on every page.
"""

import time

STATEMENTS = [
    '''CREATE TABLE "site_settings" (
        "id" INTEGER NOT NULL PRIMARY KEY CHECK ("id" = 1),
        "version" INTEGER NOT NULL DEFAULT 1,
        "site_name" VARCHAR(100) NOT NULL,
        "site_description" VARCHAR(300) NOT NULL DEFAULT '',
        "registration" VARCHAR(10) NOT NULL
            CHECK ("registration" IN ('open', 'invite', 'closed')),
        "default_role" VARCHAR(12) NOT NULL
            CHECK ("default_role" IN ('contributor', 'author', 'editor')),
        "timezone" VARCHAR(64) NOT NULL DEFAULT 'UTC',
        "require_2fa" INTEGER NOT NULL DEFAULT 0,
        "updated_at" INTEGER NOT NULL,
        "updated_by_id" INTEGER REFERENCES "user" ("id") ON DELETE SET NULL)''',
    '''INSERT INTO "site_settings" ("id", "site_name", "registration", "default_role",
        "updated_at")
        SELECT 1, 'Blog',
            CASE WHEN EXISTS (SELECT 1 FROM "user") THEN 'open' ELSE 'invite' END,
            CASE WHEN EXISTS (SELECT 1 FROM "user") THEN 'author' ELSE 'contributor' END,
            ?''',
    '''CREATE TRIGGER "site_settings_after_update" AFTER UPDATE ON "site_settings" BEGIN
        UPDATE "site_state" SET "generation" = "generation" + 1;
    END''',
]


def up(migrator, db):
    db.execute_sql(STATEMENTS[0])
    db.execute_sql(STATEMENTS[1], (int(time.time() * 10 ** 6),))
    for sql in STATEMENTS[2:]:
        db.execute_sql(sql)


def down(migrator, db):
    db.execute_sql('DROP TRIGGER "site_settings_after_update"')
    db.execute_sql('DROP TABLE "site_settings"')
