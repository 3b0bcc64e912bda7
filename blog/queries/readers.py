"""Queries for what readers and their tools fetch: feeds, tag pages, the archive,
search, the sitemap, and export and import."""

from peewee import Tuple, fn

from blog.db import backend
from blog.markdown import EXCERPT_SOURCE_CHARS
from blog.models import PUBLISHED, TAG_SPAN, TRASHED, Post, PostTag, TagSpan, User, utcnow
from blog.queries import live


def published_posts():
    """Live posts with their authors, newest first (ties: the later id)."""
    return (Post
            .select(Post, User)
            .join(User, on=(Post.author == User.id))
            .where(live())
            .order_by(Post.published_at.desc(), Post.id.desc()))


def author_published_posts(author):
    """`author`'s published posts, newest first."""
    return published_posts().where(Post.author == author.id)


def author_neighbours(post, now=None):
    """The live posts by `post`'s author just before and after it, (older, newer), each
    a Post with id, slug and title, or None. A post that is not out yet (a draft, or
    scheduled) has only older ones: the author's latest live post.

    Each is one seek on the index `post_author_id` (author, status, date): the row
    value (date, id) is the only bound on the date side it walks from.
    """
    now = utcnow() if now is None else now
    out = post.published_at is not None and post.published_at <= now
    # 2**63 - 1: past any id, so "before now" includes every post of this very moment.
    before = (post.published_at, post.id) if out else (now, 2 ** 63 - 1)
    # A row value's parts are plain parameters: the date goes in as the stored integer.
    stored = Post.published_at.db_value
    older = (Post
             .select(Post.id, Post.slug, Post.title)
             .where((Post.author == post.author_id) &
                    (Post.status == PUBLISHED) &
                    (Tuple(Post.published_at, Post.id) < Tuple(stored(before[0]), before[1])))
             .order_by(Post.published_at.desc(), Post.id.desc())
             .limit(1)
             .first())
    newer = None
    if out:
        newer = (Post
                 .select(Post.id, Post.slug, Post.title)
                 .where((Post.author == post.author_id) &
                        live(now) &
                        (Tuple(Post.published_at, Post.id) >
                         Tuple(stored(post.published_at), post.id)))
                 .order_by(Post.published_at.asc(), Post.id.asc())
                 .limit(1)
                 .first())
    return older, newer


def tag_published_posts(tag, limit, offset=0):
    """Up to `limit` published posts carrying `tag`, newest first, from `offset`.

    The page's ids come from the partial index `post_tag_tag_published` alone (each
    tag row carries its post's date while published, migration 0010). A deep page
    starts from the span of 30 days it falls in (`tag_page_start`), so any page of any
    tag costs the spans' rows, a walk inside one span and `limit` lookups.
    """
    now = utcnow()
    start = tag_page_start(tag, offset, now)
    if start is None:  # past the tag's last post
        return []
    before, skip = start
    # Before a span that has begun everything is live; only one upper bound, or
    # SQLite may take the other one (now) for the index range and walk from there.
    bound = (live(now, published_at=PostTag.published_at) if before is None
             else PostTag.published_at < before)
    ids = (PostTag
           .select(PostTag.post)
           .where((PostTag.tag == tag) & bound)
           .order_by(PostTag.published_at.desc(), PostTag.post.desc())
           .limit(limit)
           .offset(skip))
    return published_posts().where(Post.id.in_(ids))


def tag_page_start(tag, offset, now):
    """Where the `offset`-th newest post of `tag` live at `now` is: (a date it is
    before, or None for "from the newest", and how many posts to skip from there);
    None when the tag has no more posts than `offset`.

    The span `now` is in (where scheduled posts wait) is counted on the index;
    older spans are all live, so their counts in TagSpan are read, newest first,
    until the one the offset falls in.
    """
    current = Post.published_at.db_value(now) // TAG_SPAN
    current_start = Post.published_at.python_value(current * TAG_SPAN)
    recent = (PostTag
              .select()
              .where((PostTag.tag == tag) &
                     (PostTag.published_at >= current_start) &
                     live(now, published_at=PostTag.published_at))
              .count())
    if offset < recent:
        return None, offset
    skipped = recent
    spans = (TagSpan
             .select(TagSpan.span, TagSpan.posts)
             .where((TagSpan.tag == tag) &
                    (TagSpan.span < current) &
                    (TagSpan.posts > 0))
             .order_by(TagSpan.span.desc())
             .tuples())
    for span, posts in spans:
        if skipped + posts > offset:
            return Post.published_at.python_value((span + 1) * TAG_SPAN), offset - skipped
        skipped += posts
    return None


def archive_posts(limit, offset=0):
    """Up to `limit` published posts, newest first, from `offset`: rows with id,
    title, published_at, html_head (the start of the HTML, for an excerpt) and the
    author's id, username and display name.

    The page's ids come from the partial index `post_published (published_at, id)`
    alone, so a page costs a walk of `offset + limit` index entries and `limit`
    lookups, and no body is read past its first EXCERPT_SOURCE_CHARS.
    """
    ids = (Post
           .select(Post.id)
           .where(live())
           .order_by(Post.published_at.desc(), Post.id.desc())
           .limit(limit)
           .offset(offset))
    return (Post
            .select(Post.id, Post.title, Post.slug, Post.published_at,
                    fn.SUBSTR(Post.html, 1, EXCERPT_SOURCE_CHARS).alias('html_head'),
                    User.id, User.username, User.display_name)
            .join(User, on=(Post.author == User.id))
            .where(Post.id.in_(ids))
            .order_by(Post.published_at.desc(), Post.id.desc()))


def tag_exists(tag):
    """True when at least one live post carries `tag` (drafts' tags stay private)."""
    return (PostTag
            .select(PostTag.post)
            .where((PostTag.tag == tag) &
                   live(published_at=PostTag.published_at))
            .exists())


SEARCH_MARK_OPEN, SEARCH_MARK_CLOSE = '\ue000', '\ue001'  # private-use: never markup


def search_expression(text, max_terms, max_prefixes, min_prefix):
    """`text` as a bounded backend search expression: (expression, terms dropped,
    prefix stars dropped)."""
    return backend().search_expression(text, max_terms, max_prefixes, min_prefix)


def search_ranked(match, candidates, offset, limit):
    """(post id, score) of the best live matches among the newest `candidates`
    matches of `match`, best first, from `offset` (at most `limit`), and whether
    more matches than the candidates exist."""
    return backend().search_ranked(match, candidates, offset, limit, utcnow())


def search_results(match, ids, snippet_tokens=24):
    """The posts `ids` with their authors, a highlighted title (`title_marked`) and
    a body `snippet`, matches wrapped in the private-use markers above (the caller
    escapes the text, then turns the markers into <mark>)."""
    return backend().search_results(match, ids, (SEARCH_MARK_OPEN, SEARCH_MARK_CLOSE),
                                    snippet_tokens, utcnow())


def sitemap_posts():
    """(id, slug, updated_at, published_at) of live posts, oldest id first (stable
    chunks), from the covering index post_published_id (migration 0016)."""
    return (Post
            .select(Post.id, Post.slug, Post.updated_at, Post.published_at)
            .where(live())
            .order_by(Post.id))


def sitemap_authors():
    """Usernames of authors with a published post, in order."""
    published = (Post
                 .select(Post.id)
                 .where((Post.author == User.id) & live()))
    return (User
            .select(User.username)
            .where(fn.EXISTS(published))
            .order_by(User.username)
            .tuples())


def sitemap_tags():
    """Tags that a published post carries, in order (each tag checked once)."""
    tags = PostTag.select(PostTag.tag).distinct().alias('tags')
    tagged = PostTag.alias('tagged')
    published = (tagged
                 .select(tagged.post)
                 .join(Post, on=(tagged.post == Post.id))
                 .where((tagged.tag == tags.c.tag) & live()))
    return (PostTag
            .select(tags.c.tag)
            .from_(tags)
            .where(fn.EXISTS(published))
            .order_by(tags.c.tag)
            .tuples())


def export_posts(author=None):
    """Posts (drafts too, the trash not) for an export, by author then creation:
    all authors' when `author` is None."""
    query = (Post
             .select(Post, User)
             .join(User, on=(Post.author == User.id))
             .where(Post.status != TRASHED)
             .order_by(User.username, Post.created_at, Post.id))
    if author is not None:
        query = query.where(Post.author == author.id)
    return query


def latest_published_update():
    """When a live post last changed or went out (None when there is none)."""
    value = (Post
             .select(fn.MAX(fn.MAX(Post.updated_at), fn.MAX(Post.published_at)))
             .where(live())
             .scalar())
    return Post.updated_at.python_value(value) if isinstance(value, int) else value


def same_posts(author_id, created_at, title, body):
    """How many posts of `author_id` have this creation time, title and body."""
    return (Post
            .select()
            .where((Post.author == author_id) &
                   (Post.created_at == created_at) &
                   (Post.title == title) &
                   (Post.body == body))
            .count())


def create_post(**fields):
    """Insert a post row as given (an import keeps its times and status)."""
    return Post.create(**fields)


def set_post_html(post_id, html):
    """Store a post's rendered HTML again, nothing else changed (an import, once its
    images are in)."""
    return (Post
            .update(html=html)
            .where(Post.id == post_id)
            .execute())
