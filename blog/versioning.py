"""Optimistic locking: a versioned base model with `save_optimistic()`.

The recipe is peewee's ("Hacks: optimistic locking"): the UPDATE carries
``WHERE id = ? AND version = ?`` and sets ``version = version + 1`` in the same
statement, and the row count decides success; nothing is read before the write.

One change from the recipe: peewee marks a field dirty even when it is assigned
the value it already had, so "what changed" is decided by comparing against the
values the instance was loaded with, not by `dirty_fields` alone.
"""

from peewee import IntegerField, Model


class ConflictDetectedException(Exception):
    """The row moved on since this instance read it."""

    def __init__(self, message='current version is out of sync'):
        super().__init__(message)


class BaseVersionedModel(Model):
    """A model whose rows carry a version counter, saved with `save_optimistic()`."""

    version = IntegerField(default=1)

    def __init__(self, *args, **kwargs):
        loaded = bool(kwargs.get('__no_default__'))
        super().__init__(*args, **kwargs)
        # The values as last read from / written to the database.
        self.saved_data = dict(self.__data__) if loaded else {}

    def changed_fields(self):
        """Names of fields whose value differs from the one last saved or loaded."""
        return [name for name, value in self.__data__.items()
                if name not in ('version', self._meta.primary_key.name)
                and (name not in self.saved_data or self.saved_data[name] != value)]

    def before_save_optimistic(self, changed):
        """Hook: set derived fields (timestamps, rendered text) before an UPDATE."""

    def save_optimistic(self):
        """Insert at version 1, or update only if the row is still at our version.

        Raises ValueError('No changes have been made.') when no field changed and
        ConflictDetectedException when another writer saved first.
        """
        model = type(self)
        if not self._pk:
            self.version = 1
            self.save()
            self.saved_data = dict(self.__data__)
            return True

        changed = self.changed_fields()
        if not changed:
            raise ValueError('No changes have been made.')
        self.before_save_optimistic(changed)
        names = set(self.changed_fields())
        field_data = {model._meta.fields[name]: self.__data__[name] for name in names}
        field_data[model.version] = model.version + 1  # incremented by SQLite itself

        updated = (model
                   .update(field_data)
                   .where((model._meta.primary_key == self._pk) &
                          (model.version == self.version))
                   .execute())
        if updated == 0:
            raise ConflictDetectedException()
        self.version += 1
        self._dirty.clear()
        self.saved_data = dict(self.__data__)
        return True


# What an optimistic save of a form did (posts and profiles alike).
SAVED, UNCHANGED, CONFLICT, INVALID, MISSING = (
    'saved', 'unchanged', 'conflict', 'invalid', 'missing')


class SaveResult:
    """The outcome of an optimistic save, one shape for every editor.

    `outcome` is SAVED, UNCHANGED, CONFLICT, INVALID or MISSING; `row` is the
    row as saved (SAVED), as found (UNCHANGED, INVALID) or as it is now, someone
    else's version (CONFLICT), and None when the row is gone (MISSING);
    `changes` maps each changed field to (old, new); `errors` maps fields to
    messages (INVALID); `merge` says what a three-way merge did, if one ran.
    """

    __slots__ = ('outcome', 'row', 'changes', 'errors', 'merge')

    def __init__(self, outcome, row=None, changes=None, errors=None, merge=None):
        self.outcome = outcome
        self.row = row
        self.changes = changes or {}
        self.errors = errors or {}
        # A stale edit merged with a newer version: SAVED with the version merged
        # in, or CONFLICT with the overlapping parts (see blog.merging).
        self.merge = merge

    def __repr__(self):
        return '<SaveResult %s>' % self.outcome
