"""Images: `/media` is each person's library (upload with `file` and `alt`, see
sizes, dimensions and where each image is used, delete), `/media/<name>` serves
the files, `/media/<id>/delete` deletes one. Storing and deleting are
blog.uploads'; the files are the site's media store's (blog.media_store).

A file is served with the type its name gives (we named it), `nosniff`, and a
year-long immutable cache: a file's name is its content's address, so it never
changes. Folders are never listed: only names we make are routes at all.
"""

from bottle import HTTPError, request

from blog import forms, roles, sessions, uploads
from blog.queries import media as queries
from blog.queries import people
from blog.render import render
from blog.responses import see_other
from blog.site import current_site
from blog.urls import url

PER_PAGE = 24
FILE_NAME = r'<file:re:[0-9a-f]{32}(?:-[0-9]{2,4})?\.(?:webp|jpg|png|gif)>'
IMAGE_ID = '<image_id:re:[0-9]{1,18}>'
NOTICES = {
    'uploaded': 'Uploaded. Copy its Markdown into a post to show it.',
    'deleted': 'The image was deleted.',
}


def _page(user, owner, status=200, values=None, errors=None, shown=None, note='',
          refused=None):
    page = forms.page_number()
    images = queries.images_of(owner.id, (page - 1) * PER_PAGE, PER_PAGE + 1)
    if page > 1 and not images:
        raise HTTPError(404, 'There is no such page.')
    has_next = len(images) > PER_PAGE
    images = images[:PER_PAGE]
    uses = queries.posts_using([image.key for image in images])
    used, quota = queries.used_bytes(owner.id), uploads.quota_bytes()
    return render('media/library.html', status=status, images=images, page=page,
                  has_next=has_next, uses=uses, used=used, quota=quota,
                  used_text=uploads.size_text(used), quota_text=uploads.size_text(quota),
                  owner=owner, own=owner.id == user.id,
                  values=values or {'alt': ''}, errors=errors or {}, refused=refused or {},
                  shown=shown, note=uploads.NOTES.get(note or forms.query('note')),
                  media_notice=NOTICES.get(forms.query('notice')),
                  markdown=lambda image: uploads.markdown_for(image, image.alt),
                  size_text=uploads.size_text, can_edit_post=_can_edit_post(user))


def _can_edit_post(user):
    return lambda post: roles.can(user, 'edit', post.author_id)


def _owner(user):
    """Whose library this is: ?owner=<username> for admins (anyone's), else one's own."""
    name = forms.query('owner')
    if not name or name == user.username:
        return user
    if not roles.can(user, 'images'):
        raise HTTPError(403, "Only admins see other people's images.")
    owner = people.user_named(name)
    if owner is None:
        raise HTTPError(404, 'There is no such user.')
    return owner


@sessions.login_required
def library():
    """GET: my images (an admin: anyone's, ?owner=), newest first, with the upload
    form. POST: upload one (303 back to the library showing it; 422 with the reason
    beside its field)."""
    user = sessions.current_user()
    if request.method == 'GET':
        owner = _owner(user)
        shown = queries.image_by_id(_shown_id())
        if shown is not None and shown.owner_id != owner.id:
            shown = None
        return _page(user, owner, shown=shown)
    if not roles.can(user, 'images', user.id):
        raise HTTPError(403, 'Your account cannot upload images.')
    alt = forms.field('alt')
    data, name = uploads.read_upload('file')
    try:
        image, note = uploads.store_upload(user, data, name, alt)
    except uploads.UploadRefused as refusal:
        return _page(user, user, 422, values={'alt': alt},
                     errors={refusal.field: str(refusal)})
    see_other(url('media', notice='uploaded', image=image.id, note=note or None))


def _shown_id():
    raw = forms.query('image')
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 18 else 0


def serve(file):
    """GET /media/<name>: one stored file, for anyone."""
    return current_site().media.serve(file)


@sessions.login_required
def delete(image_id):
    """POST: delete an image (its owner, or an admin); refused (409) while a post
    shows it."""
    user = sessions.current_user()
    image = queries.image_by_id(int(image_id))
    if image is None or not roles.can(user, 'images', image.owner_id):
        raise HTTPError(404, 'There is no image here.')
    owner = people.user_by_id(image.owner_id) if image.owner_id != user.id else user
    owner_name = owner.username if owner is not None and owner.id != user.id else None
    try:
        uploads.delete_image(image)
    except uploads.UploadRefused as refusal:
        return _page(user, owner or user, 409, refused={image.id: str(refusal)})
    see_other(url('media', notice='deleted', owner=owner_name))


def install(app):
    """Add this module's routes to `app`."""
    app.route('/media', ['GET', 'POST'], library, name='media', large_body='upload')
    app.route('/media/' + FILE_NAME, 'GET', serve, name='media_file')
    app.route('/media/%s/delete' % IMAGE_ID, 'POST', delete, name='media_delete')
