"""Queries for one post: reading it, its revisions, and the editor's writes.

A post in the trash is not found here: its page, editor and history answer 404
until it is restored (the trash's own queries are in `blog.queries.trash`).
"""

from peewee import JOIN, fn

from blog.markdown import EXCERPT_SOURCE_CHARS
from blog.models import PENDING, PUBLISHED, TRASHED, Post, PostForm, Revision, User
from blog.queries import Prepared, live, sample, scheduled

_POST_WITH_AUTHOR = Prepared(
    lambda post_id: (Post
                     .select(Post, User)
                     .join(User, on=(Post.author == User.id))
                     .where((Post.id == post_id) &
                            (Post.status != TRASHED))
                     .limit(1)),
    sample(int))


def post_with_author(post_id):
    """The post `post_id` with its author joined (one query), or None (also when
    it is in the trash)."""
    return _POST_WITH_AUTHOR.first(post_id)


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


def post_row(post_id):
    """The post row alone (no author), or None (also when it is in the trash): what
    a save reads under its lock, so a post trashed meanwhile is never saved onto."""
    return (Post
            .select()
            .where((Post.id == post_id) &
                   (Post.status != TRASHED))
            .first())


def post_card(post_id):
    """(author id, slug, status, published_at) of the post, or None when there is no
    such post or it is in the trash: what its address needs, without its text."""
    return _POST_CARD.first(post_id)


def shows_external_images(post_id):
    """Whether the post's HTML has an image from another site (https:, or //host)."""
    return (Post
            .select()
            .where((Post.id == post_id) &
                   (Post.html.contains('<img src="http') |
                    Post.html.contains('<img src="//')))
            .exists())


def slug_of(post_id):
    """The post's slug, or None when there is no such post."""
    card = post_card(post_id)
    return None if card is None else card[1]


_POST_CARD = Prepared(
    lambda post_id: (Post
                     .select(Post.author, Post.slug, Post.status, Post.published_at)
                     .where((Post.id == post_id) &
                            (Post.status != TRASHED))
                     .tuples()
                     .limit(1)),
    sample(int))


def add_revision(post_id, saved):
    """Keep `saved` (a post's row values, as loaded) as a Revision of the post."""
    return Revision.create(post=post_id, version=saved['version'], title=saved['title'],
                           body=saved['body'], tags=saved['tags'], status=saved['status'],
                           publish_at=saved['publish_at'], saved_by=saved['updated_by'],
                           saved_at=saved['updated_at'])


def user_by_id(user_id):
    """The user `user_id`, or None (a deleted account)."""
    if user_id is None:
        return None
    return User.get_or_none(User.id == user_id)


def version_values(post_id, version):
    """Title, body, status, tags and publish_at of version `version` of a post (the
    row itself when that is its version, else the revision that kept it), or None."""
    fields = ('title', 'body', 'status', 'tags', 'publish_at')
    post = Post.get_or_none(Post.id == post_id)
    if post is not None and post.version == version:
        return {name: getattr(post, name) for name in fields}
    revision = (Revision
                .select()
                .where((Revision.post == post_id) &
                       (Revision.version == version))
                .first())
    if revision is None:
        return None
    return {name: getattr(revision, name) for name in fields}


def post_made_by_form(author_id, form_id):
    """The id of the post that `author_id`'s new-post form `form_id` made, or None
    (also when that post is in the trash: the form then makes a new one)."""
    return (PostForm
            .select(PostForm.post)
            .join(Post, on=(PostForm.post == Post.id))
            .where((PostForm.author == author_id) &
                   (PostForm.form_id == form_id) &
                   (Post.status != TRASHED))
            .scalar())


def remember_form(author_id, form_id, post_id):
    """Note that the new-post form `form_id` made post `post_id` (in place of a
    trashed post it made before)."""
    (PostForm
     .delete()
     .where((PostForm.author == author_id) &
            (PostForm.form_id == form_id))
     .execute())
    return PostForm.create(author=author_id, form_id=form_id, post=post_id)


# Review -----------------------------------------------------------------------

def pending_posts(limit, offset):
    """Posts submitted for review with their authors, oldest submission first (the
    partial index post_pending)."""
    return (Post
            .select(Post.id, Post.title, Post.slug, Post.submitted_at, Post.updated_at,
                    Post.version,
                    fn.SUBSTR(Post.html, 1, EXCERPT_SOURCE_CHARS).alias('html_head'),
                    User.id, User.username, User.display_name)
            .join(User, on=(Post.author == User.id))
            .where(Post.status == PENDING)
            .order_by(Post.submitted_at, Post.id)
            .limit(limit)
            .offset(offset))


def pending_count():
    """How many posts wait for review."""
    return Post.select().where(Post.status == PENDING).count()


def review(post_id, version, editor_id, now, status, published_at, note=''):
    """An editor's decision on a pending post still at `version`: publish it
    (status PUBLISHED, out at `published_at`) or send it back (DRAFT, with `note`
    for its author). Returns the rows changed (0: it moved on)."""
    values = {'status': status, 'review_note': note, 'reviewed_by': editor_id,
              'updated_at': now, 'updated_by': editor_id, 'version': Post.version + 1,
              'published_at': published_at}
    return (Post
            .update(values)
            .where((Post.id == post_id) &
                   (Post.version == version) &
                   (Post.status == PENDING))
            .execute())


# One's own posts (/me/posts) ---------------------------------------------------

SCHEDULED = 'scheduled'  # not a status: published, for a moment still ahead


def own_posts(author_id, state, limit, offset, now):
    """`author_id`'s posts in `state` (a status, or SCHEDULED), no bodies: the latest
    change first; scheduled ones by their time, the soonest first; published ones
    (live at `now`) the newest first."""
    query = (Post
             .select(Post.id, Post.title, Post.slug, Post.status, Post.updated_at,
                     Post.published_at, Post.submitted_at, Post.review_note)
             .where(Post.author == author_id)
             .limit(limit)
             .offset(offset))
    if state == SCHEDULED:
        return (query
                .where(scheduled(now))
                .order_by(Post.published_at, Post.id))
    if state == PUBLISHED:
        return (query
                .where(live(now))
                .order_by(Post.published_at.desc(), Post.id.desc()))
    return (query
            .where(Post.status == state)
            .order_by(Post.updated_at.desc(), Post.id.desc()))


def own_counts(author_id, now):
    """{state: how many of `author_id`'s posts are in it} (statuses and SCHEDULED),
    from the author index."""
    counts = dict(Post
                  .select(Post.status, fn.COUNT(Post.id))
                  .where(Post.author == author_id)
                  .group_by(Post.status)
                  .tuples())
    ahead = (Post
             .select()
             .where((Post.author == author_id) &
                    scheduled(now))
             .count())
    if ahead:
        counts[SCHEDULED] = ahead
        counts[PUBLISHED] -= ahead
    return counts
