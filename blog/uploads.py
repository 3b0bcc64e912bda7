"""Storing and deleting uploaded images: what the media library (blog.media), the
post editor's own upload (blog.posts), import (blog.zipformat) and the save of a
post (blog.editing) share.

An upload is checked and re-encoded by blog.images in a child process
(blog.image_worker), outside any transaction (it takes a large photo a second or
so), its files are written to the site's media store, and then its row is inserted
in one short write transaction. Files come before the row, so a row never names a
file that is not there; a crash between the two leaves files no row names, which the
next upload of the same bytes reuses.
Deleting takes the row and, when no other owner shares the files, the files, in
one write transaction, which is also where an upload checks that the files it
found are still there, so the two never cross.

The same bytes uploaded twice are one set of files (named by the content address
of the bytes) and are not processed again; the same owner gets their row back.
"""

from bottle import request
from peewee import IntegrityError

from blog import image_html, images, media_store, site_settings
from blog.db import write_transaction
from blog.models import Image, utcnow
from blog.queries import media as queries
from blog.site import current_site

ALT_MAX = 1000
NAME_MAX = 200
MIB = 1024 * 1024
NO_FILE = 'Choose an image file to upload.'
NO_ALT = ('Describe the image for people who cannot see it (its alt text): what it '
          'shows, in a sentence.')
ALT_TOO_LONG = 'The description can be at most %d characters (it has %d).'
UPLOADS_OFF = 'Image uploads are turned off on this site.'
OVER_QUOTA = ('This image needs %s, and %s of your %s for images are left. Delete '
              'images you no longer use, or ask an admin for more room.')
TOO_LARGE = 'That file is larger than %d MiB, the most an image may have.' % (
    images.MAX_BYTES // MIB)
IN_USE = ('This image is in %d post%s (listed with it). Take it out of %s first: '
          'deleting it would leave a broken image.')


# What an upload's notice adds (the code travels in the redirect, never the text).
NOTES = {
    'again': 'You had uploaded this image already: here it is again.',
    'animated': 'It is animated: the animation is kept (at one size, at most 960 pixels '
                'wide).',
    'first-frame': 'It is animated, with too many frames to keep: only its first frame is '
                   'shown.',
}


class UploadRefused(ValueError):
    """An upload that is not stored; the message is for the form, `field` says which
    field it is about ('file' or 'alt')."""

    def __init__(self, message, field='file'):
        super().__init__(message)
        self.field = field


def size_text(count):
    """A byte count for people: '812 KiB', '3.4 MiB'."""
    if count < MIB:
        return '%d KiB' % max(1, round(count / 1024)) if count else '0 KiB'
    return '%.1f MiB' % (count / MIB)


def read_upload(field_name):
    """(bytes, file name) of the file sent as `field_name`, or (None, '') when none
    was chosen. Reads at most one byte past images.MAX_BYTES."""
    upload = request.files.get(field_name)
    if upload is None or not upload.raw_filename:
        return None, ''
    data = upload.file.read(images.MAX_BYTES + 1)
    name = ' '.join(upload.filename.split())[:NAME_MAX]  # Bottle's safe version of it
    return data, name


def check_alt(alt):
    """The alt text tidied (one line), or UploadRefused(field='alt')."""
    alt = ' '.join((alt or '').split())
    if not alt:
        raise UploadRefused(NO_ALT, 'alt')
    if len(alt) > ALT_MAX:
        raise UploadRefused(ALT_TOO_LONG % (ALT_MAX, len(alt)), 'alt')
    return alt


def file_names(image):
    """Every file of `image`: the fallback, then its WebP widths."""
    return media_store.file_names(image.key, image.ext, image.widths)


def quota_bytes():
    """What each person may store, from the site settings."""
    return site_settings.current().media_quota * MIB


def _check_quota(owner_id, needed):
    quota = quota_bytes()
    if quota <= 0:
        raise UploadRefused(UPLOADS_OFF)
    left = quota - queries.used_bytes(owner_id)
    if needed > left:
        raise UploadRefused(OVER_QUOTA % (size_text(needed), size_text(max(left, 0)),
                                          size_text(quota)))


def store_upload(owner, data, name, alt):
    """Store the upload `data` of `owner`: (Image row, a NOTES code or ''). Raises
    UploadRefused (with blog.images' reason when the file is refused)."""
    alt = check_alt(alt)
    if not data:
        raise UploadRefused(NO_FILE)
    if len(data) > images.MAX_BYTES:  # before hashing or decoding any of it
        raise UploadRefused(TOO_LARGE)
    key = images.digest(data)
    mine = queries.image_of(owner.id, key)
    if mine is not None and _files_there(mine):
        return mine, 'again'
    known = queries.any_image(key)
    note, written = '', None
    if known is not None and _files_there(known):
        fields = {name: getattr(known, name) for name in
                  ('ext', 'kind', 'width', 'height', 'widths', 'animated', 'bytes')}
        _check_quota(owner.id, fields['bytes'])
    else:
        _check_quota(owner.id, len(data))  # before the work: the result is smaller
        try:
            processed = current_site().image_workers.process(data)  # in a child
        except images.ImageRefused as refusal:
            raise UploadRefused(str(refusal)) from None
        webp = [r.width for r in processed.renditions[1:]]  # after the fallback
        fields = {'ext': processed.renditions[0].ext, 'kind': processed.kind,
                  'width': processed.width, 'height': processed.height,
                  'widths': ','.join(str(w) for w in webp), 'animated': processed.animated,
                  'bytes': sum(len(r.data) for r in processed.renditions)}
        written = {key + r.suffix + '.' + r.ext: r.data for r in processed.renditions}
        if processed.animated:
            note = 'animated'
        elif processed.note:  # blog.images says only when it dropped frames
            note = 'first-frame'
        _check_quota(owner.id, fields['bytes'])
        store = current_site().media
        for file_name, content in written.items():
            store.put(file_name, content)
    try:
        with write_transaction():
            # Under the write lock: two uploads at once cannot both fit in what is left.
            _check_quota(owner.id, fields['bytes'])
            image = Image(key=key, owner=owner.id, alt=alt, name=name,
                          created_at=utcnow(), **fields)
            if written is None and not _files_there(image):
                raise UploadRefused('That image was being deleted as you sent it. '
                                    'Send it again.')
            if mine is not None:  # its files had gone missing: made again above
                mine.delete_instance()
            image.save()
    except IntegrityError:  # the same upload, twice at once: the first one stands
        image = queries.image_of(owner.id, key)
    return image, note


def _files_there(image):
    store = current_site().media
    return all(store.exists(file_name) for file_name in file_names(image))


def delete_image(image):
    """Delete `image`'s row, and its files when no other owner shares them; raises
    UploadRefused while a post (the trash included) shows it."""
    store = current_site().media
    with write_transaction():
        uses = queries.use_count(image.key)
        if uses and queries.rows_with_key(image.key) <= 1:
            raise UploadRefused(IN_USE % (uses, '' if uses == 1 else 's',
                                          'it' if uses == 1 else 'them'))
        image.delete_instance()
        if queries.rows_with_key(image.key) == 0:
            for file_name in file_names(image):
                store.delete(file_name)


def markdown_for(image, alt):
    """The Markdown that shows `image` with the text `alt`."""
    escaped = ''.join('\\' + ch if ch in '\\[]*_`<>!' else ch for ch in alt)
    return '![%s](%s%s)' % (escaped, image_html.MEDIA_PREFIX, image.filename)


def with_images(body_html):
    """A post's sanitized HTML with its stored images made responsive."""
    keys = image_html.local_keys(body_html)
    if not keys:
        return body_html
    return image_html.responsive(body_html, queries.images_by_keys(keys))


def record_post_images(post_id, body_html):
    """Keep post_image in step with the HTML just saved for `post_id` (inside the
    save's transaction)."""
    queries.set_post_images(post_id, image_html.local_keys(body_html))
