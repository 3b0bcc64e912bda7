"""Posts, their revisions, tags, the FTS5 search index and the cache generation.

Triggers keep `post_tag`, `post_search` and `site_state.generation` in step with
`post`, inside the transaction of each write, whatever code does the write.
"""

STATEMENTS = [
    '''CREATE TABLE "post" (
        "id" INTEGER NOT NULL PRIMARY KEY,
        "version" INTEGER NOT NULL DEFAULT 1,
        "author_id" INTEGER NOT NULL REFERENCES "user" ("id") ON DELETE CASCADE,
        "title" VARCHAR(200) NOT NULL,
        "body" TEXT NOT NULL,
        "html" TEXT NOT NULL,
        "status" VARCHAR(10) NOT NULL DEFAULT 'draft'
            CHECK ("status" IN ('draft', 'published')),
        "tags" TEXT NOT NULL DEFAULT '[]',
        "created_at" INTEGER NOT NULL,
        "updated_at" INTEGER NOT NULL,
        "updated_by_id" INTEGER REFERENCES "user" ("id") ON DELETE SET NULL,
        "published_at" INTEGER)''',
    'CREATE INDEX "post_updated_by_id" ON "post" ("updated_by_id")',
    # Every query that lists an author's posts, drafts included.
    'CREATE INDEX "post_author_id" ON "post" ("author_id", "status", "published_at")',
    # Newest published posts (feeds, sitemap, tag pages).
    '''CREATE INDEX "post_published" ON "post" ("published_at", "id")
        WHERE "status" = 'published' ''',
    '''CREATE TABLE "revision" (
        "id" INTEGER NOT NULL PRIMARY KEY,
        "post_id" INTEGER NOT NULL REFERENCES "post" ("id") ON DELETE CASCADE,
        "version" INTEGER NOT NULL,
        "title" VARCHAR(200) NOT NULL,
        "body" TEXT NOT NULL,
        "tags" TEXT NOT NULL DEFAULT '[]',
        "status" VARCHAR(10) NOT NULL,
        "saved_by_id" INTEGER REFERENCES "user" ("id") ON DELETE SET NULL,
        "saved_at" INTEGER NOT NULL)''',
    'CREATE UNIQUE INDEX "revision_post_id_version" ON "revision" ("post_id", "version")',
    'CREATE INDEX "revision_saved_by_id" ON "revision" ("saved_by_id")',
    '''CREATE TABLE "post_tag" (
        "post_id" INTEGER NOT NULL REFERENCES "post" ("id") ON DELETE CASCADE,
        "tag" VARCHAR(40) NOT NULL)''',
    'CREATE UNIQUE INDEX "post_tag_tag_post_id" ON "post_tag" ("tag", "post_id")',
    'CREATE INDEX "post_tag_post_id" ON "post_tag" ("post_id")',
    '''CREATE VIRTUAL TABLE "post_search" USING fts5 (
        "title", "body", "tags", content=post, content_rowid=id,
        tokenize="porter unicode61 remove_diacritics 2")''',
    '''CREATE TABLE "site_state" (
        "id" INTEGER NOT NULL PRIMARY KEY,
        "generation" INTEGER NOT NULL DEFAULT 0)''',
    'INSERT INTO "site_state" ("id", "generation") VALUES (1, 0)',

    # Search index (external content: delete with the old values, insert the new).
    '''CREATE TRIGGER "post_after_insert" AFTER INSERT ON "post" BEGIN
        INSERT INTO "post_search" ("rowid", "title", "body", "tags")
            VALUES (new."id", new."title", new."body", new."tags");
        INSERT OR IGNORE INTO "post_tag" ("post_id", "tag")
            SELECT new."id", "value" FROM json_each(new."tags");
        UPDATE "site_state" SET "generation" = "generation" + 1;
    END''',
    '''CREATE TRIGGER "post_after_update_text" AFTER UPDATE OF "title", "body", "tags"
        ON "post" BEGIN
        INSERT INTO "post_search" ("post_search", "rowid", "title", "body", "tags")
            VALUES ('delete', old."id", old."title", old."body", old."tags");
        INSERT INTO "post_search" ("rowid", "title", "body", "tags")
            VALUES (new."id", new."title", new."body", new."tags");
    END''',
    '''CREATE TRIGGER "post_after_update_tags" AFTER UPDATE OF "tags" ON "post" BEGIN
        DELETE FROM "post_tag" WHERE "post_id" = old."id";
        INSERT OR IGNORE INTO "post_tag" ("post_id", "tag")
            SELECT new."id", "value" FROM json_each(new."tags");
    END''',
    '''CREATE TRIGGER "post_after_update" AFTER UPDATE ON "post" BEGIN
        UPDATE "site_state" SET "generation" = "generation" + 1;
    END''',
    '''CREATE TRIGGER "post_after_delete" AFTER DELETE ON "post" BEGIN
        INSERT INTO "post_search" ("post_search", "rowid", "title", "body", "tags")
            VALUES ('delete', old."id", old."title", old."body", old."tags");
        UPDATE "site_state" SET "generation" = "generation" + 1;
    END''',
    # Author names and bios appear on public pages.
    '''CREATE TRIGGER "user_after_update_public" AFTER UPDATE OF
        "username", "display_name", "bio", "is_active" ON "user" BEGIN
        UPDATE "site_state" SET "generation" = "generation" + 1;
    END''',
    '''CREATE TRIGGER "user_after_delete" AFTER DELETE ON "user" BEGIN
        UPDATE "site_state" SET "generation" = "generation" + 1;
    END''',
]


def up(migrator, db):
    for sql in STATEMENTS:
        db.execute_sql(sql)


def down(migrator, db):
    for table in ('post_search', 'post_tag', 'revision', 'post', 'site_state'):
        db.execute_sql('DROP TABLE "%s"' % table)
