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

from blog import merging, roles, scheduling, sessions, site_settings, uploads
from blog.conflicts import Field, render_conflict
from blog.db import write_transaction
from blog.markdown import RenderError, render_markdown_bounded
from blog.models import DRAFT, PENDING, PUBLISHED, Post, utcnow
from blog.queries import posts as post_queries
from blog.responses import see_other
from blog.slugs import slug_for
from blog.urls import url
from blog.versioning import (
    CONFLICT,
    INVALID,
    MISSING,
    SAVED,
    UNCHANGED,
    ConflictDetectedException,
    SaveResult,
)

CONTENT = ('title', 'body', 'status', 'tags', 'publish_at')
STORED = CONTENT + ('slug',)  # what a save writes (the slug from blog.slugs.slug_for)
NOT_PUBLISHER = ('Contributors cannot publish. Choose "Submit for review": an editor '
                 'will read it and publish it.')
NOT_UNPUBLISHER = 'Only authors and editors can take a post back from the public.'
PUBLISHED_TEXT = ('What readers see of a published post can only be changed by an author '
                  'or an editor; ask one, or keep your version as a new draft.')


def publish_errors(user, author_id, before, after):
    """Errors when `user` may not make this change to what the public sees: publish,
    unpublish, or change the text of a published post (`before`/`after`: the
    post's content fields). Every save goes through here, merges and restores too."""
    if roles.can(user, 'publish', author_id):
        return {}
    was, will = before['status'] == PUBLISHED, after['status'] == PUBLISHED
    if will and not was:
        return {'status': NOT_PUBLISHER}
    if was and not will:
        return {'status': NOT_UNPUBLISHER}
    if was and any(before.get(name) != after.get(name) for name in STORED):
        return {'form': PUBLISHED_TEXT}
    return {}

CONFLICT_FIELDS = (
    Field('title', 'Title'),
    Field('body', 'Body (Markdown)', 'textarea'),
    Field('status', 'Status', 'select', ((DRAFT, 'Draft'), (PENDING, 'Submit for review'),
                                         (PUBLISHED, 'Published'))),
    Field('tags', 'Tags'),
    Field('publish_at', 'Publish at (YYYY-MM-DDTHH:MM, the site\'s time zone)'),
    Field('slug', 'URL (the words after the post\'s number in its address)'),
)


def editor_actions(post, can_publish, as_draft=False):
    """The editor's save buttons, the default (what Enter does) first: a list of
    (label, status, kind) where kind is '' for the main action and 'secondary'.

    Saving never changes a post's state unless its button says so: a published post
    is updated, or unpublished by its own button; a draft is saved, or published
    (submitted for review by a contributor), by its own button.
    """
    state = post.status if post is not None else DRAFT
    if as_draft:
        return [('Save draft', DRAFT, '')]
    if state == PUBLISHED and not can_publish:
        return []  # the page says why: only authors and editors change what readers see
    if state == PUBLISHED:
        update = 'Update schedule' if post.is_scheduled else 'Update'
        return [(update, PUBLISHED, ''), ('Unpublish (back to draft)', DRAFT, 'secondary')]
    if state == PENDING:
        actions = [('Save (stays in review)', PENDING, 'secondary')]
        if can_publish:
            actions.append(('Publish', PUBLISHED, ''))
        return actions + [('Back to draft', DRAFT, 'secondary')]
    if can_publish:
        return [('Save draft', DRAFT, 'secondary'), ('Publish', PUBLISHED, '')]
    return [('Save draft', DRAFT, 'secondary'), ('Submit for review', PENDING, '')]


def can_edit(user, post):
    """Its author and editors may edit a post, delete it and see its history."""
    return may_edit_author(user, post.author_id)


def may_edit_author(user, author_id):
    """`can_edit` for a post known only by its author's id."""
    return roles.can(user, 'edit', author_id)


def check_editable(post):
    """`post` (None when missing) if the user may change it; else 404 or 403.

    A draft the user may not see is a 404, so its existence is not revealed.
    """
    if post is None:
        raise HTTPError(404, 'There is no post here.')
    if not can_edit(sessions.current_user(), post):
        if not post.is_live:
            raise HTTPError(404, 'There is no post here.')
        raise HTTPError(403, 'Only the author of this post or an editor can change it.')
    return post


def load_editable(post_id):
    """The post `post_id` with its author, for someone who may change it."""
    return check_editable(post_queries.post_with_author(int(post_id)))


def form_values(row):
    """A post (or a dict of its fields) as the form and the conflict page show it."""
    get = row.get if isinstance(row, dict) else lambda name: getattr(row, name)
    zone_name = site_settings.current().timezone
    moment = row.publish_time if isinstance(row, Post) else get('publish_at')
    return {'title': get('title'), 'body': get('body'), 'status': get('status'),
            'tags': ', '.join(get('tags') or []),
            'publish_at': scheduling.format_local(moment, zone_name),
            'slug': get('slug') or ''}


def render_body(body, errors, post=None):
    """The body as HTML (`post`'s stored HTML when the body is unchanged), or None
    with the reason in errors['body'] when it cannot be rendered (too slow, too much
    memory, a table too wide or too big, HTML too long: see blog.markdown). Runs
    outside any write lock."""
    if post is not None and body == post.body:
        return post.html
    try:
        return uploads.with_images(render_markdown_bounded(body))
    except RenderError as error:
        errors['body'] = str(error)
        return None


def create_post(user, values, html, form_id=None):
    """A new post of `user` at version 1: (post id, True); or, when the new-post
    form `form_id` made one already, (that post's id, False) and nothing new."""
    now = utcnow()
    with write_transaction():
        if form_id:
            made = post_queries.post_made_by_form(user.id, form_id)
            if made is not None:
                return made, False
        published_at = scheduling.publication_time(values['status'], None,
                                                   values.get('publish_at'), now)
        values = dict(values, slug=slug_for(values))
        post = Post(author=user.id, html=html, created_at=now, updated_at=now,
                    updated_by=user.id, published_at=published_at, **values)
        post.save_optimistic()
        uploads.record_post_images(post.id, html)
        if form_id:
            post_queries.remember_form(user.id, form_id, post.id)
    return post.id, True


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
        values = dict(values, slug=slug_for(values, current))
        changes = {name: (current[name], values[name]) for name in STORED
                   if current[name] != values[name]}
        if not changes:
            return SaveResult(UNCHANGED, post)
        errors = publish_errors(user, post.author_id, current, values)
        if errors:
            return SaveResult(INVALID, post, errors=errors)
        post.version = version
        for name in STORED:
            setattr(post, name, values[name])
        post.published_at = scheduling.publication_time(
            post.status, post.published_at, post.publish_at, utcnow())
        html_changed = post.html != html
        post.html = html
        post.updated_by = user.id
        try:
            post.save_optimistic()
        except ConflictDetectedException:
            return SaveResult(CONFLICT, post_queries.post_row(post_id))
        post_queries.add_revision(post_id, current)
        if html_changed:
            uploads.record_post_images(post_id, html)
    return SaveResult(SAVED, post, changes)


MERGE_TRIES = 3  # merges in a row before a save that keeps losing races gets the 409
MERGED_FIELDS = ('title', 'status', 'tags', 'publish_at')


class Merge:
    """What a three-way merge of a stale edit found: the version it started from
    (`base`), the newer version it met (`theirs_version`), the fields changed on
    both sides (`clashing`) and the body's parts (None when the body merged)."""

    def __init__(self, base_version, theirs_version, base, clashing=(), parts=None,
                 saver=None):
        self.base_version = base_version
        self.theirs_version = theirs_version
        self.base = base
        self.clashing = list(clashing)
        self.parts = parts
        self.saver = saver

    @property
    def conflicts(self):
        """The body's conflict parts, numbered as the conflict form's choices are."""
        return merging.conflicts(self.parts or [])


def merge_values(base, theirs, mine, field_choices=None, part_choices=None):
    """Merge `mine` with `theirs` from `base` (dicts of CONTENT): (values, clashing
    field names, body parts or None). With choices (from the conflict form) the
    clashing fields and body parts are resolved by them, and nothing clashes."""
    values, clashing = merging.merge_fields(base, theirs, mine, MERGED_FIELDS)
    if field_choices is not None:
        for name in clashing:
            if field_choices.get(name) == merging.THEIRS:
                values[name] = theirs[name]
        clashing = []
    body, parts = merging.merge_text(base['body'], theirs['body'], mine['body'])
    if parts is not None and part_choices is not None:
        body, parts = merging.resolve(parts, part_choices), None
    values['body'] = body
    return values, clashing, parts


def save_or_merge(post_id, version, values, user, html, choices=None):
    """save_post(), and a stale version merged instead of refused: the changes
    saved since `version` and the user's are combined where they do not overlap
    and saved (SAVED, with `merge`), else CONFLICT with `merge` holding the
    overlapping parts. `choices` = (field choices, part choices) from the conflict
    form (with the version they were made against) resolves the overlaps, when the
    version met is still that one. Rendering happens outside the write lock."""
    result = save_post(post_id, version, values, user, html)
    base_version, tries = version, 0
    # The conflict page shows both slugs and sends the one its form holds: that one is
    # meant. (A plain merge has no base to merge a slug from: revisions keep none.)
    resolving_slug = values.get('slug') if choices else None
    while result.outcome == CONFLICT and tries < MERGE_TRIES:
        tries += 1
        theirs_row = result.row
        base = post_queries.version_values(post_id, base_version)
        if base is None:  # the version the editor started from is gone: no merge
            return result
        theirs = {name: getattr(theirs_row, name) for name in CONTENT}
        fields, parts = None, None
        if choices and choices[2] == theirs_row.version:
            fields, parts = choices[0], choices[1]
        merged, clashing, body_parts = merge_values(base, theirs, values, fields, parts)
        if resolving_slug is not None:
            merged['slug'] = resolving_slug
        saver = post_queries.user_by_id(theirs_row.updated_by_id)
        merge = Merge(base_version, theirs_row.version, base, clashing, body_parts, saver)
        if clashing or body_parts is not None:
            result.merge = merge
            return result
        errors = {}
        merged_html = render_body(merged['body'], errors, theirs_row)
        if merged_html is None:
            result.merge = merge
            return result
        result = save_post(post_id, theirs_row.version, merged, user, merged_html)
        result.merge = merge
        # Another save may have landed meanwhile: merge again, from what we met.
        base_version, values, choices = theirs_row.version, merged, None
    return result


def conflict_page(post, mine, user, merge=None):
    """The 409 page for a save that lost the race against `post` (the row now);
    with `merge`, the overlapping parts to choose from."""
    saver = post_queries.user_by_id(post.updated_by_id)
    if saver is None:
        saved_by = 'Someone'
    elif saver.id == user.id:
        saved_by = 'You (in another tab or window)'
    else:
        saved_by = saver.name
    # A form that sent no slug (a restore, another tool) offers the saved one: sending
    # the page on must not read as clearing it.
    mine = dict(mine, slug=mine.get('slug') or post.slug)
    return render_conflict(
        heading=post.title, fields=CONFLICT_FIELDS, saved=form_values(post),
        mine=mine, saved_by=saved_by, saved_at=post.updated_at,
        version=post.version, action=url('post_edit', post_id=post.id),
        discard_url=url('post_edit', post_id=post.id, notice='discarded'),
        extra_actions=[(url('post_new', **{'as': 'draft'}), 'Save mine as a new draft')],
        merge=merge)


def finish_save(post_id, result, mine, user, notice='saved'):
    """Answer a save result: 303 to the post (noting a merge), the 409 page, or 404."""
    if result.outcome == CONFLICT:
        return conflict_page(result.row, mine, user, result.merge)
    if result.outcome == MISSING:
        raise HTTPError(404, 'This post was deleted.')
    if result.outcome == INVALID:  # the editor shows these beside its fields first
        raise HTTPError(403, ' '.join(result.errors.values()))
    if result.outcome == SAVED and result.merge is not None:
        notice = 'merged'
    see_other(url('post', post_id=post_id, slug=result.row.slug,
                  notice=notice if result.outcome == SAVED else 'unchanged'))
