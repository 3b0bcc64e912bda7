"""The trash: a deleted post keeps its row, with a status of its own.

Deleting a post sets `status = 'trashed'`, keeps the status it had in
`trashed_status` (for restoring it exactly as it was) and notes when and by whom
in `deleted_at` and `deleted_by_id`. Every public query already asks for
`status = 'published'`, and every public index is partial on that, so a trashed
post drops out of all of them without a change to any of them.

SQLite cannot change a CHECK constraint in place, and the old one only allows
'draft' and 'published'; this follows its documented table rebuild, as 0006 does
(foreign keys off, copy, drop, rename, recreate the indexes and triggers,
foreign_key_check). The new CHECK also allows 'pending' (posts submitted for
review), so that state needs no second rebuild. A second CHECK keeps the trash
columns and the status in step.

Two partial indexes hold trashed posts only (few rows): one for an author's trash,
newest deletion first, one for the admins' list and for the sweep that purges
posts trashed more than 30 days ago.
"""

atomic = False  # PRAGMA foreign_keys cannot change inside a transaction

CREATE = '''CREATE TABLE "post_rebuilt" (
        "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
        "version" INTEGER NOT NULL DEFAULT 1,
        "author_id" INTEGER NOT NULL REFERENCES "user" ("id") ON DELETE CASCADE,
        "title" VARCHAR(200) NOT NULL,
        "body" TEXT NOT NULL,
        "html" TEXT NOT NULL,
        "status" VARCHAR(10) NOT NULL DEFAULT 'draft'
            CHECK ("status" IN ('draft', 'pending', 'published', 'trashed')),
        "tags" TEXT NOT NULL DEFAULT '[]',
        "created_at" INTEGER NOT NULL,
        "updated_at" INTEGER NOT NULL,
        "updated_by_id" INTEGER REFERENCES "user" ("id") ON DELETE SET NULL,
        "published_at" INTEGER,
        "trashed_status" VARCHAR(10)
            CHECK ("trashed_status" IN ('draft', 'pending', 'published')),
        "deleted_at" INTEGER,
        "deleted_by_id" INTEGER REFERENCES "user" ("id") ON DELETE SET NULL,
        CHECK (("status" = 'trashed') = ("trashed_status" IS NOT NULL)
               AND ("status" = 'trashed') = ("deleted_at" IS NOT NULL)))'''

# The columns 0002 made, by name; the new ones start empty (no post is trashed).
COPY = '''INSERT INTO "post_rebuilt" ("id", "version", "author_id", "title", "body",
        "html", "status", "tags", "created_at", "updated_at", "updated_by_id",
        "published_at")
    SELECT "id", "version", "author_id", "title", "body", "html", "status", "tags",
        "created_at", "updated_at", "updated_by_id", "published_at" FROM "post"'''

INDEXES = [
    '''CREATE INDEX "post_trashed_author" ON "post" ("author_id", "deleted_at", "id")
        WHERE "status" = 'trashed' ''',
    '''CREATE INDEX "post_trashed_at" ON "post" ("deleted_at", "id")
        WHERE "status" = 'trashed' ''',
    # Deleting a user sets deleted_by_id to NULL in their posts: without an index
    # that is a scan of every post.
    '''CREATE INDEX "post_deleted_by_id" ON "post" ("deleted_by_id")
        WHERE "deleted_by_id" IS NOT NULL''',
]


def up(migrator, db):
    db.execute_sql('PRAGMA foreign_keys = OFF')
    try:
        with db.atomic('IMMEDIATE'):
            # Indexes and triggers go with the old table; keep their exact SQL.
            dependents = [row[0] for row in db.execute_sql(
                "SELECT sql FROM sqlite_master WHERE tbl_name = 'post' "
                "AND type IN ('index', 'trigger') AND sql IS NOT NULL ORDER BY type, name")]
            # The id counter goes with the old table too; it can be above max(id)
            # (the newest post was deleted), and ids are never reused (0006).
            (seq,) = db.execute_sql("SELECT coalesce(max(seq), 0) FROM sqlite_sequence "
                                    "WHERE name = 'post'").fetchone()
            db.execute_sql(CREATE)
            db.execute_sql(COPY)
            db.execute_sql('DROP TABLE "post"')
            db.execute_sql('ALTER TABLE "post_rebuilt" RENAME TO "post"')
            for sql in dependents + INDEXES:
                db.execute_sql(sql)
            db.execute_sql("DELETE FROM sqlite_sequence WHERE name = 'post'")
            db.execute_sql("INSERT INTO sqlite_sequence (name, seq) "
                           "SELECT 'post', max(?, coalesce(max(id), 0)) FROM post", (seq,))
            problems = db.execute_sql('PRAGMA foreign_key_check').fetchall()
            if problems:
                raise RuntimeError('foreign key problems after rebuilding post: %r'
                                   % problems[:5])
    finally:
        db.execute_sql('PRAGMA foreign_keys = ON')
