"""One post per new-post form: `post_form` remembers which post each form made.

The new-post form carries a random hidden `form_id`. Sending the same form again
(Back, then Save; a double click; a retry after a lost answer) finds the post it
made here instead of making a second one. The row goes with its post.
"""


def up(migrator, db):
    db.execute_sql('''CREATE TABLE "post_form" (
        "author_id" INTEGER NOT NULL REFERENCES "user" ("id") ON DELETE CASCADE,
        "form_id" VARCHAR(64) NOT NULL,
        "post_id" INTEGER NOT NULL REFERENCES "post" ("id") ON DELETE CASCADE,
        PRIMARY KEY ("author_id", "form_id"))''')
    db.execute_sql('CREATE INDEX "post_form_post_id" ON "post_form" ("post_id")')


def down(migrator, db):
    db.execute_sql('DROP TABLE "post_form"')
