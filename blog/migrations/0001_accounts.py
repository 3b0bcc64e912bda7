"""Users, server-side sessions and the admin audit trail."""

STATEMENTS = [
    '''CREATE TABLE "user" (
        "id" INTEGER NOT NULL PRIMARY KEY,
        "version" INTEGER NOT NULL DEFAULT 1,
        "username" VARCHAR(30) NOT NULL,
        "password" VARCHAR(255) NOT NULL,
        "display_name" VARCHAR(80) NOT NULL DEFAULT '',
        "email" VARCHAR(254),
        "bio" TEXT NOT NULL DEFAULT '',
        "is_admin" INTEGER NOT NULL DEFAULT 0,
        "is_active" INTEGER NOT NULL DEFAULT 1,
        "created_at" INTEGER NOT NULL,
        "updated_at" INTEGER NOT NULL,
        "updated_by_id" INTEGER REFERENCES "user" ("id") ON DELETE SET NULL,
        "last_login_at" INTEGER)''',
    'CREATE UNIQUE INDEX "user_username" ON "user" ("username")',
    'CREATE UNIQUE INDEX "user_email" ON "user" ("email")',
    'CREATE INDEX "user_updated_by_id" ON "user" ("updated_by_id")',
    '''CREATE TABLE "session" (
        "token_hash" VARCHAR(255) NOT NULL PRIMARY KEY,
        "user_id" INTEGER REFERENCES "user" ("id") ON DELETE CASCADE,
        "csrf_token" VARCHAR(255) NOT NULL,
        "created_at" INTEGER NOT NULL,
        "last_seen_at" INTEGER NOT NULL,
        "expires_at" INTEGER NOT NULL)''',
    'CREATE INDEX "session_user_id" ON "session" ("user_id")',
    'CREATE INDEX "session_expires_at" ON "session" ("expires_at")',
    '''CREATE TABLE "audit_entry" (
        "id" INTEGER NOT NULL PRIMARY KEY,
        "user_id" INTEGER NOT NULL REFERENCES "user" ("id") ON DELETE CASCADE,
        "actor_id" INTEGER REFERENCES "user" ("id") ON DELETE SET NULL,
        "at" INTEGER NOT NULL,
        "changes" TEXT NOT NULL)''',
    'CREATE INDEX "audit_entry_user_id" ON "audit_entry" ("user_id", "at")',
    'CREATE INDEX "audit_entry_actor_id" ON "audit_entry" ("actor_id")',
]


def up(migrator, db):
    for sql in STATEMENTS:
        db.execute_sql(sql)


def down(migrator, db):
    for table in ('audit_entry', 'session', 'user'):
        db.execute_sql('DROP TABLE "%s"' % table)
