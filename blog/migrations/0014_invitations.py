"""Invitations: single-use links to register with a role, valid 7 days
(blog.invitations). Only a hash of each link's token is stored."""

STATEMENTS = [
    '''CREATE TABLE "invitation" (
        "id" INTEGER NOT NULL PRIMARY KEY,
        "token_hash" VARCHAR(64) NOT NULL,
        "role" VARCHAR(12) NOT NULL
            CHECK ("role" IN ('contributor', 'author', 'editor', 'admin')),
        "email" VARCHAR(254),
        "created_by_id" INTEGER REFERENCES "user" ("id") ON DELETE SET NULL,
        "created_at" INTEGER NOT NULL,
        "expires_at" INTEGER NOT NULL,
        "used_at" INTEGER,
        "used_by_id" INTEGER REFERENCES "user" ("id") ON DELETE SET NULL)''',
    'CREATE UNIQUE INDEX "invitation_token_hash" ON "invitation" ("token_hash")',
    'CREATE INDEX "invitation_created_at" ON "invitation" ("created_at")',
    'CREATE INDEX "invitation_created_by_id" ON "invitation" ("created_by_id")',
    'CREATE INDEX "invitation_used_by_id" ON "invitation" ("used_by_id")',
]


def up(migrator, db):
    for sql in STATEMENTS:
        db.execute_sql(sql)


def down(migrator, db):
    db.execute_sql('DROP TABLE "invitation"')
