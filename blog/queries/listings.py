"""Queries for the homepage and the author pages.

"Latest" is the latest published_at, ties broken by the higher id.
"""

from peewee import SQL, Select, fn

from blog.db import backend
from blog.markdown import EXCERPT_SOURCE_CHARS
from blog.models import PUBLISHED, AuthorLatest, Post, User
from blog.queries import live


def window_start(newest, now):
    """published_at of the `newest`-th newest post live at `now`; None when there are
    fewer (then a window from it would be every published post)."""
    row = (Post
           .select(Post.published_at)
           .where(live(now))
           .order_by(Post.published_at.desc())
           .limit(1)
           .offset(newest - 1)
           .first())
    return None if row is None else row.published_at


def latest_per_author(now, since=None, authors=None):
    """Each author's latest published_at up to `now`: the GROUP BY/HAVING shortcut.

    Rows: author_id, latest. Without `since` SQLite walks the covering index
    post_author_id (author_id, status, published_at); with it, only published
    posts from `since` on, through the covering index post_published_author
    (published_at, author_id) from migration 0003. Every author with a post in
    that window gets their true latest date (it is in the window too). `authors`
    (a subquery of ids) limits it to those authors.
    """
    query = (Post
             .select(Post.author, fn.MAX(Post.published_at).alias('latest'))
             .where(live(now))
             .group_by(Post.author)
             .having(Post.published_at == fn.MAX(Post.published_at)))
    if authors is not None:
        query = query.where(Post.author.in_(authors))
    if since is not None:
        # Marked selective: the planner then range-scans the date index instead of
        # walking the whole author index (SQLite has no statistics to know better,
        # and would otherwise avoid the GROUP BY sort).
        query = query.where(backend().selective(Post.published_at >= since))
    return query


def _latest_posts(now, since=None, authors=None, first=None):
    # (latest, post_id) per author from the shortcut: a correlated MAX(id) on the
    # author index picks the post (ties in published_at go to the higher id).
    if first is None:
        latest = latest_per_author(now, since, authors).alias('latest')
        return latest.select_from(latest.c.latest, _newest_id(latest).alias('post_id'))
    # With `first` (the rows a page needs, from the newest), only authors at or
    # after the first-th newest date get that lookup: one seek of the author index
    # each, on pages nothing else reads lately, so looking up every author of a
    # window (2,000 posts: 1,800 seeks, 7.5 MB read with the OS page cache empty)
    # was most of a cold homepage. Ties at that date stay in.
    latest = latest_per_author(now, since, authors).cte('latest', materialized=True)
    # A bare Select names the CTE without a WITH of its own (select_from would
    # repeat the whole aggregate inside the subquery).
    newest = (Select([latest], [latest.c.latest])
              .order_by(latest.c.latest.desc())
              .limit(first)
              .alias('newest'))
    cut = (Post
           .select(fn.MIN(newest.c.latest))
           .from_(newest))
    return (latest
            .select_from(latest.c.latest, _newest_id(latest).alias('post_id'))
            .where(latest.c.latest >= cut))


def _newest_id(latest):
    # The author's post at their latest date, the higher id on a tie.
    tied = Post.alias('tied')
    return (tied
            .select(fn.MAX(tied.id))
            .where((tied.author == latest.c.author_id) &
                   (tied.status == PUBLISHED) &
                   (tied.published_at == latest.c.latest)))


def homepage_posts(offset, limit, now, since=None):
    """One page of the homepage at `now`, from the shortcut: each author's latest
    live post, newest first.

    The shortcut gives each author's latest date (over the window from `since`, or
    every post); the page is then joined back to post and user for its few rows only.
    """
    page = (_latest_posts(now, since, first=offset + limit)
            .order_by(SQL('"latest"').desc(), SQL('"post_id"').desc())
            .limit(limit)
            .offset(offset)
            .alias('page'))
    return _page_rows(page)


def ordered_homepage_posts(offset, limit, now):
    """The same page from the ordering the shortcut seeded (`AuthorLatest`): a walk
    of its index, for deep pages, where the shortcut would cover most posts.

    The ordering holds each author's latest published post, scheduled ones too (no
    write happens when one comes due). The few authors whose row is still ahead of
    `now` are answered by the shortcut over their own posts instead, merged in.
    """
    ahead = (AuthorLatest
             .select(AuthorLatest.author_id)
             .where(AuthorLatest.published_at > now))
    due = (AuthorLatest
           .select(AuthorLatest.published_at.alias('latest'), AuthorLatest.post_id)
           .where(AuthorLatest.published_at <= now))
    page = ((due + _latest_posts(now, authors=ahead))
            .order_by(SQL('"latest"').desc(), SQL('"post_id"').desc())
            .limit(limit)
            .offset(offset)
            .alias('page'))
    return _page_rows(page)


def _page_rows(page):
    # A page of (latest, post_id) joined back to its posts and their authors.
    return (Post
            .select(Post.id, Post.title, Post.slug, Post.published_at,
                    fn.SUBSTR(Post.html, 1, EXCERPT_SOURCE_CHARS).alias('html_head'),
                    User.id, User.username, User.display_name)
            .join(page, on=(Post.id == page.c.post_id))
            .switch(Post)
            .join(User, on=(Post.author == User.id))
            .order_by(Post.published_at.desc(), Post.id.desc()))


def users_upper_bound():
    """An upper bound on the number of homepage entries: the highest user id (ids are
    distinct positive integers, so never fewer than the users). One index seek,
    where counting walked every user (196 KiB read with the OS page cache empty)."""
    return (User
            .select(fn.MAX(User.id))
            .scalar()) or 0


def _listed_name():
    # What a page calls a user (User.name), for sorting: display name or username.
    # Written exactly as the expression index user_listed_name (migration 0003), with
    # '' as a literal: SQLite only matches an index expression without parameters.
    return backend().nocase(fn.COALESCE(fn.NULLIF(User.display_name, SQL("''")),
                                        User.username))


def authors_page(offset, limit):
    """Users with at least one live post, by name (A-Z, case-insensitive).

    Walks the index user_listed_name in order, checking each user on the covering
    index post_author_id, and stops when the page is full.
    """
    published = (Post
                 .select(Post.id)
                 .where((Post.author == User.id) &
                        live()))
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
              .where(live() &
                     (Post.author.in_(list(author_ids))))
              .alias('ranked'))
    return (Post
            .select(Post.id, Post.title, Post.slug, Post.published_at, Post.author,
                    ranked.c.rnk.alias('rnk'))
            .join(ranked, on=(Post.id == ranked.c.id))
            .where(ranked.c.rnk <= n)
            .order_by(Post.author, ranked.c.rnk)
            .objects())


def published_counts(author_ids):
    """{author_id: number of live posts} for `author_ids`."""
    query = (Post
             .select(Post.author, fn.COUNT(Post.id).alias('n'))
             .where(live() &
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
    """An author's live posts, newest first, with the start of their HTML."""
    return (Post
            .select(Post.id, Post.title, Post.slug, Post.published_at,
                    fn.SUBSTR(Post.html, 1, EXCERPT_SOURCE_CHARS).alias('html_head'))
            .where((Post.author == author_id) &
                   live())
            .order_by(Post.published_at.desc(), Post.id.desc())
            .limit(limit)
            .offset(offset))
