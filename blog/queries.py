"""Queries shared by the route modules, as parenthesised chains that return a query
for the caller to run (views paginate and render only).

Sections by concern; add to your section only.
"""

from peewee import JOIN, fn  # noqa: F401 - used by the sections below as they grow

from blog.models import PUBLISHED, AuditEntry, Post, PostSearch, PostTag, Revision, User  # noqa: F401

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


def tag_published_posts(tag):
    """Published posts carrying `tag` (exact, normalised), newest first."""
    return (published_posts()
            .join(PostTag, on=(PostTag.post == Post.id))
            .where(PostTag.tag == tag))


def tag_exists(tag):
    """True when at least one published post carries `tag` (drafts' tags stay private)."""
    return (PostTag
            .select(PostTag.post)
            .join(Post, on=(PostTag.post == Post.id))
            .where((PostTag.tag == tag) & (Post.status == PUBLISHED))
            .exists())


SEARCH_MARK_OPEN, SEARCH_MARK_CLOSE = '\ue000', '\ue001'  # private-use: never markup


def search_published(match, snippet_tokens=24):
    """Published posts matching the FTS5 expression `match`, best first (bm25).

    Each row has `title_marked` and `snippet` with the matches wrapped in the
    private-use markers above; the caller escapes the text, then turns the
    markers into <mark>. Titles weigh most, then tags, then the body.
    """
    table = PostSearch._meta.entity
    rank = PostSearch.bm25(10.0, 1.0, 4.0)
    return (PostSearch
            .select(Post.id, Post.title, Post.published_at, Post.tags,
                    User.username, User.display_name,
                    fn.highlight(table, 0, SEARCH_MARK_OPEN, SEARCH_MARK_CLOSE)
                    .alias('title_marked'),
                    fn.snippet(table, 1, SEARCH_MARK_OPEN, SEARCH_MARK_CLOSE, '…',
                               snippet_tokens).alias('snippet'))
            .join(Post, on=(Post.id == PostSearch.rowid))
            .join(User, on=(Post.author == User.id))
            .where(PostSearch.match(match) & (Post.status == PUBLISHED))
            .order_by(rank, Post.published_at.desc(), Post.id.desc()))


def sitemap_posts():
    """(id, updated_at) of published posts, oldest id first (stable chunks)."""
    return (Post
            .select(Post.id, Post.updated_at)
            .where(Post.status == PUBLISHED)
            .order_by(Post.id))


def sitemap_authors():
    """Authors with a published post: username and their latest post update."""
    return (User
            .select(User.username, fn.MAX(Post.updated_at).alias('lastmod'))
            .join(Post, on=(Post.author == User.id))
            .where(Post.status == PUBLISHED)
            .group_by(User.id)
            .order_by(User.username))


def sitemap_tags():
    """Tags on published posts, with their latest post update."""
    return (PostTag
            .select(PostTag.tag, fn.MAX(Post.updated_at).alias('lastmod'))
            .join(Post, on=(PostTag.post == Post.id))
            .where(Post.status == PUBLISHED)
            .group_by(PostTag.tag)
            .order_by(PostTag.tag))


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
