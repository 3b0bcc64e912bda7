"""The export format, and import: what GET /settings/export and
`python run.py import PATH` share.

An export is a zip with one Markdown file per post, `<author>/<YYYY-MM-DD>-<slug>.md`,
drafts included, in a stable order (author, creation time, id). Each file starts
with front matter between `---` lines, one `key: value` a line, each value written
as JSON (which is also valid YAML), then the Markdown body exactly as saved:

    ---
    title: "Hello, world"
    slug: "hello-world"
    author: "alice"
    author_name: "Alice Liddell"
    status: "published"
    date: "2026-01-31T09:30:00Z"
    tags: ["python", "sqlite"]
    created_at: "2026-01-31T09:29:12.123456Z"
    updated_at: "2026-02-01T10:00:00.000001Z"
    published_at: "2026-01-31T09:30:00.654321Z"
    ---
    The body...

`date` (first publication, else creation) is for people and other tools; the three
microsecond timestamps make the round trip lossless, and so does `slug` (the post's
address; an import takes it when it is a slug as blog.slugs makes them, else makes
one from the title, as for a file without it). The file name carries the slug too.
Revision history and the rendered HTML are not exported (HTML is rendered again from
the body).

Import: authors missing from the database are created as deactivated users with
an unusable password (they cannot sign in; their posts are shown as before);
posts of existing authors are attached to them. A post whose author, creation
time, title and body match one already there counts as a duplicate and is
skipped (counted per copy, so importing the same zip twice adds nothing). The
whole zip is checked before anything is written, then written in one transaction.

Every imported post passes the editor's checks (blog.forms.post_field_errors: title
and body lengths, no control characters in the title), its tags must be as the
editor stores them (at most TAGS_MAX), no text may hold a NUL or a lone surrogate
(which no form can send, and which the export could not write back), and its dates
must lie between 1970 and a day from now (a date in 2107 would pin a post to the
top of the homepage). The zip's post files may hold MAX_TOTAL_BYTES in all.
"""

import datetime
import json
import re
import unicodedata
import zipfile
import zlib
from collections import Counter, namedtuple

from blog import forms, media_zip, uploads
from blog.db import write_transaction
from blog.markdown import RenderError, render_markdown_bounded
from blog.models import PUBLISHED, utcnow
from blog.queries import people, readers
from blog.slugs import is_slug, slugify
from blog.tagging import TAGS_MAX, is_stored_form

FIELDS = ('title', 'slug', 'author', 'author_name', 'status', 'date', 'tags',
          'created_at', 'updated_at', 'published_at')
MAX_MEMBER_BYTES = 16 * 1024 * 1024  # per file in an import zip (zip bombs)
MAX_MEMBERS = 2_000_000
MAX_TOTAL_BYTES = 1024 ** 3  # all post files together, uncompressed (memory: all are held)
MAX_LINE_CHARS = 10_000  # one front matter line (a 200-character title escaped is 1,200)
EARLIEST = datetime.datetime(1970, 1, 1)
CLOCK_SKEW = datetime.timedelta(days=1)  # how far past now an imported date may be
# What reading a broken or unusual zip member can raise, besides ValueError: a
# truncated or corrupt stream (zlib.error, EOFError, BadZipFile), an encrypted member
# (RuntimeError), a compression method Python lacks (NotImplementedError).
_MEMBER_ERRORS = (zipfile.BadZipFile, zlib.error, OSError, EOFError, RuntimeError,
                  NotImplementedError)
# Not a password: a value that matches no scrypt hash, so the user cannot sign in.
UNUSABLE_PASSWORD = '!imported'  # noqa: S105 (matches no hash)  # nosec B105

# JSON leaves these unescaped, but YAML readers treat them as line breaks or BOMs.
_YAML_UNSAFE = re.compile('[\u0085\u2028\u2029\ufeff\x7f]')


def format_time(value):
    """A naive UTC datetime as RFC 3339 with microseconds; None stays None."""
    return None if value is None else value.strftime('%Y-%m-%dT%H:%M:%S.%fZ')


def parse_time(text):
    """RFC 3339 text to a naive UTC datetime; ValueError when it is not one."""
    if not isinstance(text, str):
        raise ValueError('expected a date and time like 2026-01-31T09:30:00Z')
    value = datetime.datetime.fromisoformat(text.strip().replace('Z', '+00:00'))
    if value.tzinfo is not None:
        try:
            value = value.astimezone(datetime.UTC).replace(tzinfo=None)
        except OverflowError:  # year 1 or 9999 moved past the calendar's ends
            raise ValueError('out of range') from None
    return value


def _json(value):
    text = json.dumps(value, ensure_ascii=False)
    return _YAML_UNSAFE.sub(lambda m: '\\u%04x' % ord(m.group()), text)


def post_to_markdown(post):
    """The export file for `post` (its author loaded) as text."""
    meta = {
        'title': post.title,
        'slug': post.slug,
        'author': post.author.username,
        'author_name': post.author.display_name,
        'status': post.status,
        'date': format_time(post.published_at or post.created_at)[:19] + 'Z',
        'tags': list(post.tags),
        'created_at': format_time(post.created_at),
        'updated_at': format_time(post.updated_at),
        'published_at': format_time(post.published_at),
    }
    lines = ['---'] + ['%s: %s' % (key, _json(meta[key])) for key in FIELDS] + ['---']
    return '\n'.join(lines) + '\n' + post.body


def parse_markdown(text):
    """Front matter and body of an export file: (dict, body); ValueError if bad."""
    if not text.startswith('---\n') and not text.startswith('---\r\n'):
        raise ValueError('it does not start with a front matter line "---"')
    rest = text.split('\n', 1)[1]
    meta = {}
    while True:
        if not rest:
            raise ValueError('the front matter has no closing "---" line')
        line, _, rest = rest.partition('\n')
        line = line.rstrip('\r')
        if line == '---':
            return meta, rest
        if not line.strip() or line.lstrip().startswith('#'):
            continue
        if len(line) > MAX_LINE_CHARS:
            raise ValueError('a front matter line is longer than %d characters'
                             % MAX_LINE_CHARS)
        key, sep, raw = line.partition(':')
        key = key.strip()
        if not sep or key not in FIELDS:
            raise ValueError('unknown front matter line %r' % line[:60])
        if key in meta:
            raise ValueError('"%s" appears twice' % key)
        raw = raw.strip()
        try:
            meta[key] = json.loads(raw)
        except ValueError:
            meta[key] = raw  # a plain YAML-style string: title: Hello
        except RecursionError:
            raise ValueError('"%s" is nested too deeply' % key) from None
    # not reached


def _text(meta, key, required=True, maximum=None):
    value = meta.get(key)
    if value is None and not required:
        return ''
    if not isinstance(value, str) or (required and not value.strip()):
        raise ValueError('"%s" must be a non-empty string' % key)
    if maximum and len(value) > maximum:
        raise ValueError('"%s" is longer than %d characters' % (key, maximum))
    return value


def _check_text(key, value):
    """No NUL (forms refuse it) and no lone surrogate (not UTF-8: no form can send
    one, and the export could not write it)."""
    if '\x00' in value:
        raise ValueError('"%s" contains a NUL character' % key)
    try:
        value.encode('utf-8')
    except UnicodeEncodeError:
        raise ValueError('"%s" is not valid Unicode (a lone surrogate)' % key) from None


def _check_time(key, value):
    latest = utcnow() + CLOCK_SKEW
    if not EARLIEST <= value <= latest:
        raise ValueError('"%s" %s is not between %s and a day from now'
                         % (key, format_time(value)[:19] + 'Z', EARLIEST.year))
    return value


def validate(meta, body):
    """The post's fields from parsed front matter, checked by the editor's rules;
    ValueError naming the problem."""
    title = _text(meta, 'title')
    author = _text(meta, 'author')
    if forms.username_error(author) or author != forms.normalize_username(author):
        raise ValueError('"author" %r is not a valid username' % author[:40])
    author_name = _text(meta, 'author_name', required=False, maximum=80)
    if any(unicodedata.category(ch) == 'Cc' for ch in author_name):
        raise ValueError('"author_name" contains control characters')
    status = meta.get('status', PUBLISHED)
    for key, value in (('title', title), ('body', body), ('author_name', author_name)):
        _check_text(key, value)
    # Not normalised as the editor would: an export's texts come back exactly.
    errors = forms.post_field_errors(title, body, status if isinstance(status, str) else '',
                                     body_required=False)
    for key in ('title', 'body', 'status'):
        if key in errors:
            message = ('must be one of draft, published' if key == 'status'
                       else errors[key])
            raise ValueError('"%s": %s' % (key, message))
    tags = meta.get('tags', [])
    # The length first: each tag is checked only when there can be few of them.
    if not isinstance(tags, list) or len(tags) > TAGS_MAX or not all(
            is_stored_form(t) for t in tags):
        raise ValueError('"tags" must be a list of at most %d tags as the editor stores '
                         'them (lower case letters, digits and "-", up to 40 characters)'
                         % TAGS_MAX)
    if len(set(tags)) != len(tags):
        raise ValueError('"tags" lists a tag twice')
    times = {}
    for key in ('date', 'created_at', 'updated_at', 'published_at'):
        if meta.get(key) is not None:
            try:
                value = parse_time(meta[key])
            except ValueError:
                raise ValueError('"%s" is not a date and time like 2026-01-31T09:30:00Z'
                                 % key) from None
            times[key] = _check_time(key, value)
    created = times.get('created_at') or times.get('date')
    if created is None:
        raise ValueError('it needs "created_at" or "date"')
    if 'published_at' in meta:
        published = times.get('published_at')
    else:
        published = times.get('date') if status == PUBLISHED else None
    if status == PUBLISHED and published is None:
        published = created
    slug = meta.get('slug')
    return {'title': title, 'slug': slug if is_slug(slug) else slugify(title),
            'author': author, 'author_name': author_name, 'status': status,
            'tags': tags, 'body': body, 'created_at': created,
            'updated_at': times.get('updated_at') or created, 'published_at': published}


def write_zip(out, author=None, store=None):
    """Write the export zip of `author`'s posts (everyone's when None) to `out`,
    with the images they show from `store` (blog.media_zip); returns the number of
    posts."""
    count = 0
    taken = set()
    post_ids, usernames = [], {}
    with zipfile.ZipFile(out, 'w', compression=zipfile.ZIP_DEFLATED) as archive:
        for post in readers.export_posts(author).iterator():
            post_ids.append(post.id)
            usernames[post.author.id] = post.author.username
            stem = '%s/%s-%s' % (post.author.username, post.created_at.strftime('%Y-%m-%d'),
                                 post.slug or slugify(post.title))
            name, n = stem + '.md', 1
            while name in taken:
                n += 1
                name = '%s-%d.md' % (stem, n)
            taken.add(name)
            stamp = max(post.updated_at, datetime.datetime(1980, 1, 1))
            info = zipfile.ZipInfo(name, date_time=stamp.timetuple()[:6])
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, post_to_markdown(post).encode('utf-8'))
            count += 1
        if store is not None:
            media_zip.write_media(archive, post_ids, store, usernames)
    return count


def _shown_name(info):
    """A member's name for a one-line message: unprintable characters as '?'."""
    return ''.join(ch if ch.isprintable() else '?' for ch in info.filename[:200])


class ExportError(ValueError):
    """An export zip that cannot be imported; the message says why, in one line."""


Export = namedtuple('Export', 'records ignored images')


def read_zip(path):
    """The validated posts of an export zip, in file order, and how many files it
    ignored; ExportError if bad."""
    export = read_export(path)
    return export.records, export.ignored


def read_export(path):
    """The validated posts (in file order) and images of an export zip, and how many
    files it ignored; ExportError if anything in it is bad."""
    try:
        archive = zipfile.ZipFile(path)
    except FileNotFoundError:
        raise ExportError('no such file: %s' % path) from None
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise ExportError('%s is not a zip file (%s)' % (path, exc)) from None
    records = []
    with archive:
        members = archive.infolist()
        if len(members) > MAX_MEMBERS:
            raise ExportError('%s holds more than %d files' % (path, MAX_MEMBERS))
        posts = [info for info in members
                 if not info.is_dir() and info.filename.endswith('.md')]
        media = [info for info in members if media_zip.is_media_member(info.filename)]
        ignored = len(members) - len(posts) - len(media)
        try:
            found_images = media_zip.read_media(archive)
        except (ValueError, RecursionError, *_MEMBER_ERRORS) as exc:
            msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise ExportError('%s: %s' % (media_zip.MANIFEST, msg)) from None
        # Declared sizes, summed before anything is decompressed; a member's reader
        # stops at its declared size, so the data read cannot exceed them.
        if sum(info.file_size for info in posts) > MAX_TOTAL_BYTES:
            raise ExportError('%s: its post files hold more than %d MiB in all'
                              % (path, MAX_TOTAL_BYTES // 2 ** 20))
        for info in posts:
            if info.file_size > MAX_MEMBER_BYTES:
                raise ExportError('%s: larger than %d MiB'
                                 % (_shown_name(info), MAX_MEMBER_BYTES // 2 ** 20))
            try:
                with archive.open(info) as member:
                    data = member.read(MAX_MEMBER_BYTES + 1)
                if len(data) > MAX_MEMBER_BYTES:
                    raise ValueError('larger than %d MiB' % (MAX_MEMBER_BYTES // 2 ** 20))
                text = data.decode('utf-8-sig')  # a BOM some editors add is dropped
                record = validate(*parse_markdown(text))
                # Under the editor's bounds (CPU, memory, tables, HTML size), before
                # the database is opened, so a body the editor refuses is refused here.
                record['html'] = render_markdown_bounded(record['body'])
                records.append(record)
            except RenderError as exc:
                raise ExportError('%s: %s' % (_shown_name(info), exc)) from None
            except UnicodeDecodeError:
                raise ExportError('%s: not UTF-8 text' % _shown_name(info)) from None
            except (ValueError, *_MEMBER_ERRORS) as exc:
                msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                raise ExportError('%s: %s' % (_shown_name(info), msg)) from None
    if not records:
        raise ExportError('%s holds no post files (*.md)' % path)
    return Export(records, ignored, found_images)


def import_posts(records, found_images=()):
    """Write `records` (from read_zip) and the rows of `found_images` (read_export's;
    their files written already) in one transaction; returns (imported, skipped
    duplicates, usernames of authors created)."""
    created_authors, authors = [], {}
    existing = {}  # duplicate key -> copies already in the database
    seen = Counter()
    imported = skipped = 0
    made_posts = []
    # Rendered by read_zip, before the write lock is taken: slow Markdown must not
    # hold up the server's writes (they wait on the lock only for the busy timeout).
    with write_transaction():
        for record in records:
            html = record['html']
            username = record['author']
            user = authors.get(username)
            if user is None:
                user = people.user_named(username)
                if user is None:
                    user = people.create_user(username=username, password=UNUSABLE_PASSWORD,
                                              display_name=record['author_name'],
                                              is_active=False)
                    created_authors.append(username)
                authors[username] = user
            key = (user.id, record['created_at'], record['title'], record['body'])
            if key not in existing:
                existing[key] = readers.same_posts(user.id, record['created_at'],
                                                   record['title'], record['body'])
            seen[key] += 1
            if seen[key] <= existing[key]:
                skipped += 1
                continue
            post = readers.create_post(
                author=user, title=record['title'], slug=record['slug'],
                body=record['body'], html=html, status=record['status'],
                tags=record['tags'], created_at=record['created_at'],
                updated_at=record['updated_at'], updated_by=user,
                published_at=record['published_at'])
            if found_images:
                made_posts.append(post)
            imported += 1
        if found_images:
            # After the authors, who own the images; then the posts' images made
            # responsive from the rows, as a save would.
            media_zip.insert_images(found_images, lambda name: authors.get(name)
                                    or people.user_named(name))
            for post in made_posts:
                post.html = uploads.with_images(post.html)
                readers.set_post_html(post.id, post.html)
                uploads.record_post_images(post.id, post.html)
    return imported, skipped, created_authors
