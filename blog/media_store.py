"""Where image files live: a small storage interface, and the local folder behind it.

Files are named by their content address (blog.images.digest) and a size suffix,
`<key>-960.webp`, and are never changed once written: a new upload is a new key.
`LocalStore` keeps them in a folder, two hex digits deep (`ab/ab12...-960.webp`) so
no directory grows past a few thousand entries, and writes each one to a temporary
file that is renamed into place, so a crash or a full disk never leaves half an
image under a real name. An object store (S3-compatible) would implement the same
five methods; `serve` is where it would answer with a redirect instead of the bytes.
"""

import os
import re
import tempfile

from bottle import HTTPError, static_file

# What a stored file may be called: anything else is not ours (and never a path).
NAME = re.compile(r'^([0-9a-f]{32})(-[0-9]{2,4})?\.(webp|jpg|png|gif)$')
CONTENT_TYPES = {'webp': 'image/webp', 'jpg': 'image/jpeg', 'png': 'image/png',
                 'gif': 'image/gif'}
IMMUTABLE = 'public, max-age=31536000, immutable'
PATH = re.compile(r'^/media/([0-9a-f]{32}(?:-[0-9]{2,4})?\.(webp|jpg|png|gif))$')
CHUNK = 64 * 1024


def file_names(key, ext, widths):
    """Every file of one image: the fallback `<key>.<ext>`, then `<key>-<w>.webp` for
    each of `widths` (the stored "480,960" text)."""
    return ['%s.%s' % (key, ext)] + ['%s-%s.webp' % (key, w) for w in widths.split(',') if w]


class LocalStore:
    """Image files in a folder on this machine."""

    def __init__(self, root):
        self.root = os.path.abspath(root)

    def path(self, name):
        """The file's path for a valid `name` (ValueError for anything else)."""
        if not NAME.match(name):
            raise ValueError('not a media file name: %r' % (name,))
        return os.path.join(self.root, name[:2], name)

    def exists(self, name):
        """Whether the file `name` is stored."""
        return os.path.isfile(self.path(name))

    def put(self, name, data):
        """Store `data` as `name`, whole or not at all (temporary file, fsync, rename)."""
        final = self.path(name)
        folder = os.path.dirname(final)
        os.makedirs(folder, exist_ok=True)
        fd, temporary = tempfile.mkstemp(prefix='.upload-', dir=folder)
        try:
            with os.fdopen(fd, 'wb') as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, final)
        except BaseException:
            try:
                os.unlink(temporary)
            except OSError:  # never made, or gone already
                pass
            raise

    def read(self, name):
        """The bytes of the file `name` (OSError when it is missing)."""
        with open(self.path(name), 'rb') as stored:
            return stored.read()

    def delete(self, name):
        """Remove the file `name`, if it is there."""
        try:
            os.unlink(self.path(name))
        except FileNotFoundError:
            pass

    def serve(self, name):
        """The Bottle response for GET /media/<name>: the file, cached for a year
        (its name changes whenever its bytes would), or a 404."""
        match = NAME.match(name)
        if not match or not self.exists(name):
            raise HTTPError(404, 'There is no image here.')
        # The type comes from the name we gave the file, never from what was sent.
        resp = static_file(name, root=os.path.dirname(self.path(name)),
                           mimetype=CONTENT_TYPES[match.group(3)])
        if resp.status_code in (200, 304):
            resp.set_header('Cache-Control', IMMUTABLE)
        return resp

    def copy_to(self, other):
        """Copy every file to the store `other` (a backup); returns how many."""
        copied = 0
        if not os.path.isdir(self.root):
            return 0
        for folder in sorted(os.listdir(self.root)):
            inner = os.path.join(self.root, folder)
            if not (len(folder) == 2 and os.path.isdir(inner)):
                continue
            for name in sorted(os.listdir(inner)):
                if NAME.match(name) and name.startswith(folder):
                    other.put(name, self.read(name))
                    copied += 1
        return copied


class MediaFiles:
    """WSGI: GET and HEAD of a stored file answered before Bottle runs (no routing,
    hooks, session or database: a file's name says all there is to know), with the
    headers every response of the app has (`headers`) and the cache headers of
    `LocalStore.serve`. Anything else, a missing file included, goes on to `wsgi`
    (whose route answers the same file, or the 404 page)."""

    def __init__(self, wsgi, store, headers):
        self.wsgi = wsgi
        self.store = store
        self.headers = list(headers.items())

    def __call__(self, environ, start_response):
        match = PATH.match(environ.get('PATH_INFO', ''))
        method = environ.get('REQUEST_METHOD')
        if match is None or method not in ('GET', 'HEAD'):
            return self.wsgi(environ, start_response)
        name = match.group(1)
        try:
            stored = open(self.store.path(name), 'rb')  # the server closes it when sent
        except OSError:
            return self.wsgi(environ, start_response)
        size = os.fstat(stored.fileno()).st_size
        etag = '"%s"' % name  # the name is the content's address
        headers = self.headers + [('Cache-Control', IMMUTABLE), ('ETag', etag)]
        if environ.get('HTTP_IF_NONE_MATCH') in (etag, 'W/' + etag, '*'):
            stored.close()
            start_response('304 Not Modified', headers)
            return [b'']
        headers += [('Content-Type', CONTENT_TYPES[match.group(2)]),
                    ('Content-Length', str(size))]
        start_response('200 OK', headers)
        if method == 'HEAD':
            stored.close()
            return [b'']
        wrapper = environ.get('wsgi.file_wrapper')
        if wrapper is not None:
            return wrapper(stored, CHUNK)
        return _chunks(stored)


def _chunks(stored):
    with stored:
        while chunk := stored.read(CHUNK):
            yield chunk
