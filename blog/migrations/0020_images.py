"""Uploaded images (blog.uploads): one `image` row per owner and content address,
`post_image` for the images each post's body shows, and the per-user quota setting.

The files themselves live in the media folder (blog.media_store), named by the
content address `key` (the first 32 hex digits of the upload's SHA-256); two users
who upload the same bytes get a row each and share the files. `post_image` is kept
by every save of a post, so "where is this used" and "may it be deleted" read an
index, never the posts' text.
"""

STATEMENTS = [
    '''CREATE TABLE "image" (
        "id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,
        "key" VARCHAR(32) NOT NULL,
        "owner_id" INTEGER REFERENCES "user" ("id") ON DELETE SET NULL,
        "ext" VARCHAR(4) NOT NULL CHECK ("ext" IN ('jpg', 'png', 'webp', 'gif')),
        "kind" VARCHAR(4) NOT NULL,
        "width" INTEGER NOT NULL,
        "height" INTEGER NOT NULL,
        "widths" VARCHAR(40) NOT NULL,
        "animated" INTEGER NOT NULL DEFAULT 0,
        "bytes" INTEGER NOT NULL,
        "alt" VARCHAR(1000) NOT NULL,
        "name" VARCHAR(200) NOT NULL DEFAULT '',
        "created_at" INTEGER NOT NULL)''',
    'CREATE UNIQUE INDEX "image_owner_key" ON "image" ("owner_id", "key")',
    'CREATE INDEX "image_key" ON "image" ("key")',
    'CREATE INDEX "image_owner_created" ON "image" ("owner_id", "created_at")',
    '''CREATE TABLE "post_image" (
        "post_id" INTEGER NOT NULL REFERENCES "post" ("id") ON DELETE CASCADE,
        "key" VARCHAR(32) NOT NULL,
        "position" INTEGER NOT NULL,
        PRIMARY KEY ("post_id", "key")) WITHOUT ROWID''',
    'CREATE INDEX "post_image_key" ON "post_image" ("key", "post_id")',
    'ALTER TABLE "site_settings" ADD COLUMN "media_quota" INTEGER NOT NULL DEFAULT 200',
]


def up(migrator, db):
    for sql in STATEMENTS:
        db.execute_sql(sql)


def down(migrator, db):
    db.execute_sql('DROP TABLE "post_image"')
    db.execute_sql('DROP TABLE "image"')
    db.execute_sql('ALTER TABLE "site_settings" DROP COLUMN "media_quota"')
