"""Queries for people: users, their sessions, the admin area and its audit trail."""

import datetime

from peewee import JOIN, fn

from blog.models import TRASHED, AuditEntry, Invitation, Post, Session, User, utcnow
from blog.queries import Prepared, delete_expired, sample
from blog.roles import ADMIN

# Users ------------------------------------------------------------------------

_USER_NAMED = Prepared(
    lambda username: (User
                      .select()
                      .where(User.username == username)
                      .limit(1)),
    sample(str))


def user_named(username):
    """The user called `username`, or None."""
    return _USER_NAMED.first(username)


def user_by_id(user_id):
    """The user `user_id`, or None."""
    return User.get_or_none(User.id == user_id)


def username_taken(username):
    """True when a user is called `username`."""
    return User.select().where(User.username == username).exists()


def stored_password(username):
    """The stored password hash of `username`, or None."""
    return (User
            .select(User.password)
            .where(User.username == username)
            .scalar())


def user_matching_password(username, raw):
    """The user called `username` whose password is `raw` (checked in SQL), or None."""
    return (User
            .select()
            .where((User.username == username) &
                   fn.check_password(raw, User.password))
            .first())


def password_matches(user_id, raw):
    """True when `raw` is user `user_id`'s password (checked in SQL)."""
    return (User
            .select()
            .where((User.id == user_id) &
                   fn.check_password(raw, User.password))
            .exists())


def create_user(**fields):
    """Insert a user row; IntegrityError when the username (or email) is taken."""
    return User.create(**fields)


def set_password_hash(user_id, encoded, only_over=None):
    """Store `encoded` as the user's password; with `only_over`, only while the
    stored hash is still that one. Returns the number of rows changed."""
    query = (User
             .update(password=encoded, updated_at=utcnow())
             .where(User.id == user_id))
    if only_over is not None:
        query = query.where(User.password == only_over)
    return query.execute()


def note_sign_in(user_id):
    """Record a successful sign-in's time."""
    return (User
            .update(last_login_at=utcnow())
            .where(User.id == user_id)
            .execute())


def promote_to_admin(user_id):
    """Make the user an active admin, with a version bump (an open admin form on
    them is then stale, and cannot quietly set the role back)."""
    return (User
            .update(role=ADMIN, is_active=True, updated_at=utcnow(),
                    version=User.version + 1)
            .where(User.id == user_id)
            .execute())


# Sessions ---------------------------------------------------------------------

_LIVE_SESSION = Prepared(
    lambda token_hash, now: (Session
                             .select(Session, User)
                             .join(User, JOIN.LEFT_OUTER, on=(Session.user == User.id))
                             .where((Session.token_hash == token_hash) &
                                    (Session.expires_at > now))
                             .limit(1)),
    sample(str), (Session.expires_at, sample(datetime.datetime)))


def live_session(token_hash, now):
    """The unexpired session with `token_hash`, its user joined (or None)."""
    return _LIVE_SESSION.first(token_hash, now)


def create_session(**fields):
    """Insert a session row."""
    return Session.create(**fields)


def touch_session(token_hash, now, expires_at):
    """Note that a session was used now, and move its expiry."""
    return (Session
            .update(last_seen_at=now, expires_at=expires_at)
            .where(Session.token_hash == token_hash)
            .execute())


def delete_session(token_hash):
    """End one session."""
    return Session.delete().where(Session.token_hash == token_hash).execute()


def delete_expired_sessions(now, batch):
    """Forget at most `batch` sessions that have expired; returns how many."""
    return delete_expired(Session.token_hash, Session.expires_at, now, batch)


def delete_user_sessions(user_id, keep=None):
    """End every session of a user, but the one whose hash is `keep`."""
    query = Session.delete().where(Session.user == user_id)
    if keep is not None:
        query = query.where(Session.token_hash != keep)
    return query.execute()


# The admin area and profiles ------------------------------------------------

def user_post_count(user_id):
    """A query counting a user's posts, drafts included, the trash not (call
    .scalar()); read from the covering index post_author_id."""
    return (Post
            .select(fn.COUNT(Post.id))
            .where((Post.author == user_id) &
                   (Post.status != TRASHED)))


def admin_user_list(name_filter=''):
    """Every user with `post_count`, by username; `name_filter` matches the
    username or display name anywhere, case-insensitively (LIKE wildcards in it
    are escaped by peewee's contains())."""
    # A correlated subquery, evaluated only for the rows on the page (ordered by
    # the username index), instead of grouping every post of every user.
    query = (User
             .select(User.id, User.username, User.display_name, User.role,
                     User.is_active, User.created_at, User.last_login_at,
                     user_post_count(User.id).alias('post_count'))
             .order_by(User.username))
    if name_filter:
        query = query.where(User.username.contains(name_filter) |
                            User.display_name.contains(name_filter))
    return query


def any_active_admin():
    """True when the site has an active admin."""
    return other_active_admins(None).exists()


def other_active_admins(user_id):
    """A query for the active admins other than user `user_id` (None: all of them)."""
    query = (User
             .select(User.id)
             .where((User.role == ADMIN) &
                    User.is_active))
    return query if user_id is None else query.where(User.id != user_id)


def email_taken(email, user_id):
    """A query for another user with `email`, compared case-insensitively."""
    return (User
            .select(User.id)
            .where((fn.LOWER(User.email) == email.lower()) &
                   (User.id != user_id)))


def audit_trail(user_id, limit=100):
    """The latest admin changes to user `user_id`, newest first, with their actor."""
    Actor = User.alias('actor')  # a model alias reads like a model
    return (AuditEntry
            .select(AuditEntry, Actor)
            .join(Actor, JOIN.LEFT_OUTER, on=(AuditEntry.actor == Actor.id))
            .where(AuditEntry.user == user_id)
            .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
            .limit(limit))


def add_audit_entry(user_id, actor_id, changes_json):
    """Record an admin's change to a user."""
    return AuditEntry.create(user=user_id, actor=actor_id, at=utcnow(), changes=changes_json)


# Invitations ------------------------------------------------------------------

def create_invitation(**fields):
    """Insert an invitation row."""
    return Invitation.create(**fields)


def invitation_by_hash(token_hash):
    """The invitation whose token hashes to `token_hash`, or None."""
    return Invitation.get_or_none(Invitation.token_hash == token_hash)


def use_invitation(invitation_id, user_id, now):
    """Mark an unused, unexpired invitation used by `user_id`; 1 when this call
    did, 0 when it was used (or expired, or withdrawn) first."""
    return (Invitation
            .update(used_at=now, used_by=user_id)
            .where((Invitation.id == invitation_id) &
                   Invitation.used_at.is_null() &
                   Invitation.revoked_at.is_null() &
                   (Invitation.expires_at > now))
            .execute())


def invitation_by_id(invitation_id):
    """The invitation `invitation_id`, or None."""
    return Invitation.get_or_none(Invitation.id == invitation_id)


def withdraw_invitation(invitation_id, now):
    """Withdraw an invitation nobody has used yet; 1 when this call did, 0 when it
    was used or withdrawn first (or is not there)."""
    return (Invitation
            .update(revoked_at=now)
            .where((Invitation.id == invitation_id) &
                   Invitation.used_at.is_null() &
                   Invitation.revoked_at.is_null())
            .execute())


def invitation_list(limit, offset):
    """Invitations newest first, with who made them and who used them."""
    maker, user = User.alias('maker'), User.alias('used')
    return (Invitation
            .select(Invitation, maker.username, user.username)
            .join(maker, JOIN.LEFT_OUTER, on=(Invitation.created_by == maker.id),
                  attr='maker')
            .switch(Invitation)
            .join(user, JOIN.LEFT_OUTER, on=(Invitation.used_by == user.id), attr='user')
            .order_by(Invitation.created_at.desc(), Invitation.id.desc())
            .limit(limit)
            .offset(offset))
