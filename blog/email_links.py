"""Links mailed to people: confirming an email address, and resetting a password.

A link carries 32 random bytes; the `email_token` table holds only their SHA-256, the
address it was sent to, and its times. A reset link works for RESET_MINUTES, a
confirmation link for CONFIRM_HOURS; each works once (spending it is an UPDATE that
only succeeds while it is unused and unexpired, so two tabs racing with one link
succeed once), and a new link of the same kind retires the older ones.

Reset mail goes only to an address the user has confirmed. Links are absolute from
the site's base URL, never from the Host header, and mail leaves through the site's
mailer (blog.mail), after the transaction, on its own thread.
"""

import datetime
import hashlib
import json
import secrets
from html import escape

from blog import site_settings
from blog.db import write_transaction
from blog.models import utcnow
from blog.queries import links, people
from blog.site import current_site
from blog.urls import absolute_url

RESET_MINUTES = 60
CONFIRM_HOURS = 48
TOKEN_MAX = 100  # longer is never one of ours: refused before hashing
CONFIRM, RESET = 'confirm', 'reset'
UNKNOWN, USED, EXPIRED = 'unknown', 'used', 'expired'


def token_hash(token):
    """The stored form of a link's token."""
    return hashlib.sha256(token.encode('utf-8', 'replace')).hexdigest()


def _make(user, purpose, email, lifetime, now):
    token = secrets.token_urlsafe(32)
    links.retire_tokens(user.id, purpose, now)
    links.create_token(purpose=purpose, token_hash=token_hash(token), user=user.id,
                       email=email, created_at=now, expires_at=now + lifetime)
    links.sweep_tokens(now)
    return token


def check(token, purpose, now=None):
    """(row with its user, None) for a usable link of `purpose`, else (row or None,
    UNKNOWN, USED or EXPIRED)."""
    now = now or utcnow()
    if not token or len(token) > TOKEN_MAX:
        return None, UNKNOWN
    row = links.token_by_hash(token_hash(token))
    if row is None or row.purpose != purpose or not row.user.is_active:
        return None, UNKNOWN
    if row.used_at is not None:
        return row, USED
    if row.expires_at <= now:
        return row, EXPIRED
    return row, None


def spend(row, now=None):
    """Use the link `row` up (inside the caller's transaction): True if this call did."""
    return links.spend_token(row.id, now or utcnow()) == 1


def send_confirmation(user, email):
    """Mail `email` a link that confirms it as `user`'s address."""
    with write_transaction():
        token = _make(user, CONFIRM, email, datetime.timedelta(hours=CONFIRM_HOURS), utcnow())
    link = absolute_url('email_confirm', token=token)
    name = site_name()
    current_site().mailer.send(
        email, 'Confirm your email address for %s' % name,
        'Hello %s,\n\nto confirm that %s is your address on %s, open this link within '
        '%d hours:\n\n%s\n\nIf you did not ask for this, ignore this mail: nothing '
        'changes.\n' % (user.name, email, name, CONFIRM_HOURS, link),
        _html('Confirm that %s is your address on %s.' % (email, name), link,
              'Confirm my address'))


def confirm(row, now=None):
    """Spend a confirmation link and confirm its address (if it is still the user's):
    True when the address is now confirmed."""
    now = now or utcnow()
    with write_transaction():
        if not spend(row, now):
            return False
        return links.confirm_email(row.user_id, row.email, now) == 1


def ask_reset(login, now=None):
    """A reset link for the active user `login` (username or email) names, mailed to
    their confirmed address: the user it went to, or None (no such user, no
    confirmed address). Callers answer the same whatever this returns."""
    now = now or utcnow()
    user = links.user_for_login(login)
    if user is None or not user.email or user.email_confirmed_at is None:
        return None
    with write_transaction():
        token = _make(user, RESET, user.email, datetime.timedelta(minutes=RESET_MINUTES), now)
    send_reset(user, token)
    return user


def admin_reset(user, actor):
    """A reset link for `user`, asked for by the admin `actor`, in the audit trail:
    (token, mailed). It is mailed when the site has a mail server and the user a
    confirmed address; otherwise the admin is shown it to pass on."""
    now = utcnow()
    mailed = (current_site().mailer.target is not None and bool(user.email)
              and user.email_confirmed_at is not None)
    with write_transaction():
        token = _make(user, RESET, user.email or '', datetime.timedelta(minutes=RESET_MINUTES),
                      now)
        how = 'mailed to %s' % user.email if mailed else 'shown to the admin'
        people.add_audit_entry(user.id, actor.id, json.dumps({'reset_link': [None, how]}))
    if mailed:
        send_reset(user, token)
    return token, mailed


def send_reset(user, token):
    """Mail `user` their reset link (made by ask_reset, or by an admin)."""
    link = absolute_url('password_reset', token=token)
    name = site_name()
    current_site().mailer.send(
        user.email, 'Reset your password for %s' % name,
        'Hello %s,\n\nsomeone (we hope you) asked to reset the password of %s on %s. '
        'To choose a new one, open this link within %d minutes; it works once:\n\n%s\n\n'
        'If you did not ask for this, ignore this mail: your password stays as it is.\n'
        % (user.name, user.username, name, RESET_MINUTES, link),
        _html('Choose a new password for %s on %s.' % (user.username, name), link,
              'Choose a new password'))


def site_name():
    """The site's name for a mail's subject and text."""
    return site_settings.current().site_name


def _html(sentence, link, label):
    return ('<p>%s</p><p><a href="%s">%s</a></p><p>Or copy this address: %s</p>'
            % (escape(sentence), escape(link), escape(label), escape(link)))
