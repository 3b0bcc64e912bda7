"""Queries for one post: reading it, its revisions, and the editor's writes.

A post in the trash is not found here: its page, editor and history answer 404
until it is restored (the trash's own queries are in `blog.queries.trash`).
"""

from peewee import JOIN

from blog.models import TRASHED, Post, PostForm, Revision, User
from blog.queries import Prepared, sample

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


def author_id_of(post_id):
    """The id of the post's author, or None when there is no such post."""
    row = _AUTHOR_ID_OF.first(post_id)
    return None if row is None else row[0]


_AUTHOR_ID_OF = Prepared(
    lambda post_id: (Post
                     .select(Post.author)
                     .where(Post.id == post_id)
                     .tuples()
                     .limit(1)),
    sample(int))


def add_revision(post_id, saved):
    """Keep `saved` (a post's row values, as loaded) as a Revision of the post."""
    return Revision.create(post=post_id, version=saved['version'], title=saved['title'],
                           body=saved['body'], tags=saved['tags'], status=saved['status'],
                           saved_by=saved['updated_by'], saved_at=saved['updated_at'])


def user_by_id(user_id):
    """The user `user_id`, or None (a deleted account)."""
    if user_id is None:
        return None
    return User.get_or_none(User.id == user_id)


def version_values(post_id, version):
    """Title, body, status and tags of version `version` of a post (the row itself
    when that is its version, else the revision that kept it), or None."""
    fields = ('title', 'body', 'status', 'tags')
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
