"""Queries for the trash: moving a post in and out, listing it, purging it.

A trashed post keeps its row with status TRASHED (migration 0007); the status it
had waits in `trashed_status`. The lists and the sweep read the partial indexes
post_trashed_author and post_trashed_at, which hold trashed posts only.
"""

from peewee import JOIN

from blog.models import TRASHED, Post, User


def trash(post_id, user_id, now):
    """Move a post that is not in the trash into it; returns the rows changed (0/1).

    Nothing else changes (version, times, text), so a restore puts it back as it was.
    """
    # SET reads the row as it was: trashed_status gets the status before this UPDATE.
    return (Post
            .update(trashed_status=Post.status, status=TRASHED, deleted_at=now,
                    deleted_by=user_id)
            .where((Post.id == post_id) &
                   (Post.status != TRASHED))
            .execute())


def untrash(post_id):
    """Bring a trashed post back with the status it had; returns the rows changed."""
    return (Post
            .update(status=Post.trashed_status, trashed_status=None, deleted_at=None,
                    deleted_by=None)
            .where((Post.id == post_id) &
                   (Post.status == TRASHED))
            .execute())


def purge(post_id):
    """Delete a trashed post for good; its revisions and tag rows go with it (ON
    DELETE CASCADE), the search index entry with the delete trigger."""
    return (Post
            .delete()
            .where((Post.id == post_id) &
                   (Post.status == TRASHED))
            .execute())


def trashed_post(post_id):
    """The trashed post `post_id` (id, author, title, slug, trash columns), or None."""
    return (Post
            .select(Post.id, Post.author, Post.title, Post.slug, Post.trashed_status,
                    Post.deleted_at, Post.deleted_by)
            .where((Post.id == post_id) &
                   (Post.status == TRASHED))
            .first())


def trashed_posts(author_id=None):
    """Trashed posts, newest deletion first (ties: the higher id), with their
    author and who deleted them; only `author_id`'s when given."""
    deleter = User.alias('deleter')
    query = (Post
             .select(Post.id, Post.title, Post.trashed_status, Post.published_at,
                     Post.deleted_at, Post.deleted_by, User.id, User.username, User.display_name,
                     deleter.id, deleter.username, deleter.display_name)
             .join(User, on=(Post.author == User.id))
             .switch(Post)
             .join(deleter, JOIN.LEFT_OUTER, on=(Post.deleted_by == deleter.id),
                   attr='deleter')
             .where(Post.status == TRASHED)
             .order_by(Post.deleted_at.desc(), Post.id.desc()))
    if author_id is not None:
        query = query.where(Post.author == author_id)
    return query


def expired(cutoff, limit):
    """Ids of up to `limit` posts trashed before `cutoff`, oldest first."""
    return (Post
            .select(Post.id)
            .where((Post.status == TRASHED) &
                   (Post.deleted_at < cutoff))
            .order_by(Post.deleted_at, Post.id)
            .limit(limit))


def purge_expired(cutoff, limit):
    """Delete for good up to `limit` posts trashed before `cutoff`; returns how
    many."""
    return (Post
            .delete()
            .where(Post.id.in_(expired(cutoff, limit)))
            .execute())
