"""The images of an export zip (blog.zipformat): written with the posts that show
them, checked and brought back by import with the same addresses.

An export holds, besides the posts, `media/images.json` (one entry per image: its
content address `key`, formats, sizes, alt text, file name, owner and upload time)
and every file of each image as `media/<file name>`, byte for byte (stored, not
deflated: they are compressed already). Import checks the whole list and every file
(blog.images.verify: the real type from the bytes, the limits, the sizes the list
gives) before anything is written; then it writes the files that are not there yet,
and the rows go in with the posts, in their transaction. Should that fail, the files
it wrote are taken away again.
"""

import datetime
import json
import re
import zipfile

from blog import images, media_store
from blog.media_store import NAME
from blog.models import Image
from blog.queries import media as media_queries

MANIFEST = 'media/images.json'
PREFIX = 'media/'
MAX_IMAGES = 100_000
MAX_MANIFEST_BYTES = 64 * 1024 * 1024
EXTS = ('jpg', 'png', 'webp', 'gif')
KINDS = ('jpeg', 'png', 'webp', 'gif')
WIDTHS = re.compile(r'^(?:[0-9]{1,4}(?:,[0-9]{1,4}){0,7})?$')


def file_names(entry):
    """Every file name of a manifest entry."""
    return media_store.file_names(entry['key'], entry['ext'], entry['widths'])


def _entry(image, owner_name):
    return {'key': image.key, 'ext': image.ext, 'kind': image.kind, 'width': image.width,
            'height': image.height, 'widths': image.widths, 'animated': image.animated,
            'alt': image.alt, 'name': image.name, 'owner': owner_name,
            'created_at': image.created_at.strftime('%Y-%m-%dT%H:%M:%S.%fZ')}


def write_media(archive, post_ids, store, usernames):
    """Add the images the posts `post_ids` show (list and files) to `archive`;
    `usernames` maps user ids to names. Returns how many images."""
    keys = media_queries.keys_of_posts(post_ids)
    rows = media_queries.images_by_keys(keys)
    entries = []
    for key in sorted(rows):
        image = rows[key]
        names = media_store.file_names(image.key, image.ext, image.widths)
        if not all(store.exists(name) for name in names):
            continue  # files lost on this machine: the post shows a broken image anyway
        entries.append(_entry(image, usernames.get(image.owner_id)))
        stamp = max(image.created_at, datetime.datetime(1980, 1, 1)).timetuple()[:6]
        for name in names:
            info = zipfile.ZipInfo(PREFIX + name, date_time=stamp)
            info.compress_type = zipfile.ZIP_STORED
            info.external_attr = 0o644 << 16
            archive.writestr(info, store.read(name))
    if entries:
        info = zipfile.ZipInfo(MANIFEST, date_time=(1980, 1, 1, 0, 0, 0))
        info.compress_type = zipfile.ZIP_DEFLATED
        info.external_attr = 0o644 << 16
        archive.writestr(info, json.dumps({'images': entries}, ensure_ascii=False,
                                          indent=1, sort_keys=True).encode('utf-8'))
    return len(entries)


def is_media_member(name):
    """Whether a zip member is part of the images (not a post, not ignored)."""
    return name.startswith(PREFIX)


def _check_entry(entry):
    if not isinstance(entry, dict):
        raise ValueError('an entry is not an object')
    key = entry.get('key')
    if not (isinstance(key, str) and NAME.match(key + '.jpg')):
        raise ValueError('an entry has no valid "key"')
    checks = (('ext', lambda v: v in EXTS), ('kind', lambda v: v in KINDS),
              ('width', lambda v: type(v) is int and 0 < v <= 100_000),
              ('height', lambda v: type(v) is int and 0 < v <= 100_000),
              ('widths', lambda v: isinstance(v, str) and WIDTHS.match(v)),
              ('animated', lambda v: isinstance(v, bool)),
              ('alt', lambda v: isinstance(v, str) and 0 < len(v) <= 1000),
              ('name', lambda v: isinstance(v, str) and len(v) <= 200),
              ('owner', lambda v: v is None or (isinstance(v, str) and len(v) <= 30)),
              ('created_at', lambda v: isinstance(v, str) and len(v) <= 40))
    for field, ok in checks:
        if not ok(entry.get(field)):
            raise ValueError('image %s: "%s" is missing or not valid' % (key, field))
    try:
        created = datetime.datetime.fromisoformat(entry['created_at'].replace('Z', '+00:00'))
    except ValueError:
        raise ValueError('image %s: "created_at" is not a date and time' % key) from None
    return dict(entry, created_at=created.replace(tzinfo=None))


def read_media(archive):
    """The checked image entries of an open export zip (an empty list when it has
    none); ValueError naming the first problem. Every file is read and verified."""
    try:
        info = archive.getinfo(MANIFEST)
    except KeyError:
        return []
    if info.file_size > MAX_MANIFEST_BYTES:
        raise ValueError('%s is larger than %d MiB' % (MANIFEST, MAX_MANIFEST_BYTES >> 20))
    with archive.open(info) as member:
        manifest = json.loads(member.read(MAX_MANIFEST_BYTES + 1).decode('utf-8'))
    found = manifest.get('images') if isinstance(manifest, dict) else None
    if not isinstance(found, list) or len(found) > MAX_IMAGES:
        raise ValueError('%s must hold a list "images" of at most %d entries'
                         % (MANIFEST, MAX_IMAGES))
    entries, keys = [], set()
    for raw in found:
        entry = _check_entry(raw)
        if (entry['key'], entry['owner']) in keys:
            raise ValueError('image %s is listed twice' % entry['key'])
        keys.add((entry['key'], entry['owner']))
        for name in file_names(entry):
            _verify_member(archive, name, entry)
        # What the quota counts: the files as they are.
        entry['bytes'] = sum(archive.getinfo(PREFIX + name).file_size
                             for name in file_names(entry))
        entries.append(entry)
    return entries


def _verify_member(archive, name, entry):
    try:
        info = archive.getinfo(PREFIX + name)
    except KeyError:
        raise ValueError('image %s: the file %s%s is missing' % (entry['key'], PREFIX,
                                                                  name)) from None
    if info.file_size > images.MAX_BYTES:
        raise ValueError('%s%s is larger than %d MiB' % (PREFIX, name, images.MAX_BYTES >> 20))
    with archive.open(info) as member:
        data = member.read(images.MAX_BYTES + 1)
    ext = name.rsplit('.', 1)[1]
    try:
        width, height = images.verify(data, ext)
    except images.ImageRefused as refusal:
        raise ValueError('%s%s: %s' % (PREFIX, name, refusal)) from None
    if ext == entry['ext'] and (width, height) != (entry['width'], entry['height']):
        raise ValueError('%s%s is %dx%d, not the %dx%d its entry gives'
                         % (PREFIX, name, width, height, entry['width'], entry['height']))


def store_files(path, entries, store):
    """Write the files of `entries` from the zip at `path` that `store` lacks;
    returns the names written (for remove_files, should the import fail)."""
    written = []
    with zipfile.ZipFile(path) as archive:
        for entry in entries:
            for name in file_names(entry):
                if not store.exists(name):
                    with archive.open(PREFIX + name) as member:
                        store.put(name, member.read(images.MAX_BYTES + 1))
                    written.append(name)
    return written


def remove_files(names, store):
    """Take away files store_files wrote (an import that failed)."""
    for name in names:
        store.delete(name)


def insert_images(entries, user_named):
    """Insert a row per entry (inside the import's transaction); `user_named(name)`
    finds an owner (an owner not found is left empty). A row the owner has already
    is kept as it is. Returns how many rows were made."""
    made = 0
    for entry in entries:
        owner = user_named(entry['owner']) if entry['owner'] else None
        owner_id = owner.id if owner is not None else None
        if owner_id is not None and media_queries.image_of(owner_id, entry['key']):
            continue
        fields = {name: entry[name] for name in ('key', 'ext', 'kind', 'width', 'height',
                                                 'widths', 'animated', 'alt', 'name',
                                                 'created_at')}
        fields['bytes'] = entry['bytes']
        Image.create(owner=owner_id, **fields)
        made += 1
    return made
