"""Posts: the editor (new, edit), a post's page, and delete.

The optimistic save every edit goes through, and who may edit, live in
blog.editing (restoring a revision uses them too).

A post's page is at /posts/<id>-<slug> (blog.slugs). The id finds the post; the
bare id and any other slug answer 301 to that address, query string kept, but
only to a reader who may see the post: for everyone else a hidden post is a 404
first, so no redirect ever tells its slug. The check reads the slug from the
cache (one per post and generation), and the page itself is rendered only for the
slug it has (and kept under it), so a stale address is never answered, nor kept, as
the page.
"""

import re
import secrets

from bottle import HTTPError, request

from blog import (
    forms,
    image_html,
    reading,
    roles,
    scheduling,
    sessions,
    site_settings,
    slugs,
    trashing,
    uploads,
)
from blog.cache import cached, cached_page
from blog.editing import (
    MERGED_FIELDS,
    NOT_PUBLISHER,
    can_edit,
    check_editable,
    create_post,
    editor_actions,
    finish_save,
    form_values,
    load_editable,
    may_edit_author,
    render_body,
    save_or_merge,
)
from blog.markdown import plain_excerpt
from blog.models import DRAFT, PUBLISHED, utcnow
from blog.queries import posts as post_queries
from blog.queries import readers as reader_queries
from blog.render import render
from blog.responses import allow_external_images, redirect_permanently, see_other
from blog.site import current_site
from blog.tagging import normalize_tags
from blog.urls import POST_ID, absolute_url, url
from blog.versioning import INVALID, MISSING

# The editor's limits and checks are shared with import (blog.forms).
TITLE_MAX, BODY_MAX = forms.TITLE_MAX, forms.BODY_MAX
normalize_body = forms.normalize_body
MAX_PARTS = 10_000  # conflict parts read from one form, at most
FORM_ID = re.compile(r'^[A-Za-z0-9_-]{16,64}$')
SLUG = '<slug:re:[^/]*>'  # any text: a stale or wrong slug reaches show() (a 301)


def read_form(user=None, author_id=None, post=None):
    """The submitted post fields: (values, what the form shows, errors by field);
    `status=published` is an error unless `user` may publish `author_id`'s posts.
    `post` is the post edited (None for a new one): what `publish_at` changes.
    The optional `slug` field is None in `values` when it was not sent."""
    title = forms.normalize_title(forms.field('title'))
    body = forms.normalize_body(forms.field('body'))
    status = forms.field('status')
    if 'status' not in request.forms:
        # The state comes from the save button pressed (Publish, Save draft, ...);
        # Preview, or a tool that leaves the field out, keeps the post's own.
        status = post.status if post is not None else DRAFT
    tags_text = forms.field('tags')
    tags, tag_error = normalize_tags(tags_text)
    slug = forms.field('slug', None)
    errors = forms.post_field_errors(title, body, status)
    slug_error = forms.length_error(slug or '', slugs.INPUT_MAX, 'The URL')
    if slug_error:
        errors['slug'] = slug_error
    if status == PUBLISHED and user is not None and not roles.can(user, 'publish', author_id):
        errors['status'] = NOT_PUBLISHER
    if tag_error:
        errors['tags'] = tag_error
    publish_at, publish_text, publish_error = _read_publish_at(post)
    if publish_error:
        errors['publish_at'] = publish_error
    values = {'title': title, 'body': body, 'status': status, 'tags': tags,
              'publish_at': publish_at, 'slug': slug}
    shown = dict(values, tags=tags_text if tag_error else ', '.join(tags),
                 publish_at=publish_text, slug=slug or '')
    return values, shown, errors


def _read_publish_at(post):
    # (UTC time, text to show again, error). A post that has been out keeps its
    # date, and a form without the field (an outside tool) keeps what is stored.
    stored = post.publish_time if post is not None else None
    zone_name = site_settings.current().timezone
    now = utcnow()
    if 'publish_at' not in request.forms or (post is not None and post.published_at is not None
                                             and post.published_at <= now):
        return stored, scheduling.format_local(stored, zone_name), None
    text = forms.field('publish_at')
    publish_at, error = scheduling.parse_local(text, zone_name)
    error = error or scheduling.publish_at_error(publish_at, stored, now)
    if error:
        return None, text.strip()[:scheduling.INPUT_MAX], error
    return publish_at, scheduling.format_local(publish_at, zone_name), None


def _form(status=200, **context):
    context.setdefault('post', None)
    context.setdefault('version', None)
    context.setdefault('as_draft', False)
    context.setdefault('form_id', None)
    context.setdefault('preview', None)
    context.setdefault('image_alt', '')
    context.setdefault('uploaded', None)
    context['body_max'] = BODY_MAX
    user, post = sessions.current_user(), context['post']
    owner = post.author_id if post is not None else getattr(user, 'id', None)
    context['can_publish'] = roles.can(user, 'publish', owner)
    context['schedule'] = _schedule(post)
    context['actions'] = editor_actions(post, context['can_publish'], context['as_draft'])
    context['stats'] = reading.describe(reading.reading_stats(context['values']['body']))
    if context['preview'] and image_html.has_external_images(context['preview']):
        allow_external_images()
    return render('posts/form.html', status=status, **context)


def _schedule(post):
    # What the editor says of the post's time: the site's zone, and whether it has
    # been out (then its date stays, and the field is not offered).
    published_at = post.published_at if post is not None else None
    return {'zone': site_settings.current().timezone,
            'out': published_at is not None and published_at <= utcnow()}


def read_form_id():
    """The new-post form's hidden `form_id` ('' when absent or not one we made)."""
    value = forms.field('form_id').strip()
    return value if FORM_ID.match(value) else ''


def new_form_id():
    """A fresh id for a new-post form."""
    return secrets.token_urlsafe(16)


def _preview(values, shown, errors, **context):
    """The editor again with the body rendered above it (200); nothing is saved."""
    html = None if errors.get('body') else render_body(values['body'], errors,
                                                       context.get('post'))
    return _form(200, values=shown, errors=errors, preview=html, **context)


def _upload_image(user, shown, **context):
    """action=upload: store the image sent with the editor (`image`, `image_alt`)
    and show the editor again (200) with the typed text kept and the image's
    Markdown added at the end of the body; nothing is saved. A refused image is a
    422 with the reason beside its field, the text kept all the same."""
    alt = forms.field('image_alt')
    data, name = uploads.read_upload('image')
    try:
        image, note = uploads.store_upload(user, data, name, alt)
    except uploads.UploadRefused as refusal:
        field = 'image' if refusal.field == 'file' else 'image_alt'
        return _form(422, values=shown, errors={field: str(refusal)}, image_alt=alt, **context)
    markdown = uploads.markdown_for(image, uploads.check_alt(alt))
    body = shown['body'].rstrip()
    shown = dict(shown, body=(body + '\n\n' if body else '') + markdown + '\n')
    return _form(200, values=shown, errors={}, uploaded=(markdown, uploads.NOTES.get(note)),
                 **context)


@sessions.login_required
def new():
    """GET: an empty post form. POST: create the post (303 to it), once per form.

    `?as=draft` forces a draft: the conflict page's "save mine as a new draft".
    The same form sent twice (its hidden `form_id`) makes one post: the second
    time it is an edit of that post from its first version.
    """
    as_draft = forms.query('as') == 'draft'
    action = url('post_new', **{'as': 'draft' if as_draft else None})
    heading = 'Save your version as a new draft' if as_draft else 'New post'
    context = {'heading': heading, 'action': action, 'as_draft': as_draft}
    if request.method == 'GET':
        shown = {'title': '', 'body': '', 'status': DRAFT, 'tags': '', 'publish_at': '',
                 'slug': ''}
        return _form(values=shown, errors={}, form_id=new_form_id(), **context)
    user = sessions.current_user()
    values, shown, errors = read_form(user, user.id)
    if as_draft:
        values['status'] = shown['status'] = DRAFT
        errors.pop('status', None)
    form_id = read_form_id() or new_form_id()
    context['form_id'] = form_id
    if forms.field('action') == 'upload':
        return _upload_image(user, shown, **context)
    if forms.field('preview'):
        errors.pop('title', None)  # a preview needs no title yet
        return _preview(values, shown, errors, **context)
    html = None if errors else render_body(values['body'], errors)
    if errors:
        return _form(422, values=shown, errors=errors, **context)
    post_id, made = create_post(user, values, html, form_id)
    if not made:
        # This form was sent before: the usual edit rules, from the post it made.
        result = save_or_merge(post_id, 1, values, user, html)
        return finish_save(post_id, result, shown, user)
    see_other(url('post', post_id=post_id, slug=post_queries.slug_of(post_id),
                  notice='saved-as-draft' if as_draft else 'created'))


def _visible_post(post_id, user):
    """The post with its author if `user` may read it; else 404 (drafts, posts in
    review and the trash of others, and posts that do not exist alike)."""
    post = post_queries.post_with_author(post_id)
    if post is None or not (post.is_live or can_edit(user, post)):
        raise HTTPError(404, 'There is no post here.')
    return post


def _to_canonical(post):
    """Raise the 301 to `post`'s address, the query string kept."""
    redirect_permanently(url('post', post_id=post.id, slug=post.slug))


def _post_page(post_id, slug, user):
    post = _visible_post(post_id, user)
    if post.slug != slug:  # it changed since the check in show(): never render it here
        _to_canonical(post)
    merged_from = None
    if forms.query('notice') == 'merged' and can_edit(user, post):
        # The version the other person saved, which this merge replaced.
        merged_from = post_queries.post_revision(post.id, post.version - 1)
    older, newer = reader_queries.author_neighbours(post)
    return render('posts/show.html', post=post, can_edit=can_edit(user, post),
                  post_url=absolute_url('post', post_id=post.id, slug=post.slug),
                  merged_from=merged_from, older=older, newer=newer,
                  reading=reading.reading_stats(post.body),
                  image=image_html.page_image(post.html, current_site().config.site_url),
                  description=plain_excerpt(post.html, 160) or post.title)


def show(post_id, slug):
    """GET /posts/<id>-<slug>: one post. Drafts, posts in review and scheduled posts
    only for their author and the editors (404 for others); a stale slug is a 301 to
    the post's address for those who may read it.

    Anonymous readers get a cached copy (with ETag/304) until the next write to
    any post or user.
    """
    post_id = int(post_id)
    card = _card(post_id)
    if card is None or slug != card[1]:
        post = _visible_post(post_id, sessions.current_user())
        if post.slug != slug:
            _to_canonical(post)
        # Else the cached slug lags (another process wrote, not seen here yet): the
        # page, never a 301 to this very address.
    if cached(('post-external-images', post_id),
              lambda: post_queries.shows_external_images(post_id)):
        allow_external_images()
    # The slug is in the key: a kept page was made for the very slug it is sent for.
    return cached_page(('post', post_id, slug),
                       lambda: _post_page(post_id, slug, sessions.current_user()),
                       personal=lambda user: _may_edit(user, post_id))


def show_bare(post_id):
    """GET /posts/<id>: 301 to the post's address (for those who may read it), from
    its cached card: old links cost no read of the post's text."""
    post_id = int(post_id)
    card = _card(post_id)
    user = sessions.current_user()
    if card is None or not (scheduling.live_card(card, utcnow())
                            or may_edit_author(user, card[0])):
        raise HTTPError(404, 'There is no post here.')
    redirect_permanently(url('post', post_id=post_id, slug=card[1]))


def _card(post_id):
    # (author id, slug, status, published_at), cached per generation (None: no post).
    return cached(('post-card', post_id), lambda: post_queries.post_card(post_id))


def _may_edit(user, post_id):
    # The page shows its author and the editors the post's controls: one page for all
    # who may edit it (cached_page's 'editor' variant), another for everyone else.
    card = _card(post_id)
    if roles.can(user, 'edit') or (card is not None and may_edit_author(user, card[0])):
        return 'editor'
    return False


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
        return _form(values=dict(form_values(post), slug=post.slug), errors={},
                     version=post.version, **context)
    values, shown, errors = read_form(user, post.author_id, post)
    version = forms.read_version()
    if forms.field('action') == 'upload':
        return _upload_image(user, shown, version=version, **context)
    if forms.field('preview'):
        errors.pop('title', None)
        return _preview(values, shown, errors, version=version, **context)
    html = None if errors else render_body(values['body'], errors, post)
    if errors:
        return _form(422, values=shown, errors=errors, version=version, **context)
    choices = None
    if forms.field('resolve'):
        # The conflict form's choices: merge again from the version the editor
        # started from, against the version the form showed as theirs.
        choices = read_choices(version)
        version = forms.read_version('merge_base')
    result = save_or_merge(post.id, version, values, user, html, choices)
    if result.outcome == INVALID:
        return _form(422, values=shown, errors=result.errors, version=version, **context)
    if result.outcome == MISSING:
        return _rescue()
    return finish_save(post.id, result, shown, user)


def read_choices(theirs_version):
    """The conflict form's choices: (per clashing field, per body part, the version
    they were made against)."""
    fields = {name: forms.field('choice-' + name) for name in MERGED_FIELDS}
    parts = []
    while len(parts) < MAX_PARTS and 'part-%d' % len(parts) in request.forms:
        parts.append(forms.field('part-%d' % len(parts)))
    return fields, parts, theirs_version


def _rescue():
    """A post deleted while someone edited it: offer their text as a new draft (404)."""
    _values, shown, _errors = read_form()
    return _form(404, heading='This post was deleted', action=url('post_new', **{'as': 'draft'}),
                 values=shown, as_draft=True, form_id=new_form_id(), errors={
                     'form': 'The post you were editing was deleted in the meantime (moved '
                             'to the trash, where it can be restored, or deleted for good). '
                             'Your text is below: save it as a new draft to keep it.'})


@sessions.login_required
def delete(post_id):
    """POST: move the post to the trash; 303 to the trash, whose notice offers undo."""
    post = load_editable(post_id)
    trashing.trash_post(post.id, sessions.current_user())
    see_other(url('trash', notice='trashed', undo=post.id))


def install(app):
    """Add this module's routes to `app`."""
    app.route('/posts/new', ['GET', 'POST'], new, name='post_new', editor=True,
              large_body=True)
    app.route('/posts/%s-%s' % (POST_ID, SLUG), 'GET', show, name='post')
    app.route('/posts/' + POST_ID, 'GET', show_bare, name='post_bare')
    app.route('/posts/%s/edit' % POST_ID, ['GET', 'POST'], edit, name='post_edit',
              editor=True, large_body=True)
    app.route('/posts/%s/delete' % POST_ID, 'POST', delete, name='post_delete')
