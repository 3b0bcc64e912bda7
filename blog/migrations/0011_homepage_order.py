"""The homepage's ordering: one row per author with a published post, holding that
author's latest (published_at, post id), seeded by the GROUP BY/HAVING shortcut and
kept in step by triggers.

Deep homepage pages read it: `?page=400` at 10,000 authors and 1,000,000 posts is
then a walk of 8,000 entries of a 10,000-row index instead of the shortcut over every
post (benchmarks/README.md, run 17). Shallow pages still run the shortcut over a
window of the newest posts (blog.home).

A new published post can only move its author forward, so its trigger is one
upsert. Anything else that can take an author's latest post away (unpublishing, the
trash, a new date, a new author, a delete) runs the shortcut again for that one
author, on the covering index post_author_id: one index range per write. Ties in
published_at go to the higher id, as everywhere on the homepage.
"""


# The shortcut, for the posts `:which` picks, into the ordering (ties: the higher id).
LATEST = '''INSERT INTO "author_latest" ("author_id", "published_at", "post_id")
    SELECT "newest"."author_id", "newest"."latest", (
        SELECT MAX("tied"."id") FROM "post" AS "tied"
        WHERE "tied"."author_id" = "newest"."author_id"
          AND "tied"."status" = 'published'
          AND "tied"."published_at" = "newest"."latest")
    FROM (SELECT "author_id", MAX("published_at") AS "latest" FROM "post"
          WHERE :which AND "status" = 'published'
          GROUP BY "author_id"
          HAVING "published_at" = MAX("published_at")) AS "newest"'''

CLEAR = 'DELETE FROM "author_latest" WHERE :which'
SEED = LATEST.replace(':which', '1')  # every author (also what a bulk load reruns)


def refresh(author, also='1'):
    """The statements that set `author`'s row from the shortcut (`author` is an SQL
    expression, e.g. old."author_id"; nothing happens unless `also` holds); no row
    when they have nothing published. Only ever given the constants below."""
    which = '"author_id" = :author AND :also'.replace(':author', author).replace(':also', also)
    return ';\n'.join(sql.replace(':which', which) for sql in (CLEAR, LATEST)) + ';'


INSERT_TRIGGER = '''CREATE TRIGGER "post_after_insert_latest" AFTER INSERT ON "post"
    WHEN new."status" = 'published' BEGIN
    INSERT INTO "author_latest" ("author_id", "published_at", "post_id")
        VALUES (new."author_id", new."published_at", new."id")
        ON CONFLICT ("author_id") DO UPDATE
        SET "published_at" = excluded."published_at", "post_id" = excluded."post_id"
        WHERE (excluded."published_at", excluded."post_id") > ("published_at", "post_id");
END'''

STATEMENTS = [
    '''CREATE TABLE "author_latest" (
        "author_id" INTEGER NOT NULL PRIMARY KEY,
        "published_at" INTEGER NOT NULL,
        "post_id" INTEGER NOT NULL)''',
    'CREATE INDEX "author_latest_order" ON "author_latest" ("published_at", "post_id")',
    SEED,
    INSERT_TRIGGER,
    '''CREATE TRIGGER "post_after_update_latest"
        AFTER UPDATE OF "status", "published_at", "author_id" ON "post"
        WHEN old."status" = 'published' OR new."status" = 'published' BEGIN
        {old}
        {new}
    END'''.format(old=refresh('old."author_id"'),
                  # A post given to another author changes their row too.
                  new=refresh('new."author_id"', also='new."author_id" <> old."author_id"')),
    '''CREATE TRIGGER "post_after_delete_latest" AFTER DELETE ON "post"
        WHEN old."status" = 'published' BEGIN
        {old}
    END'''.format(old=refresh('old."author_id"')),
]


def up(migrator, db):
    for sql in STATEMENTS:
        db.execute_sql(sql)


def down(migrator, db):
    for name in ('post_after_delete_latest', 'post_after_update_latest',
                 'post_after_insert_latest'):
        db.execute_sql('DROP TRIGGER "%s"' % name)
    db.execute_sql('DROP TABLE "author_latest"')
