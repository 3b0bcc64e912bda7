"""Scheduled publishing: when a post is public, and the editor's `publish_at`.

A published post is *live* once its `published_at` has come; until then it is
*scheduled*, seen only by its author and the editors. Nothing flips a scheduled
post: every public query asks for `published_at <= now` (blog.queries.live), and the
cache generation carries the moment the next scheduled post is due, so cached pages
and feeds turn over then in every process (blog.cache), with no request or write
needed.

`publish_at` is what the author asked for, typed in the site's time zone
(`YYYY-MM-DDTHH:MM`, seconds optional) and kept in UTC; `published_at` follows from
it when the post is published (`publication_time`). A post that has been live keeps
its first date, whatever is typed later: editing never moves a post on the homepage.
"""

import datetime
import zoneinfo

from blog.models import PUBLISHED

FORMATS = ('%Y-%m-%dT%H:%M', '%Y-%m-%dT%H:%M:%S')
INPUT_MAX = 40
MAX_AHEAD = datetime.timedelta(days=366 * 10)  # a typo, rather than a plan


def zone(name):
    """The time zone called `name` (UTC when the name is unknown here)."""
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return datetime.UTC


def parse_local(text, zone_name):
    """`text` typed in time zone `zone_name` as a naive UTC datetime: (time, error).

    Empty text is (None, None). A wall time the clocks skip (the hour a change to
    summer time leaves out) is an error rather than a guess; a time they pass twice
    is the first of the two.
    """
    text = (text or '').strip()
    if not text:
        return None, None
    if len(text) > INPUT_MAX:
        return None, 'Write the time as 2026-12-31T09:30.'
    for pattern in FORMATS:
        try:
            wall = datetime.datetime.strptime(text, pattern)
            break
        except ValueError:
            continue
    else:
        return None, 'Write the time as 2026-12-31T09:30.'
    tz = zone(zone_name)
    local = wall.replace(tzinfo=tz)
    utc = local.astimezone(datetime.UTC)
    if utc.astimezone(tz).replace(tzinfo=None) != wall:
        return None, 'The clocks skip %s in %s; choose another time.' % (
            wall.strftime('%H:%M on %Y-%m-%d'), zone_name)
    return utc.replace(tzinfo=None), None


def to_local(moment, zone_name):
    """A naive UTC datetime as an aware one in `zone_name`."""
    return moment.replace(tzinfo=datetime.UTC).astimezone(zone(zone_name))


def format_local(moment, zone_name, seconds=False):
    """A naive UTC datetime as the editor shows it in `zone_name` ('' for None)."""
    if moment is None:
        return ''
    local = to_local(moment, zone_name)
    return local.strftime(FORMATS[1] if seconds or local.second else FORMATS[0])


def live_card(card, now):
    """True when readers see the post of `card` (author id, slug, status,
    published_at) at `now`."""
    _author_id, _slug, status, published_at = card
    return status == PUBLISHED and published_at is not None and published_at <= now


def publication_time(status, published_at, publish_at, now):
    """The published_at a post saved now with these values gets.

    A post that has been live keeps its date. A published one gets `publish_at` when
    that is ahead (scheduled), else now. Anything else that was never live has none,
    so taking a scheduled post back to a draft unschedules it.
    """
    if published_at is not None and published_at <= now:
        return published_at
    if status != PUBLISHED:
        return None
    if publish_at is not None and publish_at > now:
        return publish_at
    return now


def publish_at_error(publish_at, stored, now):
    """Why a newly typed `publish_at` (a UTC datetime) cannot be kept, or None.

    Only a changed value is checked: a form sent again after its time came (the post
    went out meanwhile) is not refused for it.
    """
    if publish_at is None or publish_at == stored:
        return None
    if publish_at <= now:
        return 'That time has passed. Leave it empty to publish now.'
    if publish_at - now > MAX_AHEAD:
        return 'Choose a time within the next ten years.'
    return None
