"""Post slugs: the readable part of a post's address, `/posts/<id>-<slug>`.

A slug is made from a title (or from what the author typed in the editor's `slug`
field): folded to ASCII by python-slugify (text-unidecode transliterates other
scripts, so "Ça va? Größe — 東京" reads "ca-va-grosse-dong-jing"), lower case,
words joined by hyphens, at most SLUG_MAX characters cut at a word boundary; a
text with nothing left gives FALLBACK. The id alone finds the post: the slug is
only checked, and a stale one answers 301 to the address of today.

`slug_for()` is the one rule for what a save gives a post. A draft's slug follows
its title; once the post is published it stays, so links keep working, unless
the author changes it in the editor (or clears the field to take the title's).
"""

from slugify import slugify as _fold

from blog.models import PUBLISHED, utcnow

SLUG_MAX = 60
FALLBACK = 'post'
INPUT_MAX = 200  # characters of the editor's slug field, at most (blog.posts checks it)
# Apostrophes join a word rather than split it: "don't" reads "dont", not "don-t".
_REPLACEMENTS = (("'", ''), ('\u2019', ''))


def slugify(text):
    """`text` as a slug: ASCII letters and digits in lower case, hyphens between
    words, at most SLUG_MAX characters (cut after a whole word where there is one);
    FALLBACK when nothing is left."""
    slug = _fold(text or '', replacements=_REPLACEMENTS)
    if len(slug) > SLUG_MAX:
        head = slug[:SLUG_MAX + 1]  # a word ending exactly at SLUG_MAX is kept whole
        cut = head.rfind('-')
        slug = head[:cut] if cut > 0 else slug[:SLUG_MAX]
    return slug.strip('-') or FALLBACK


def is_slug(text):
    """True when `text` is already a slug as slugify() makes them (an import's
    `slug` is taken only then)."""
    return isinstance(text, str) and bool(text) and slugify(text) == text


def slug_for(values, current=None):
    """The slug a post gets from a save.

    `values` are the saved fields: `title`, and `slug`, the editor's field as
    sent (None or missing when it was not sent: restores, merges, other tools).
    `current` holds the post's stored `title`, `slug`, `status` and
    `published_at`; None for a new post.

    A new post takes the slug field when it is given, else its title. On a save,
    a slug field that gives another slug than the stored one is the author's
    change, and an empty one asks for the title's; otherwise (not sent, or the
    same slug) the stored slug stays when the post is published or the slug was
    chosen by hand (it is not the old title's), and follows the title if not.
    """
    sent = values.get('slug')
    sent = sent.strip() if isinstance(sent, str) else None
    if current is None:
        return slugify(sent or values['title'])
    stored = current['slug']
    if sent == '':
        return slugify(values['title'])
    if sent is not None and slugify(sent) != stored:
        return slugify(sent)
    # Out, not merely scheduled: until its moment a post's address is nobody's link yet.
    published = (current['status'] == PUBLISHED and current['published_at'] is not None
                 and current['published_at'] <= utcnow())
    if stored and (published or stored != slugify(current['title'])):
        return stored
    return slugify(values['title'])
