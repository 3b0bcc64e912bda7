"""Invitations: single-use links to register with a role, valid 7 days.

An admin makes one at /admin/invitations (blog.admin); the link is
`/register?invite=TOKEN` and works whatever the `registration` setting says
(blog.auth). The token is 32 random bytes; only its SHA-256 is stored, so a copy of
the database cannot be used to register. The link is shown once, on the page its
maker lands on right after making it (and mailed when the invitation has an address,
`mail_link`): the token waits in this process's memory for that session
(`hold_link`/`take_link`), never in a URL or the browser's history.
Using one is an UPDATE that only succeeds while it is unused, unexpired and not
withdrawn, in the same transaction as the new account, so two people racing with
one link make one account. An admin may withdraw a link nobody has used (`withdraw`):
it then says so, like a used one.
"""

import datetime
import hashlib
import secrets
from html import escape

from blog import site_settings
from blog.models import utcnow
from blog.queries import people
from blog.site import current_site
from blog.urls import absolute_url

VALID_DAYS = 7
TOKEN_MAX = 100  # longer is never one of ours; refuse before hashing
UNKNOWN, USED, EXPIRED, WITHDRAWN = 'unknown', 'used', 'expired', 'withdrawn'


def token_hash(token):
    """The stored form of a link's token."""
    return hashlib.sha256(token.encode('utf-8', 'replace')).hexdigest()


def make(role, email, creator_id, now=None):
    """A new invitation for `role`: (its row, the token for its link)."""
    now = now or utcnow()
    token = secrets.token_urlsafe(32)
    row = people.create_invitation(
        token_hash=token_hash(token), role=role, email=email or None,
        created_by=creator_id, created_at=now,
        expires_at=now + datetime.timedelta(days=VALID_DAYS))
    return row, token


def mail_link(row, token, inviter):
    """Mail the invitation's link to its address (after the transaction that made it;
    the site's mailer sends it, or writes it to the log without a server)."""
    link = absolute_url('register', invite=token)
    name = site_settings.current().site_name
    current_site().mailer.send(
        row.email, 'An invitation to %s' % name,
        '%s invites you to write on %s, as %s.\n\nTo make your account, open this link '
        'within %d days; it works once:\n\n%s\n\nIf this mail is not for you, ignore it.\n'
        % (inviter.name, name, row.role, VALID_DAYS, link),
        '<p>%s invites you to write on %s.</p><p><a href="%s">Make my account</a></p>'
        % (escape(inviter.name), escape(name), escape(link)))


def check(token, now=None):
    """(invitation, None) for a usable token, else (invitation or None, UNKNOWN,
    USED, WITHDRAWN or EXPIRED)."""
    if not token or len(token) > TOKEN_MAX:
        return None, UNKNOWN
    row = people.invitation_by_hash(token_hash(token))
    if row is None:
        return None, UNKNOWN
    problem = state(row, now)
    return row, None if problem == PENDING else problem


PENDING = 'pending'


def state(row, now=None):
    """PENDING, USED, WITHDRAWN or EXPIRED, for the admins' list."""
    if row.used_at is not None:
        return USED
    if row.revoked_at is not None:
        return WITHDRAWN
    return EXPIRED if row.expires_at <= (now or utcnow()) else PENDING


def withdraw(invitation_id, now=None):
    """Withdraw an unused invitation; False when it was used or withdrawn first."""
    return people.withdraw_invitation(invitation_id, now or utcnow()) == 1


HELD_LINKS = 100  # links made and not yet shown, per process


def hold_link(site, invitation_id, session, token):
    """Keep a new invitation's token for the next page its maker loads, and for
    nobody else: the link is then shown once, and never travels in a URL."""
    held = site.invitation_links
    while len(held) >= HELD_LINKS:
        held.pop(next(iter(held)), None)
    held[str(invitation_id)] = (session.token_hash, token)


def take_link(site, invitation_id, session):
    """The token held for `invitation_id` if `session` made it (once), else None."""
    entry = site.invitation_links.pop(invitation_id or '', None)
    if entry is None or session is None or entry[0] != session.token_hash:
        return None
    return entry[1]


def use(invitation_id, user_id, now=None):
    """Spend the invitation on `user_id` (inside the transaction that made them);
    False when somebody else spent it first or it expired meanwhile."""
    return people.use_invitation(invitation_id, user_id, now or utcnow()) == 1
