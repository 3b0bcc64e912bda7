"""Site settings: what they are, their rules, reading them for a request, and saving
them. The /admin/settings page (blog.admin) and `python run.py settings` (blog.cli)
share all of it.

The settings live in one database row (`SiteSettings`, migration 0012) whose
trigger bumps the cache generation, so every process sees a change within
`blog.cache.RECHECK_SECONDS`, whichever process made it. A request reads them
through the page cache (`current()`), which costs a dictionary lookup.
"""

import functools
import unicodedata
import zoneinfo
from collections import namedtuple

from peewee import PeeweeException

from blog import merging
from blog.cache import cached
from blog.db import db, write_transaction
from blog.queries import site
from blog.site import current_site
from blog.versioning import (
    CONFLICT,
    SAVED,
    ConflictDetectedException,
    SaveResult,
)

TEXT_KEYS = ('site_name', 'site_description', 'registration', 'default_role', 'timezone')
KEYS = TEXT_KEYS + ('require_2fa', 'media_quota')
REGISTRATION_MODES = ('open', 'invite', 'closed')
DEFAULT_ROLES = ('contributor', 'author', 'editor')  # never admin: that is given by hand
NAME_MAX = 100
DESCRIPTION_MAX = 300
TIMEZONE_MAX = 64
QUOTA_MAX = 1_000_000  # MiB of images per user; 0 turns uploads off

Settings = namedtuple('Settings', KEYS)
DEFAULTS = Settings('Blog', '', 'invite', 'contributor', 'UTC', False, 200)


def current():
    """This request's site settings (a `Settings`), cached per cache generation."""
    site = current_site()
    if db.obj is None:
        # An error page answered before the request had its database (a 413 from
        # the body check, say) still has a header and a title to show.
        return site.last_settings or DEFAULTS
    try:
        settings = cached(('site-settings',), load)
    except PeeweeException:  # the same, when the database itself failed
        return site.last_settings or DEFAULTS
    site.last_settings = settings
    return settings


def load():
    """The saved settings, read now (outside requests: the command line)."""
    row = site.settings_row()
    return DEFAULTS if row is None else Settings(*(getattr(row, key) for key in KEYS))


@functools.lru_cache(maxsize=1)
def timezones():
    """Every IANA time zone name this machine knows."""
    return frozenset(zoneinfo.available_timezones())


def tidy(values):
    """Values as they are stored: text on one line, runs of spaces as one; the
    quota a number when it is written as one (else left as typed, for errors())."""
    tidied = dict(values)
    for key in TEXT_KEYS:
        if key in tidied:
            tidied[key] = ' '.join(str(tidied[key]).split())
    quota = tidied.get('media_quota')
    if isinstance(quota, str):
        quota = quota.strip()
        tidied['media_quota'] = int(quota) if quota.isascii() and quota.isdigit() \
            and len(quota) <= 7 else quota
    return tidied


def _text_error(value, maximum, label):
    if any(unicodedata.category(ch) in ('Cc', 'Cf', 'Co', 'Cs') for ch in value):
        return '%s contains characters that cannot be shown; please retype it.' % label
    if len(value) > maximum:
        return '%s can be at most %d characters (it has %d).' % (label, maximum, len(value))
    return None


def errors(values):
    """Messages by key for tidied `values` (any subset of KEYS); empty when all is well."""
    found = {}
    checks = {
        'site_name': lambda v: 'Give the site a name.' if not v
        else _text_error(v, NAME_MAX, 'The site name'),
        'site_description': lambda v: _text_error(v, DESCRIPTION_MAX, 'The description'),
        'registration': lambda v: None if v in REGISTRATION_MODES
        else 'Choose open, invite or closed.',
        'default_role': lambda v: None if v in DEFAULT_ROLES
        else 'Choose contributor, author or editor.',
        # UTC is always there, even on a machine without a time zone database.
        'timezone': lambda v: None if v == 'UTC' or (len(v) <= TIMEZONE_MAX and
                                                    v in timezones())
        else 'Use a time zone name such as UTC, Europe/Paris or America/New_York.',
        'require_2fa': lambda v: None if isinstance(v, bool) else 'Yes or no.',
        'media_quota': lambda v: None if type(v) is int and 0 <= v <= QUOTA_MAX
        else 'A whole number of MiB, from 0 (no uploads) to %d.' % QUOTA_MAX,
    }
    for key, value in values.items():
        message = checks[key](value)
        if message:
            found[key] = message
    return found


TRUE_WORDS = ('1', 'true', 'yes', 'on')
FALSE_WORDS = ('0', 'false', 'no', 'off')


def parse(key, text):
    """A value for `key` from the command line's text; ValueError with a one-line
    message when the key is unknown or the value breaks a rule."""
    if key not in KEYS:
        raise ValueError('unknown setting %r (settings: %s)' % (key, ', '.join(KEYS)))
    if key == 'require_2fa':
        word = text.strip().lower()
        if word not in TRUE_WORDS + FALSE_WORDS:
            raise ValueError('require_2fa is yes or no (or true/false, on/off, 1/0)')
        return word in TRUE_WORDS
    value = tidy({key: text})[key]
    problem = errors({key: value}).get(key)
    if problem:
        raise ValueError('%s: %s' % (key, problem))
    return value


def shown(key, value):
    """A value as the command line prints it."""
    if key == 'require_2fa':
        return 'yes' if value else 'no'
    return value


def save(version, values, actor_id, base=None):
    """Save `values` if the row is still at `version`, else merge them field by field
    with what was saved since, from `base` (the values the form was loaded with): a
    `SaveResult`, as for profiles. One write transaction."""
    try:
        with write_transaction():
            row = site.settings_row()
            outcome, changes, merge = merging.form_changes(row, version, values, base)
            if outcome is not None:
                return SaveResult(outcome, row, merge=merge)
            version = row.version
            for key, (_, new) in changes.items():
                setattr(row, key, new)
            row.updated_by = actor_id
            row.version = version
            row.save_optimistic()  # the UPDATE checks the version itself
            return SaveResult(SAVED, row, changes, merge=merge)
    except ConflictDetectedException:
        return SaveResult(CONFLICT, site.settings_row())


def set_one(key, value):
    """Set one setting from the command line (no actor, no version check: the read
    and the write share one transaction). Returns True when it changed."""
    with write_transaction():
        row = site.settings_row()
        if getattr(row, key) == value:
            return False
        setattr(row, key, value)
        row.updated_by = None
        row.save_optimistic()
        return True
