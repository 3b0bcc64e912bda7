"""Posts: the editor (new, edit), a post's page, and delete.

The optimistic save every edit goes through, and who may edit, live in
blog.editing (restoring a revision uses them too).
"""

import unicodedata

from bottle import HTTPError, request

from blog import forms, sessions, trashing
from blog.cache import cached_page
from blog.db import write_transaction
from blog.editing import (
    can_edit,
    check_editable,
    finish_save,
    form_values,
    load_editable,
    render_body,
    save_post,
)
from blog.markdown import plain_excerpt
from blog.models import DRAFT, PUBLISHED, STATUSES, Post, utcnow
from blog.queries import posts as post_queries
from blog.render import render
from blog.responses import see_other
from blog.tagging import normalize_tags
from blog.urls import POST_ID, absolute_url, url
from blog.versioning import MISSING

TITLE_MAX = 200
# Characters. The editor posts multipart/form-data, so text goes as UTF-8 unescaped and
# 600,000 characters of ASCII fit the 1 MiB request limit (about 350,000 of CJK).
BODY_MAX = 600_000


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
    action = url('post_new', **{'as': 'draft' if as_draft else None})
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
    see_other(url('post', post_id=post.id,
                  notice='saved-as-draft' if as_draft else 'created'))


def _post_page(post_id, user):
    post = post_queries.post_with_author(post_id)
    if post is None or not (post.is_published or can_edit(user, post)):
        raise HTTPError(404, 'There is no post here.')
    return render('posts/show.html', post=post, can_edit=can_edit(user, post),
                  post_url=absolute_url('post', post_id=post.id),
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
    post = post_queries.post_with_author(int(post_id))
    if post is None and request.method == 'POST':
        return _rescue()
    check_editable(post)
    context = {'heading': 'Edit post', 'action': url('post_edit', post_id=post.id),
               'post': post}
    if request.method == 'GET':
        return _form(values=form_values(post), errors={}, version=post.version, **context)
    values, shown, errors = read_form()
    version = forms.read_version()
    html = None if errors else render_body(values['body'], errors, post)
    if errors:
        return _form(422, values=shown, errors=errors, version=version, **context)
    result = save_post(post.id, version, values, user, html)
    if result.outcome == MISSING:
        return _rescue()
    return finish_save(post.id, result, shown, user)


def _rescue():
    """A post deleted while someone edited it: offer their text as a new draft (404)."""
    _values, shown, _errors = read_form()
    return _form(404, heading='This post was deleted', action=url('post_new', **{'as': 'draft'}),
                 values=shown, as_draft=True, errors={
                     'form': 'The post you were editing was deleted in the meantime. '
                             'Your text is below: save it as a new draft to keep it.'})


@sessions.login_required
def delete(post_id):
    """POST: move the post to the trash; 303 to the trash, whose notice offers undo."""
    post = load_editable(post_id)
    trashing.trash_post(post.id, sessions.current_user())
    see_other(url('trash', notice='trashed', undo=post.id))


def install(app):
    """Add this module's routes to `app`."""
    app.route('/posts/new', ['GET', 'POST'], new, name='post_new')
    app.route('/posts/' + POST_ID, 'GET', show, name='post')
    app.route('/posts/%s/edit' % POST_ID, ['GET', 'POST'], edit, name='post_edit')
    app.route('/posts/%s/delete' % POST_ID, 'POST', delete, name='post_delete')
