"""Queries for the links mailed to people (`email_token`) and confirmed addresses."""

from blog.models import EmailToken, User


def user_for_login(login):
    """The active user whose username is `login`, or whose email it is (any case)."""
    where = (User.email == login) if '@' in login else (User.username == login)
    return (User
            .select()
            .where(where &
                   (User.is_active == True))  # noqa: E712 (peewee builds SQL from ==)
            .first())


def create_token(**fields):
    """Insert a link's row."""
    return EmailToken.create(**fields)


def token_by_hash(token_hash):
    """The link whose token hashes to `token_hash`, with its user, or None."""
    return (EmailToken
            .select(EmailToken, User)
            .join(User, on=(EmailToken.user == User.id))
            .where(EmailToken.token_hash == token_hash)
            .first())


def spend_token(token_id, now):
    """Mark a link used, if it still was not; returns the rows changed (0 or 1)."""
    return (EmailToken
            .update(used_at=now)
            .where((EmailToken.id == token_id) &
                   (EmailToken.used_at.is_null()) &
                   (EmailToken.expires_at > now))
            .execute())


def retire_tokens(user_id, purpose, now):
    """Mark every unused link of `purpose` for the user used (a newer one replaces them)."""
    return (EmailToken
            .update(used_at=now)
            .where((EmailToken.user == user_id) &
                   (EmailToken.purpose == purpose) &
                   (EmailToken.used_at.is_null()))
            .execute())


def confirm_email(user_id, email, now):
    """Mark the user's address confirmed if it is still `email`; rows changed."""
    return (User
            .update(email_confirmed_at=now)
            .where((User.id == user_id) &
                   (User.email == email))
            .execute())


def sweep_tokens(now, batch=100):
    """Delete a batch of links that expired (they can never be used)."""
    dead = (EmailToken
            .select(EmailToken.id)
            .where(EmailToken.expires_at < now)
            .limit(batch))
    return (EmailToken
            .delete()
            .where(EmailToken.id.in_(dead))
            .execute())
