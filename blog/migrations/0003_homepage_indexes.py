"""Indexes for the homepage and /authors.

`post_published_author`: the homepage runs the GROUP BY/HAVING shortcut ("each
author's latest published post") over published posts newer than a cut-off date,
so that a page needs a few thousand index entries instead of all of them (see
`blog.queries.latest_per_author`). This partial index makes that range scan
covering: date, author and (implicitly) the post id, published posts only.

`user_listed_name`: /authors lists authors A to Z by the name pages show (display
name, else username, case-insensitive); walking this expression index in order
gives a page without sorting every user (`blog.queries.authors_page`).
"""


def up(migrator, db):
    db.execute_sql('CREATE INDEX "post_published_author" ON "post" ("published_at", "author_id")'
                   ' WHERE "status" = \'published\'')
    db.execute_sql('CREATE INDEX "user_listed_name" ON "user"'
                   ' (COALESCE(NULLIF("display_name", \'\'), "username") COLLATE NOCASE,'
                   ' "username")')


def down(migrator, db):
    db.execute_sql('DROP INDEX "user_listed_name"')
    db.execute_sql('DROP INDEX "post_published_author"')
