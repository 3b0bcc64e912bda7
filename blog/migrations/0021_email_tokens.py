"""Confirmed email addresses and the links mailed to people (blog.email_links):
`user.email_confirmed_at` (NULL until the address in `email` is confirmed, and again
whenever it changes), and `email_token`, one row per link, holding only the SHA-256
of its token: a copy of the database cannot be used to reset anyone's password."""

STATEMENTS = [
    'ALTER TABLE "user" ADD COLUMN "email_confirmed_at" INTEGER',
    '''CREATE TABLE "email_token" (
        "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
        "purpose" VARCHAR(10) NOT NULL CHECK ("purpose" IN ('confirm', 'reset')),
        "token_hash" VARCHAR(64) NOT NULL,
        "user_id" INTEGER NOT NULL REFERENCES "user" ("id") ON DELETE CASCADE,
        "email" VARCHAR(254) NOT NULL,
        "created_at" INTEGER NOT NULL,
        "expires_at" INTEGER NOT NULL,
        "used_at" INTEGER)''',
    'CREATE UNIQUE INDEX "email_token_token_hash" ON "email_token" ("token_hash")',
    'CREATE INDEX "email_token_user_purpose" ON "email_token" ("user_id", "purpose")',
]


def up(migrator, db):
    for sql in STATEMENTS:
        db.execute_sql(sql)


def down(migrator, db):
    db.execute_sql('DROP TABLE "email_token"')
    db.execute_sql('ALTER TABLE "user" DROP COLUMN "email_confirmed_at"')
