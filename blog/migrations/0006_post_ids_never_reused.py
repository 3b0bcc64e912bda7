"""Post ids are never reused: `post.id` becomes INTEGER PRIMARY KEY AUTOINCREMENT.

Without AUTOINCREMENT SQLite hands the id of a deleted newest post to the next one,
which starts again at version 1, so an edit form still open for the deleted post
would pass `WHERE id = ? AND version = ?` and overwrite the new post. SQLite cannot
add AUTOINCREMENT in place; this follows its documented table rebuild (foreign keys
off, copy, drop, rename, recreate the indexes and triggers, foreign_key_check).
"""

atomic = False  # PRAGMA foreign_keys cannot change inside a transaction


def up(migrator, db):
    (create_sql,) = db.execute_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'post'").fetchone()
    if 'AUTOINCREMENT' in create_sql.upper():
        return
    new_sql = create_sql.replace('CREATE TABLE "post"', 'CREATE TABLE "post_rebuilt"', 1)
    new_sql = new_sql.replace('"id" INTEGER NOT NULL PRIMARY KEY',
                              '"id" INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT', 1)
    if 'AUTOINCREMENT' not in new_sql:
        raise RuntimeError('unexpected post table definition: %s' % create_sql[:200])
    db.execute_sql('PRAGMA foreign_keys = OFF')
    try:
        with db.atomic('IMMEDIATE'):
            # Indexes and triggers go with the old table; keep their exact SQL.
            dependents = [row[0] for row in db.execute_sql(
                "SELECT sql FROM sqlite_master WHERE tbl_name = 'post' "
                "AND type IN ('index', 'trigger') AND sql IS NOT NULL ORDER BY type, name")]
            db.execute_sql(new_sql)
            db.execute_sql('INSERT INTO "post_rebuilt" SELECT * FROM "post"')
            db.execute_sql('DROP TABLE "post"')
            db.execute_sql('ALTER TABLE "post_rebuilt" RENAME TO "post"')
            for sql in dependents:
                db.execute_sql(sql)
            db.execute_sql("INSERT INTO sqlite_sequence (name, seq) "
                           "SELECT 'post', coalesce(max(id), 0) FROM post")
            problems = db.execute_sql('PRAGMA foreign_key_check').fetchall()
            if problems:
                raise RuntimeError('foreign key problems after rebuilding post: %r'
                                   % problems[:5])
    finally:
        db.execute_sql('PRAGMA foreign_keys = ON')
