"""The homepage's window index: published posts by date, with their author.

The homepage runs the GROUP BY/HAVING shortcut ("each author's latest published
post") over published posts newer than a cut-off date, so that a page needs a few
thousand index entries instead of all of them (see `blog.queries.homepage_page`).
This partial index makes that range scan covering: date, author and (implicitly)
the post id, published posts only.
"""


def up(migrator, db):
    db.execute_sql('CREATE INDEX "post_published_author" ON "post" ("published_at", "author_id")'
                   ' WHERE "status" = \'published\'')


def down(migrator, db):
    db.execute_sql('DROP INDEX "post_published_author"')
