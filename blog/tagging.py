"""Tag rules: how a typed tag list is stored, and how a tag in a URL is read.

Tags are stored normalised: lower case, NFC, inner spaces as '-', only letters,
digits and '-', at most 40 characters, at most 10 a post, duplicates dropped; the
typed text is capped (TAGS_TEXT_MAX) before any of it is read. A tag typed in
another form in a URL (capitals, spaces) gets a permanent redirect to its normalised
URL; text that cannot be a tag, or a tag no published post carries,
is a 404 (a draft's tags stay private).
"""

import unicodedata

from bottle import HTTPError

from blog.queries import readers
from blog.responses import redirect_permanently
from blog.urls import url

TAG_MAX = 40
TAGS_MAX = 10


# Caps applied before any tag is normalised, so the work is linear in a bounded
# input: /tags/<path> takes anyone's text, and so does the editor's tags field.
# Ten 40-character tags with separators are about 420 characters; four times that
# leaves room for decomposed accents and generous spacing.
TAGS_TEXT_MAX = 4 * TAGS_MAX * (TAG_MAX + 2)
# Items looked at, at most: enough to count an ordinary over-long list exactly.
TAG_ITEMS_MAX = 10 * TAGS_MAX


def normalize_tags(text):
    """Comma-separated tags to a list: (tags, error message or None).

    Linear and bounded: text over TAGS_TEXT_MAX characters is refused before any
    tag is read, and reading stops after TAG_ITEMS_MAX non-empty items.
    """
    text = text or ''
    if len(text) > TAGS_TEXT_MAX:
        return [], 'The tags can be at most %d characters in all (there are %d).' % (
            TAGS_TEXT_MAX, len(text))
    tags, seen, items = [], set(), 0
    for raw in text.split(','):
        if not raw or raw.isspace():
            continue
        items += 1
        if items > TAG_ITEMS_MAX:
            return tags, 'Use at most %d tags (there are more than %d).' % (
                TAGS_MAX, TAG_ITEMS_MAX)
        tag = '-'.join(unicodedata.normalize('NFC', raw).lower().split())
        if not tag:
            continue
        if not all(ch == '-' or ch.isalnum() for ch in tag):
            return tags, ('Tags can hold only letters, digits and "-" ("%s" has other characters).'
                          % tag[:TAG_MAX])
        if len(tag) > TAG_MAX:
            return tags, 'Each tag can be at most %d characters ("%s…" is longer).' % (
                TAG_MAX, tag[:20])
        if tag not in seen:  # a set: a list's `in` made this quadratic
            seen.add(tag)
            tags.append(tag)
    if len(tags) > TAGS_MAX:
        return tags, 'Use at most %d tags (there are %d).' % (TAGS_MAX, len(tags))
    return tags, None


def normalize_tag(raw):
    """The stored form of one tag typed in a URL, or None when it cannot be a tag."""
    normalized, error = normalize_tags(raw)
    if error or len(normalized) != 1:
        return None
    return normalized[0]


def is_stored_form(tag):
    """True when `tag` is exactly as the editor stores tags."""
    return isinstance(tag, str) and normalize_tags(tag) == ([tag], None)


def resolve_tag(raw, route='tag', must_exist=True):
    """The normalised tag for a URL segment; a non-normalised one is redirected
    (301) to the same `route` with the normalised tag, and a tag no published post
    carries is a 404 (unless `must_exist` is false)."""
    tag = normalize_tag(raw)
    if tag is None:
        raise HTTPError(404, 'No published post has that tag.')
    if tag != raw:
        redirect_permanently(url(route, tag=tag))
    if must_exist and not readers.tag_exists(tag):
        raise HTTPError(404, 'No published post has the tag “%s”.' % tag)
    return tag
