"""Withdrawing an invitation: `revoked_at` is set when an admin withdraws a link
that has not been used; from then on it says so (410) and makes no account."""


def up(migrator, db):
    db.execute_sql('ALTER TABLE "invitation" ADD COLUMN "revoked_at" INTEGER')


def down(migrator, db):
    db.execute_sql('ALTER TABLE "invitation" DROP COLUMN "revoked_at"')
