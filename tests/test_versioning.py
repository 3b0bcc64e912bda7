"""The reference's optimistic-locking session, replayed line by line."""

import pytest
from peewee import CharField, SqliteDatabase

from blog.versioning import BaseVersionedModel, ConflictDetectedException

memory_db = SqliteDatabase(':memory:')


class User(BaseVersionedModel):
    username = CharField(unique=True)
    favorite_animal = CharField()

    class Meta:
        database = memory_db


@pytest.fixture(autouse=True)
def tables():
    memory_db.connect(reuse_if_open=True)
    memory_db.create_tables([User])
    yield
    memory_db.drop_tables([User])
    memory_db.close()


def test_reference_session():
    u = User(username='charlie', favorite_animal='cat')
    assert u.save_optimistic() is True
    assert u.version == 1
    with pytest.raises(ValueError, match='No changes have been made.'):
        u.save_optimistic()
    u.favorite_animal = 'kitten'
    assert u.save_optimistic() is True
    # Simulate a separate thread coming in and updating the model.
    u2 = User.get(User.username == 'charlie')
    u2.favorite_animal = 'macaw'
    assert u2.save_optimistic() is True
    # Now, attempt to change and re-save the original instance:
    u.favorite_animal = 'little parrot'
    with pytest.raises(ConflictDetectedException, match='current version is out of sync'):
        u.save_optimistic()
    row = User.get(User.username == 'charlie')
    assert (row.favorite_animal, row.version) == ('macaw', 3)


def test_assigning_the_same_value_is_no_change():
    u = User(username='dora', favorite_animal='cat')
    u.save_optimistic()
    loaded = User.get_by_id(u.id)
    loaded.favorite_animal = 'cat'  # marked dirty by peewee, but not a change
    with pytest.raises(ValueError):
        loaded.save_optimistic()


def test_update_carries_the_version_in_where(monkeypatch):
    u = User(username='eve', favorite_animal='cat')
    u.save_optimistic()
    statements = []
    original = memory_db.execute_sql

    def spy(sql, params=None, *args, **kwargs):
        statements.append((sql, params))
        return original(sql, params, *args, **kwargs)
    monkeypatch.setattr(memory_db, 'execute_sql', spy)
    u.favorite_animal = 'dog'
    u.save_optimistic()
    (sql, params), = statements
    assert sql.startswith('UPDATE')
    assert sql == ('UPDATE "user" SET "version" = ("user"."version" + ?), '
                   '"favorite_animal" = ? '
                   'WHERE (("user"."id" = ?) AND ("user"."version" = ?))')
    assert params == [1, 'dog', u.id, 1]


def test_stale_instance_with_older_version_conflicts():
    u = User(username='fay', favorite_animal='cat')
    u.save_optimistic()
    other = User.get_by_id(u.id)
    other.favorite_animal = 'owl'
    other.save_optimistic()
    u.favorite_animal = 'bat'
    with pytest.raises(ConflictDetectedException):
        u.save_optimistic()
    assert User.get_by_id(u.id).favorite_animal == 'owl'
