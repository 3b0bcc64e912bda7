"""Email addresses are unique regardless of case.

The unique index from 0001 compares exactly, so `Ann@example.com` and
`ann@example.com` could both be stored. This index on lower(email) makes SQLite
itself refuse the second one, even when two saves race past the application's
own check. (NULLs, the "no email" value, never collide in a unique index.)
"""


def up(migrator, db):
    db.execute_sql('CREATE UNIQUE INDEX "user_email_lower" ON "user" (lower("email"))')


def down(migrator, db):
    db.execute_sql('DROP INDEX "user_email_lower"')
