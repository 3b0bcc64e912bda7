"""Throttle counters in the database, so every server process shares them.

One row per (scope, key, bucket): how many failures a key (a hashed username,
address or pair) had in one fixed time bucket of a scope. A check reads a key's
few live buckets through the unique index; a failure is one upsert on it. Rows
carry the time they stop counting (`expires_at`, Unix seconds), indexed for the
sweep that deletes them in bounded batches (blog.throttle).
"""


def up(migrator, db):
    db.execute_sql('''CREATE TABLE "throttle" (
        "id" INTEGER NOT NULL PRIMARY KEY,
        "scope" VARCHAR(32) NOT NULL,
        "key" VARCHAR(64) NOT NULL,
        "bucket" INTEGER NOT NULL,
        "count" INTEGER NOT NULL,
        "last_at" INTEGER NOT NULL,
        "expires_at" INTEGER NOT NULL)''')
    db.execute_sql('CREATE UNIQUE INDEX "throttle_scope_key_bucket" '
                   'ON "throttle" ("scope", "key", "bucket")')
    db.execute_sql('CREATE INDEX "throttle_expires_at" ON "throttle" ("expires_at")')


def down(migrator, db):
    db.execute_sql('DROP TABLE "throttle"')
