"""Accounts, for the web and the command line alike: creating users, checking and
setting passwords, promoting admins, ending someone's sessions.

Passwords are hashed and checked *in SQL* by the `make_password` and
`check_password` functions the database backend registers. A hash is always made
with a SELECT before the write transaction starts, so a slow hash never holds the
write lock; the write then stores the result.
"""

from peewee import IntegrityError

from blog import forms, passwords
from blog.cache import cached
from blog.db import burn_check, hash_password, needs_rehash, write_transaction
from blog.queries import people

USERNAME_TAKEN = 'That username is taken. Please choose another.'


def site_has_admin():
    """Whether the site has an active admin (cached per generation: a new user or
    role bumps it)."""
    return cached(('has-admin',), people.any_active_admin)


class Refused(Exception):
    """Raised by a create_user `after` step to undo the new account."""


def create_user(username, raw_password, after=None, **fields):
    """A new user with password `raw_password`; None when the username is taken
    (also when someone takes it between the check and the insert: the unique
    index decides). `after(user)` runs in the same transaction; it may raise
    `Refused`, which undoes the account and is raised again."""
    if people.username_taken(username):
        return None
    encoded = hash_password(raw_password)  # outside the write transaction
    try:
        with write_transaction():
            user = people.create_user(username=username, password=encoded, **fields)
            if after is not None:
                after(user)
            return user
    except IntegrityError:
        return None


def authenticate(username, raw_password):
    """The user whose username and password these are, or None.

    Takes the same time whether or not the user exists: when no hash was checked
    (an unknown name, or an account that cannot sign in, such as an imported
    author), a dummy hash is checked instead.
    """
    if len(raw_password) > forms.PASSWORD_MAX:
        return None
    user = people.user_matching_password(username, raw_password)
    if user is None and passwords.parse(people.stored_password(username)) is None:
        burn_check(raw_password)
    return user


def signed_in(user, raw_password):
    """Note a successful sign-in; re-hash a password made at an older cost."""
    people.note_sign_in(user.id)
    if needs_rehash(user.password):
        # Only over the hash just checked: a password set meanwhile (the user's own
        # change, `run.py set-password`) is never replaced by the old one.
        people.set_password_hash(user.id, hash_password(raw_password), only_over=user.password)


def password_is(user, raw_password):
    """True when `raw_password` is `user`'s current password."""
    return (len(raw_password) <= forms.PASSWORD_MAX
            and people.password_matches(user.id, raw_password))


def set_password(user_id, raw_password, keep_session=None):
    """Store a new password and end the user's sessions (all but the one whose
    hash is `keep_session`): whoever knew the old one is signed out. Returns
    False when the user no longer exists."""
    encoded = hash_password(raw_password)  # before the write lock: it takes ~0.3 s
    with write_transaction():
        changed = people.set_password_hash(user_id, encoded)
        people.delete_user_sessions(user_id, keep=keep_session)
    return bool(changed)


def promote_to_admin(user_id):
    """Make the user an active admin (their password stays as it is)."""
    with write_transaction():
        return bool(people.promote_to_admin(user_id))


def end_sessions(user_id):
    """Sign the user out everywhere (inside the caller's transaction, if any)."""
    return people.delete_user_sessions(user_id)
