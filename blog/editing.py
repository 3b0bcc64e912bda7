"""Editing a post: who may, rendering the body, and the optimistic save that the
editor (blog.posts) and restoring a revision (blog.history) share.

An edit form carries the `version` it was loaded at. `save_post()` runs in one
write transaction: read the row as it is now, and if the submitted content equals
it, nothing is saved (UNCHANGED, even when the form was stale); otherwise
`save_optimistic()` issues `UPDATE ... WHERE id = ? AND version = ?`, and a row
count of 0 means someone saved first (CONFLICT: the 409 page shows both versions
and keeps everything the user typed). A successful save keeps the version it
replaced as a Revision in the same transaction, so no saved text is ever lost.
Markdown is rendered before the transaction starts, so the write lock is held only
for the few statements of the write.
"""

from bottle import HTTPError

from blog import sessions
from blog.conflicts import Field, render_conflict
from blog.db import write_transaction
from blog.markdown import RenderError, render_markdown_bounded
from blog.models import DRAFT, PUBLISHED
from blog.queries import posts as post_queries
from blog.responses import see_other
from blog.urls import url
from blog.versioning import (
    CONFLICT,
    MISSING,
    SAVED,
    UNCHANGED,
    ConflictDetectedException,
    SaveResult,
)

CONTENT = ('title', 'body', 'status', 'tags')

CONFLICT_FIELDS = (
    Field('title', 'Title'),
    Field('body', 'Body (Markdown)', 'textarea'),
    Field('status', 'Status', 'select', ((DRAFT, 'Draft'), (PUBLISHED, 'Published'))),
    Field('tags', 'Tags'),
)


def can_edit(user, post):
    """The post's author and admins may edit, delete and see the history."""
    return user is not None and (user.is_admin or user.id == post.author_id)


def check_editable(post):
    """`post` (None when missing) if the user may change it; else 404 or 403.

    A draft the user may not see is a 404, so its existence is not revealed.
    """
    if post is None:
        raise HTTPError(404, 'There is no post here.')
    if not can_edit(sessions.current_user(), post):
        if not post.is_published:
            raise HTTPError(404, 'There is no post here.')
        raise HTTPError(403, 'Only the author of this post or an admin can change it.')
    return post


def load_editable(post_id):
    """The post `post_id` with its author, for someone who may change it."""
    return check_editable(post_queries.post_with_author(int(post_id)))


def form_values(row):
    """A post (or a dict of its fields) as the form and the conflict page show it."""
    get = row.get if isinstance(row, dict) else lambda name: getattr(row, name)
    return {'title': get('title'), 'body': get('body'), 'status': get('status'),
            'tags': ', '.join(get('tags') or [])}


def render_body(body, errors, post=None):
    """The body as HTML (`post`'s stored HTML when the body is unchanged), or None
    with the reason in errors['body'] when it cannot be rendered (too slow: see
    blog.markdown). Runs outside any write lock."""
    if post is not None and body == post.body:
        return post.html
    try:
        return render_markdown_bounded(body)
    except RenderError as error:
        errors['body'] = str(error)
        return None


def save_post(post_id, version, values, user, html):
    """The optimistic save behind editing and restoring: a SaveResult.

    `values` holds title, body, status and tags, `html` the rendered body. The
    result's row is the post as saved (SAVED), as it is (UNCHANGED), or someone
    else's newer version (CONFLICT); MISSING when the post is gone.
    """
    with write_transaction():
        # Read under the write lock, so `current` is exactly the row a successful
        # UPDATE replaces; the UPDATE's row count still decides success.
        post = post_queries.post_row(post_id)
        if post is None:
            return SaveResult(MISSING)
        current = dict(post.saved_data)
        changes = {name: (current[name], values[name]) for name in CONTENT
                   if current[name] != values[name]}
        if not changes:
            return SaveResult(UNCHANGED, post)
        post.version = version
        for name in CONTENT:
            setattr(post, name, values[name])
        post.html = html
        post.updated_by = user.id
        try:
            post.save_optimistic()
        except ConflictDetectedException:
            return SaveResult(CONFLICT, post_queries.post_row(post_id))
        post_queries.add_revision(post_id, current)
    return SaveResult(SAVED, post, changes)


def conflict_page(post, mine, user):
    """The 409 page for a save that lost the race against `post` (the row now)."""
    saver = post_queries.user_by_id(post.updated_by_id)
    if saver is None:
        saved_by = 'Someone'
    elif saver.id == user.id:
        saved_by = 'You (in another tab or window)'
    else:
        saved_by = saver.name
    edit = url('post_edit', post_id=post.id)
    return render_conflict(
        heading=post.title, fields=CONFLICT_FIELDS, saved=form_values(post),
        mine=mine, saved_by=saved_by, saved_at=post.updated_at,
        version=post.version, action=edit,
        discard_url=url('post_edit', post_id=post.id, notice='discarded'),
        extra_actions=[(url('post_new', **{'as': 'draft'}), 'Save mine as a new draft')])


def finish_save(post_id, result, mine, user, notice='saved'):
    """Answer a save_post() result: 303 to the post, the 409 page, or 404."""
    if result.outcome == CONFLICT:
        return conflict_page(result.row, mine, user)
    if result.outcome == MISSING:
        raise HTTPError(404, 'This post was deleted.')
    see_other(url('post', post_id=post_id,
                  notice=notice if result.outcome == SAVED else 'unchanged'))
