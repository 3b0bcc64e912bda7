"""Posts: write, read, edit and delete, with optimistic locking on every edit.

An edit form carries the `version` it was loaded at. Saving runs in one
`BEGIN IMMEDIATE` transaction: read the row as it is now, and if the submitted
content equals it, nothing is saved (303 with a notice, even when the form was
stale); otherwise `save_optimistic()` issues `UPDATE ... WHERE id = ? AND
version = ?`, and a row count of 0 means someone saved first: the 409 conflict
page shows both versions and keeps everything the user typed. A successful save
stores the version it replaced as a Revision in the same transaction, so no
saved text is ever lost. Markdown is rendered before the transaction starts, so
the write lock is held only for the few statements of the write.
"""

import unicodedata

from bottle import HTTPError, request

from blog import forms, queries, sessions
from blog.cache import cached_page
from blog.conflicts import Field, render_conflict
from blog.db import write_transaction
from blog.markdown import RenderError, plain_excerpt, render_markdown_bounded
from blog.models import DRAFT, PUBLISHED, STATUSES, Post, Revision, User, utcnow
from blog.render import render
from blog.responses import see_other
from blog.site import current_site
from blog.versioning import ConflictDetectedException

TITLE_MAX = 200
# Characters. The editor posts multipart/form-data, so text goes as UTF-8 unescaped and
# 600,000 characters of ASCII fit the 1 MiB request limit (about 350,000 of CJK).
BODY_MAX = 600_000
TAG_MAX = 40
TAGS_MAX = 10
CONTENT = ('title', 'body', 'status', 'tags')
# Ids are at most 18 digits, so they always fit SQLite's 64-bit integers; longer
# ones do not match the route and get a 404.
ID = '<post_id:re:[0-9]{1,18}>'

CONFLICT_FIELDS = (
    Field('title', 'Title'),
    Field('body', 'Body (Markdown)', 'textarea'),
    Field('status', 'Status', 'select', ((DRAFT, 'Draft'), (PUBLISHED, 'Published'))),
    Field('tags', 'Tags'),
)

# What save_post() reports.
SAVED, UNCHANGED, CONFLICT, MISSING = 'saved', 'unchanged', 'conflict', 'missing'


def normalize_tags(text):
    """Comma-separated tags to a list: (tags, error message or None).

    Each tag is lower-cased and trimmed, inner spaces become '-', and it may
    hold only letters, digits and '-', at most 40 characters; at most 10 tags,
    duplicates dropped, order kept.
    """
    tags = []
    for raw in (text or '').split(','):
        tag = '-'.join(unicodedata.normalize('NFC', raw).lower().split())
        if not tag:
            continue
        if not all(ch == '-' or ch.isalnum() for ch in tag):
            return tags, ('Tags can hold only letters, digits and "-" ("%s" has other characters).'
                          % tag[:TAG_MAX])
        if len(tag) > TAG_MAX:
            return tags, 'Each tag can be at most %d characters ("%s…" is longer).' % (
                TAG_MAX, tag[:20])
        if tag not in tags:
            tags.append(tag)
    if len(tags) > TAGS_MAX:
        return tags, 'Use at most %d tags (there are %d).' % (TAGS_MAX, len(tags))
    return tags, None


def normalize_body(text):
    """Line endings as \\n; leading blank lines dropped (a <textarea> eats the first)."""
    return text.replace('\r\n', '\n').replace('\r', '\n').lstrip('\n')


def read_form():
    """The submitted post fields: (values, what the form shows, errors by field)."""
    title = ' '.join(forms.field('title').split())
    body = normalize_body(forms.field('body'))
    status = forms.field('status')
    tags_text = forms.field('tags')
    tags, tag_error = normalize_tags(tags_text)
    errors = {}
    if not title:
        errors['title'] = 'Give the post a title.'
    elif any(unicodedata.category(ch) == 'Cc' for ch in title):
        errors['title'] = 'The title contains control characters; please retype it.'
    else:
        error = forms.length_error(title, TITLE_MAX, 'The title')
        if error:
            errors['title'] = error
    if not body.strip():
        errors['body'] = 'Write something in the body.'
    else:
        error = forms.length_error(body, BODY_MAX, 'The body')
        if error:
            errors['body'] = error
    if status not in STATUSES:
        errors['status'] = 'Choose "Draft" or "Published".'
    if tag_error:
        errors['tags'] = tag_error
    values = {'title': title, 'body': body, 'status': status, 'tags': tags}
    shown = dict(values, tags=tags_text if tag_error else ', '.join(tags))
    return values, shown, errors


def form_values(row):
    """A post (or a dict of its fields) as the form and the conflict page show it."""
    get = row.get if isinstance(row, dict) else lambda name: getattr(row, name)
    return {'title': get('title'), 'body': get('body'), 'status': get('status'),
            'tags': ', '.join(get('tags') or [])}


def submitted_version():
    """The hidden `version` field as an int; a missing or garbled one is a 400."""
    raw = forms.field('version').strip()
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 18:
        raise HTTPError(400, 'The form did not say which version of the post it edits. '
                             'Go back, reload the page and try again.')
    return int(raw)


def can_edit(user, post):
    """The post's author and admins may edit, delete and see the history."""
    return user is not None and (user.is_admin or user.id == post.author_id)


def load_editable(post_id):
    """The post, for its author or an admin.

    404 when it does not exist, or is a draft the user may not see (its existence
    is not revealed); 403 for someone else's published post.
    """
    return check_editable(queries.post_with_author(int(post_id)))


def check_editable(post):
    """`post` (None when missing) if the user may change it; else 404 or 403."""
    if post is None:
        raise HTTPError(404, 'There is no post here.')
    if not can_edit(sessions.current_user(), post):
        if not post.is_published:
            raise HTTPError(404, 'There is no post here.')
        raise HTTPError(403, 'Only the author of this post or an admin can change it.')
    return post


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
    """The optimistic save behind editing and restoring: (outcome, row).

    `values` holds title, body, status and tags, `html` the rendered body.
    Outcomes: SAVED with the post; UNCHANGED with the post; CONFLICT with the
    current row's values (a dict, version included); MISSING with None.
    """
    with write_transaction():
        # Read under the write lock, so `current` is exactly the row a successful
        # UPDATE replaces; the UPDATE's row count still decides success.
        post = Post.get_or_none(Post.id == post_id)
        if post is None:
            return MISSING, None
        current = dict(post.saved_data)
        if all(current[name] == values[name] for name in CONTENT):
            return UNCHANGED, post
        post.version = version
        for name in CONTENT:
            setattr(post, name, values[name])
        post.html = html
        post.updated_by = user.id
        try:
            post.save_optimistic()
        except ConflictDetectedException:
            return CONFLICT, current
        Revision.create(post=post_id, version=current['version'], title=current['title'],
                        body=current['body'], tags=current['tags'], status=current['status'],
                        saved_by=current['updated_by'], saved_at=current['updated_at'])
    return SAVED, post


def conflict_page(post_id, current, mine, user):
    """The 409 page for a save that lost the race against `current` (a row dict)."""
    saver = User.get_or_none(User.id == current['updated_by'])
    if saver is None:
        saved_by = 'Someone'
    elif saver.id == user.id:
        saved_by = 'You (in another tab or window)'
    else:
        saved_by = saver.name
    return render_conflict(
        heading=current['title'], fields=CONFLICT_FIELDS, saved=form_values(current),
        mine=mine, saved_by=saved_by, saved_at=current['updated_at'],
        version=current['version'], action='/posts/%d/edit' % post_id,
        discard_url='/posts/%d/edit?notice=discarded' % post_id,
        extra_actions=[('/posts/new?as=draft', 'Save mine as a new draft')])


def finish_save(post_id, outcome, row, mine, user, notice='saved'):
    """Answer a save_post() outcome: 303 to the post, the 409 page, or 404."""
    if outcome == CONFLICT:
        return conflict_page(post_id, row, mine, user)
    if outcome == MISSING:
        raise HTTPError(404, 'This post was deleted.')
    see_other('/posts/%d?notice=%s' % (post_id, notice if outcome == SAVED else 'unchanged'))


def _form(status=200, **context):
    context.setdefault('post', None)
    context.setdefault('version', None)
    context.setdefault('as_draft', False)
    return render('posts/form.html', status=status, **context)


@sessions.login_required
def new():
    """GET: an empty post form. POST: create the post (303 to it).

    `?as=draft` forces a draft: the conflict page's "save mine as a new draft".
    """
    as_draft = forms.query('as') == 'draft'
    action = '/posts/new?as=draft' if as_draft else '/posts/new'
    heading = 'Save your version as a new draft' if as_draft else 'New post'
    if request.method == 'GET':
        shown = {'title': '', 'body': '', 'status': DRAFT, 'tags': ''}
        return _form(heading=heading, action=action, values=shown, errors={},
                     as_draft=as_draft)
    values, shown, errors = read_form()
    if as_draft:
        values['status'] = shown['status'] = DRAFT
        errors.pop('status', None)
    html = None if errors else render_body(values['body'], errors)
    if errors:
        return _form(422, heading=heading, action=action, values=shown, errors=errors,
                     as_draft=as_draft)
    user = sessions.current_user()
    now = utcnow()
    with write_transaction():
        post = Post(author=user.id, html=html, created_at=now, updated_at=now,
                    updated_by=user.id,
                    published_at=now if values['status'] == PUBLISHED else None, **values)
        post.save_optimistic()
    see_other('/posts/%d?notice=%s' % (post.id, 'saved-as-draft' if as_draft else 'created'))


def _post_page(post_id, user):
    post = queries.post_with_author(post_id)
    if post is None or not (post.is_published or can_edit(user, post)):
        raise HTTPError(404, 'There is no post here.')
    url = current_site().config.site_url + '/posts/%d' % post.id
    return render('posts/show.html', post=post, can_edit=can_edit(user, post), url=url,
                  description=plain_excerpt(post.html, 160) or post.title)


def show(post_id):
    """GET: one post. Drafts only for their author and admins (404 for others).

    Anonymous readers get a cached copy (with ETag/304) until the next write to
    any post or user.
    """
    post_id = int(post_id)
    return cached_page(('post', post_id),
                       lambda: _post_page(post_id, sessions.current_user()))


@sessions.login_required
def edit(post_id):
    """GET: the edit form with the hidden `version`. POST: the optimistic save."""
    user = sessions.current_user()
    post = queries.post_with_author(int(post_id))
    if post is None and request.method == 'POST':
        return _rescue()
    check_editable(post)
    context = {'heading': 'Edit post', 'action': '/posts/%d/edit' % post.id, 'post': post}
    if request.method == 'GET':
        return _form(values=form_values(post), errors={}, version=post.version, **context)
    values, shown, errors = read_form()
    version = submitted_version()
    html = None if errors else render_body(values['body'], errors, post)
    if errors:
        return _form(422, values=shown, errors=errors, version=version, **context)
    outcome, row = save_post(post.id, version, values, user, html)
    if outcome == MISSING:
        return _rescue()
    return finish_save(post.id, outcome, row, shown, user)


def _rescue():
    """A post deleted while someone edited it: offer their text as a new draft (404)."""
    _values, shown, _errors = read_form()
    return _form(404, heading='This post was deleted', action='/posts/new?as=draft',
                 values=shown, as_draft=True, errors={
                     'form': 'The post you were editing was deleted in the meantime. '
                             'Your text is below: save it as a new draft to keep it.'})


@sessions.login_required
def delete(post_id):
    """POST: delete the post (its revisions go with it); 303 to the homepage."""
    post = load_editable(post_id)
    with write_transaction():
        Post.delete().where(Post.id == post.id).execute()
    see_other('/?notice=deleted')


def install(app):
    """Add this module's routes to `app`."""
    app.route('/posts/new', ['GET', 'POST'], new)
    app.route('/posts/' + ID, 'GET', show)
    app.route('/posts/%s/edit' % ID, ['GET', 'POST'], edit)
    app.route('/posts/%s/delete' % ID, 'POST', delete)
