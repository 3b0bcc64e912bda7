"""Queries shared by the route modules, as parenthesised chains that return a query
for the caller to run (views paginate and render only).

Sections by concern; add to your section only.
"""

from peewee import JOIN, SQL, fn

from blog.db import backend
from blog.markdown import EXCERPT_SOURCE_CHARS
from blog.models import PUBLISHED, AuditEntry, Post, PostTag, Revision, User

# --- Posts (posts.py, history.py) ----------------------------------------------

def post_with_author(post_id):
    """The post `post_id` with its author joined (one query), or None."""
    return (Post
            .select(Post, User)
            .join(User, on=(Post.author == User.id))
            .where(Post.id == post_id)
            .first())


def post_revisions(post_id):
    """A post's saved revisions, newest first, with who saved them (no bodies)."""
    saver = User.alias()
    return (Revision
            .select(Revision.id, Revision.version, Revision.title, Revision.status,
                    Revision.saved_at, Revision.saved_by, saver.id, saver.username,
                    saver.display_name)
            .join(saver, JOIN.LEFT_OUTER, on=(Revision.saved_by == saver.id))
            .where(Revision.post == post_id)
            .order_by(Revision.version.desc()))


def post_revision(post_id, version):
    """Revision `version` of a post with who saved it, or None."""
    saver = User.alias()
    return (Revision
            .select(Revision, saver)
            .join(saver, JOIN.LEFT_OUTER, on=(Revision.saved_by == saver.id))
            .where((Revision.post == post_id) &
                   (Revision.version == version))
            .first())

# --- end of posts section ---


# --- Homepage and authors (home.py, authors.py) -------------------------------

# "Latest" is the latest published_at, ties broken by the higher id (design.md).

def window_start(newest):
    """published_at of the `newest`-th newest published post; None when there are
    fewer (then a window from it would be every published post)."""
    row = (Post
           .select(Post.published_at)
           .where(Post.status == PUBLISHED)
           .order_by(Post.published_at.desc())
           .limit(1)
           .offset(newest - 1)
           .first())
    return None if row is None else row.published_at


def latest_per_author(since=None):
    """Each author's latest published_at: the GROUP BY/HAVING shortcut.

    Rows: author_id, latest. Without `since` SQLite walks the covering index
    post_author_id (author_id, status, published_at); with it, only published
    posts from `since` on, through the covering index post_published_author
    (published_at, author_id) from migration 0003. Every author with a post in
    that window gets their true latest date (it is in the window too).
    """
    query = (Post
             .select(Post.author, fn.MAX(Post.published_at).alias('latest'))
             .where(Post.status == PUBLISHED)
             .group_by(Post.author)
             .having(Post.published_at == fn.MAX(Post.published_at)))
    if since is not None:
        # Marked selective: the planner then range-scans the date index instead of
        # walking the whole author index (SQLite has no statistics to know better,
        # and would otherwise avoid the GROUP BY sort).
        query = query.where(backend().selective(Post.published_at >= since))
    return query


def homepage_posts(offset, limit, since=None):
    """One page of the homepage: each author's latest published post, newest first.

    The shortcut gives each author's latest date; a correlated MAX(id) on the
    author index picks the post (ties in published_at go to the higher id); the
    page is then joined back to post and user for its few rows only.
    """
    latest = latest_per_author(since).alias('latest')
    tied = Post.alias('tied')
    newest_id = (tied
                 .select(fn.MAX(tied.id))
                 .where((tied.author == latest.c.author_id) &
                        (tied.status == PUBLISHED) &
                        (tied.published_at == latest.c.latest)))
    page = (latest
            .select_from(latest.c.latest, newest_id.alias('post_id'))
            .order_by(latest.c.latest.desc(), SQL('"post_id"').desc())
            .limit(limit)
            .offset(offset)
            .alias('page'))
    return (Post
            .select(Post.id, Post.title, Post.published_at,
                    fn.SUBSTR(Post.html, 1, EXCERPT_SOURCE_CHARS).alias('html_head'),
                    User.id, User.username, User.display_name)
            .join(page, on=(Post.id == page.c.post_id))
            .switch(Post)
            .join(User, on=(Post.author == User.id))
            .order_by(Post.published_at.desc(), Post.id.desc()))




def user_count():
    """All users: an upper bound on the number of homepage entries."""
    return User.select().count()


def _listed_name():
    # What a page calls a user (User.name), for sorting: display name or username.
    # Written exactly as the expression index user_listed_name (migration 0003), with
    # '' as a literal: SQLite only matches an index expression without parameters.
    return backend().nocase(fn.COALESCE(fn.NULLIF(User.display_name, SQL("''")),
                                        User.username))


def authors_page(offset, limit):
    """Users with at least one published post, by name (A-Z, case-insensitive).

    Walks the index user_listed_name in order, checking each user on the covering
    index post_author_id, and stops when the page is full.
    """
    published = (Post
                 .select(Post.id)
                 .where((Post.author == User.id) &
                        (Post.status == PUBLISHED)))
    return (User
            .select(User.id, User.username, User.display_name, User.bio)
            .where(fn.EXISTS(published))
            .order_by(_listed_name(), User.username)
            .limit(limit)
            .offset(offset))


def top_posts_per_author(author_ids, n=3):
    """The `n` latest published posts of each of `author_ids`: the window-function
    recipe (RANK() over each author's posts, newest first, in a subquery; the
    filter on it outside).

    The ranking reads only the covering index post_author_id (author_id, status,
    published_at, and the id); titles are joined back for the `n` winners only,
    so a prolific author costs an index range, not a table read per post.
    Rows: Post with id, title, published_at, author_id and `rnk`.
    """
    ranked = (Post
              .select(Post.id, Post.author,
                      fn.RANK().over(partition_by=[Post.author],
                                     order_by=[Post.published_at.desc(), Post.id.desc()])
                      .alias('rnk'))
              .where((Post.status == PUBLISHED) &
                     (Post.author.in_(list(author_ids))))
              .alias('ranked'))
    return (Post
            .select(Post.id, Post.title, Post.published_at, Post.author,
                    ranked.c.rnk.alias('rnk'))
            .join(ranked, on=(Post.id == ranked.c.id))
            .where(ranked.c.rnk <= n)
            .order_by(Post.author, ranked.c.rnk)
            .objects())


def published_counts(author_ids):
    """{author_id: number of published posts} for `author_ids`."""
    query = (Post
             .select(Post.author, fn.COUNT(Post.id).alias('n'))
             .where((Post.status == PUBLISHED) &
                    (Post.author.in_(list(author_ids))))
             .group_by(Post.author)
             .tuples())
    return dict(query)


def author_by_username(username):
    """The user called `username` (any state), or None."""
    return (User
            .select(User.id, User.username, User.display_name, User.bio, User.is_active)
            .where(User.username == username)
            .first())


def author_posts(author_id, offset, limit):
    """An author's published posts, newest first, with the start of their HTML."""
    return (Post
            .select(Post.id, Post.title, Post.published_at,
                    fn.SUBSTR(Post.html, 1, EXCERPT_SOURCE_CHARS).alias('html_head'))
            .where((Post.author == author_id) &
                   (Post.status == PUBLISHED))
            .order_by(Post.published_at.desc(), Post.id.desc())
            .limit(limit)
            .offset(offset))

# --- end of homepage and authors section ---


# --- Feeds, search, tags, sitemap, export (feeds.py, search.py, tags.py, ...) ---

def published_posts():
    """Published posts with their authors, newest first (ties: the later id)."""
    return (Post
            .select(Post, User)
            .join(User, on=(Post.author == User.id))
            .where(Post.status == PUBLISHED)
            .order_by(Post.published_at.desc(), Post.id.desc()))


def author_published_posts(author):
    """`author`'s published posts, newest first."""
    return published_posts().where(Post.author == author.id)


TAG_WALK_FACTOR = 10  # a walk step costs about a tenth of a tag-first lookup


def tag_published_posts(tag, limit, offset=0):
    """Up to `limit` published posts carrying `tag`, newest first, from `offset`.

    Two plans, chosen by the tag's size (both read indexes only until the final
    rows): a rare tag goes tag-first (its post_tag rows, each post looked up,
    sorted); a common one walks the newest published posts through the
    `post_published` index and probes `post_tag` for each, stopping as soon as the
    page is full. The walk costs about (offset + limit) * posts / tagged steps,
    the tag-first plan one (slower) lookup per tagged post.
    """
    tagged = PostTag.select().where(PostTag.tag == tag).count()
    newest = Post.select(fn.MAX(Post.id)).scalar() or 0
    if (offset + limit) * newest < TAG_WALK_FACTOR * tagged * tagged:
        ids = (Post
               .select(Post.id)
               .join(PostTag, JOIN.CROSS)  # keeps `post` the outer loop (SQLite)
               .where((PostTag.post == Post.id) & (PostTag.tag == tag) &
                      (Post.status == PUBLISHED)))
    else:
        ids = (PostTag
               .select(PostTag.post)
               .join(Post, on=(PostTag.post == Post.id))
               .where((PostTag.tag == tag) & (Post.status == PUBLISHED)))
    ids = (ids
           .order_by(Post.published_at.desc(), Post.id.desc())
           .limit(limit)
           .offset(offset))
    return published_posts().where(Post.id.in_(ids))


def tag_exists(tag):
    """True when at least one published post carries `tag` (drafts' tags stay private)."""
    return (PostTag
            .select(PostTag.post)
            .join(Post, on=(PostTag.post == Post.id))
            .where((PostTag.tag == tag) & (Post.status == PUBLISHED))
            .exists())


SEARCH_MARK_OPEN, SEARCH_MARK_CLOSE = '\ue000', '\ue001'  # private-use: never markup


def search_ranked(match, candidates):
    """(post id, score) of the best published matches of `match`, best first."""
    return backend().search_ranked(match, candidates)


def search_match_count(match):
    """How many posts (drafts included) match `match`."""
    return backend().search_match_count(match)


def search_results(match, ids, snippet_tokens=24):
    """The posts `ids` with their authors, a highlighted title (`title_marked`) and
    a body `snippet`, matches wrapped in the private-use markers above (the caller
    escapes the text, then turns the markers into <mark>)."""
    return backend().search_results(match, ids, (SEARCH_MARK_OPEN, SEARCH_MARK_CLOSE),
                                    snippet_tokens)


def sitemap_posts():
    """(id, updated_at) of published posts, oldest id first (stable chunks)."""
    return (Post
            .select(Post.id, Post.updated_at)
            .where(Post.status == PUBLISHED)
            .order_by(Post.id))


def sitemap_authors():
    """Usernames of authors with a published post, in order."""
    published = (Post
                 .select(Post.id)
                 .where((Post.author == User.id) & (Post.status == PUBLISHED)))
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
                 .where((tagged.tag == tags.c.tag) & (Post.status == PUBLISHED)))
    return (PostTag
            .select(tags.c.tag)
            .from_(tags)
            .where(fn.EXISTS(published))
            .order_by(tags.c.tag)
            .tuples())


def export_posts(author=None):
    """Posts (drafts too) for an export, by author then creation: all authors'
    when `author` is None."""
    query = (Post
             .select(Post, User)
             .join(User, on=(Post.author == User.id))
             .order_by(User.username, Post.created_at, Post.id))
    if author is not None:
        query = query.where(Post.author == author.id)
    return query

# --- end of readers' features section ---


# --- Admin and profiles (admin.py, settings.py) --------------------------------

def user_post_count(user_id):
    """A query counting every post of a user, drafts included (call .scalar())."""
    return (Post
            .select(fn.COUNT(Post.id))
            .where(Post.author == user_id))


def admin_user_list(name_filter=''):
    """Every user with `post_count`, by username; `name_filter` matches the
    username or display name anywhere, case-insensitively (LIKE wildcards in it
    are escaped by peewee's contains())."""
    # A correlated subquery, evaluated only for the rows on the page (ordered by
    # the username index), instead of grouping every post of every user.
    query = (User
             .select(User.id, User.username, User.display_name, User.is_admin,
                     User.is_active, User.created_at, User.last_login_at,
                     user_post_count(User.id).alias('post_count'))
             .order_by(User.username))
    if name_filter:
        query = query.where(User.username.contains(name_filter) |
                            User.display_name.contains(name_filter))
    return query


def other_active_admins(user_id):
    """A query for the active admins other than user `user_id` (call .count())."""
    return (User
            .select(User.id)
            .where(User.is_admin &
                   User.is_active &
                   (User.id != user_id)))


def email_taken(email, user_id):
    """A query for another user with `email`, compared case-insensitively."""
    return (User
            .select(User.id)
            .where((fn.LOWER(User.email) == email.lower()) &
                   (User.id != user_id)))


def audit_trail(user_id, limit=100):
    """The latest admin changes to user `user_id`, newest first, with their actor."""
    Actor = User.alias('actor')  # noqa: N806 - a model alias reads like a model
    return (AuditEntry
            .select(AuditEntry, Actor)
            .join(Actor, JOIN.LEFT_OUTER, on=(AuditEntry.actor == Actor.id))
            .where(AuditEntry.user == user_id)
            .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
            .limit(limit))

# --- end of admin section ---
