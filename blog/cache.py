"""A small in-process cache for public pages and query results.

Every write that can change a public page bumps `site_state.generation` (triggers in
the schema do it, in the write's own transaction), so an entry is valid exactly while
the generation it was made at is current. This process reads the generation again
after each commit it makes (`backend.writes` moves), so its own writes show on the very
next request; another process's writes (the command line, a second server) show
within `RECHECK_SECONDS`, when the generation is read again regardless. Between
those reads a cached page is served without touching SQLite at all: a query per
request, cheap as it is, cost cached pages about half their requests/s under
load (benchmarks/README.md).

A generation is a pair: that count, and the moment the next scheduled post is due
(blog.scheduling). Once that moment passes, the pair is read again, and the next
due time makes a new generation: every process turns its pages over when a
scheduled post goes out, with no write to tell it.

Two layers use it:

- `cached(key, producer)`: query results (the homepage's entries, say), shared by
  every reader, signed in or not.
- `cached_page(key, produce)`: whole rendered pages for anonymous readers, with
  conditional GET: an ETag made of the generation and the page, `Last-Modified`,
  and 304 Not Modified when the reader's copy is current. Signed-in readers see
  their own name on every page: they get the same kept page with their own
  header parts joined in (blog.header), and `Cache-Control: no-cache, private`.
"""

import email.utils
import functools
import hashlib
import os
import threading
import time
from collections import OrderedDict

from bottle import request, response

from blog.db import NEVER
from blog.site import current_site

MAX_ENTRIES = 2000
MAX_BYTES = 48 * 1024 * 1024  # a bound on the memory held by cached values
ITEM_BYTES = 512  # the estimated size of a value that is not text
# How stale another process's write may look here, at most.
RECHECK_SECONDS = 0.25


def _size(value):
    """A rough size of a cached value in bytes (text counts its length)."""
    if isinstance(value, (str, bytes)):
        return len(value) + 64
    if isinstance(value, (list, tuple)):
        return 64 + sum(_size(item) for item in value)
    if isinstance(value, dict):
        return 64 + sum(_size(item) for item in value.values())
    return ITEM_BYTES


class Cache:
    """A thread-safe LRU of (generation, value) entries, bounded in count and bytes.

    Generations only grow, so when a newer one is seen every entry is stale and
    all are dropped at once (they would otherwise hold memory until evicted); a
    value produced at an older generation than the newest seen is not stored.
    """

    def __init__(self, backend=None, max_entries=MAX_ENTRIES, max_bytes=MAX_BYTES):
        self.backend = backend  # where the generation is read, and whose commits count
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._entries = OrderedDict()  # key -> (generation, value, size)
        self._bytes = 0
        self._generation = None
        self._lock = threading.Lock()
        self._known = (None, 0.0, None)  # (generation, monotonic read time, backend.writes)

    def generation(self):
        """The current cache generation, read from SQLite only when this process
        has committed since the last read or `RECHECK_SECONDS` have passed."""
        known, read_at, writes_then = self._known
        writes = self.backend.writes  # before the read: a commit after it forces another
        now = time.monotonic()
        if known is None or writes != writes_then or now - read_at >= RECHECK_SECONDS \
                or _due(known):
            value = self.backend.generation()
            with self._lock:
                # Generations only grow. A thread whose read began before another
                # process's write may finish after a thread that saw the write:
                # keep the newer value (and its snapshot), never step back.
                if self._known[0] is None or value >= self._known[0]:
                    self._known = (value, now, writes)
                known = self._known[0]
        return known

    def fresh_generation(self):
        """The generation known without reading SQLite, or None when a read is due
        (this process committed since, or `RECHECK_SECONDS` passed)."""
        known, read_at, writes_then = self._known
        if (known is None or self.backend.writes != writes_then
                or time.monotonic() - read_at >= RECHECK_SECONDS or _due(known)):
            return None
        return known

    def _see(self, generation):
        # Caller holds the lock. True when `generation` is the newest seen.
        if self._generation is None or generation > self._generation:
            self._entries.clear()
            self._bytes = 0
            self._generation = generation
        return generation == self._generation

    def get(self, key, generation):
        """The value cached for `key` at `generation`, or None."""
        with self._lock:
            if not self._see(generation):
                return None
            entry = self._entries.get(key)
            if entry is None or entry[0] != generation:
                return None
            self._entries.move_to_end(key)
            return entry[1]

    def put(self, key, generation, value):
        """Remember `value` for `key` at `generation` (unless a newer one is known).
        None is never kept: get() could not tell it from a miss, and keys that name
        nothing (an unknown post id, say) would only push out real entries."""
        if value is None:
            return
        size = _size(value)
        with self._lock:
            if not self._see(generation) or size > self.max_bytes:
                return
            old = self._entries.pop(key, None)
            if old is not None:
                self._bytes -= old[2]
            self._entries[key] = (generation, value, size)
            self._bytes += size
            while len(self._entries) > self.max_entries or self._bytes > self.max_bytes:
                _, (_, _, dropped) = self._entries.popitem(last=False)
                self._bytes -= dropped

    def clear(self):
        with self._lock:
            self._entries.clear()
            self._bytes = 0

    def __len__(self):
        return len(self._entries)

    @property
    def bytes(self):
        """The estimated bytes held."""
        return self._bytes


def _due(generation):
    """True once the scheduled post a generation waits for is due (its time is
    in microseconds of the wall clock, as published_at is stored)."""
    return isinstance(generation, tuple) and time.time() * 1_000_000 >= generation[1]


def request_generation():
    """The generation for this request (one value for the whole request)."""
    generation = request.environ.get('blog.generation')
    if generation is None:
        generation = current_site().cache.generation()
        request.environ['blog.generation'] = generation
    return generation


def _enabled():
    return current_site().config.cache_pages


def cached(key, producer, store=None):
    """`producer()`'s result, cached under `key` until the next public write, in the
    site's cache (or in `store`, a Cache of its own: keys that readers choose, such as
    searches, then only ever push out each other).

    With caching off in the config (tests of the uncached path), always produces.
    """
    if not _enabled():
        return producer()
    cache = store if store is not None else current_site().cache
    generation = request_generation()
    value = cache.get(key, generation)
    if value is None:
        value = producer()
        cache.put(key, generation, value)
    return value


def _build_token():
    """Changes when the code or templates change, so a new release never answers
    304 for a page an old release rendered at the same generation."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    latest = 0.0
    for folder in (os.path.join(root, 'blog'), os.path.join(root, 'templates')):
        for dirpath, _, filenames in os.walk(folder):
            for name in filenames:
                if name.endswith(('.py', '.html', '.xml')):
                    latest = max(latest, os.path.getmtime(os.path.join(dirpath, name)))
    return '%x' % int(latest)


BUILD = _build_token()
FRONT_KEY = 'blog.front_generation'  # request.environ: this response may be kept whole
FRONT_EVERYONE = 'blog.front_everyone'  # ... and sent to signed-in readers too
PAGE_PARAMS = frozenset({'page'})  # query parameters a cached page may have


@functools.lru_cache(maxsize=4096)
def _page_digest(key):
    return hashlib.sha256(repr((BUILD, key)).encode('utf-8')).hexdigest()[:16]


def page_etag(key, generation):
    """The ETag of public page `key` at `generation`."""
    if isinstance(generation, tuple):  # (count, due): the due time only when there is one
        count, due = generation
        generation = '%d' % count if due == NEVER else '%d.%x' % (count, due)
    return '"%s-%s"' % (generation, _page_digest(key))


def _etag_matches(header, etag):
    # If-None-Match uses the weak comparison: W/"x" matches "x".
    if header.strip() == '*':
        return True
    tags = (tag.strip() for tag in header.split(','))
    return any((tag[2:] if tag.startswith('W/') else tag) == etag for tag in tags)


def _not_modified_since(header, last_modified):
    """True when the reader's If-Modified-Since is after our Last-Modified.

    Last-Modified is the second this process first rendered the page at this
    generation; an older generation's page may carry the same second, so only a
    strictly later date proves the reader's copy current. (Readers that sent an
    ETag are answered by it instead.)
    """
    try:
        parsed = email.utils.parsedate_to_datetime(header) if header else None
    except (TypeError, ValueError):  # not a date: no claim about the copy
        return False
    if parsed is None or parsed.tzinfo is None:
        return False
    return parsed.timestamp() > last_modified


def cached_page(key, produce, personal=None):
    """Serve a public page through the whole-page cache and conditional GET.

    `key` names the page (the view's own arguments, e.g. ('home', page));
    `produce()` renders it. The page is rendered once per generation as nobody
    (blog.header): anonymous readers get those bytes, with ETag and 304s, and a
    signed-in reader the same page with their own header parts joined in.
    `personal(user)` says how the page reads for a signed-in reader: False, as for
    anybody; True, differently (they just get `produce()`); or a name (say
    'editor': the post's controls) for readers who all see one page but for their
    header and CSRF token: it is rendered once per generation as the first of them,
    and kept apart. Readers of pages a shared render could not make, and URLs with
    other query parameters than ?page (such as ?notice=), just get `produce()`.
    """
    from blog import header, sessions

    user = sessions.current_user()
    variant = personal(user) if user is not None and personal is not None else False
    if variant is True or set(request.query.keys()) - PAGE_PARAMS:
        return produce()
    generation = request_generation()
    cache = current_site().cache
    page_key = ('page', key, variant) if variant else ('page', key)
    entry = cache.get(page_key, generation) if _enabled() else None
    if entry is None:
        entry = _shared_render(produce, user is not None, variant)
        if entry is None:  # not a page every reader may share: this reader's own
            return produce()
        if _enabled():
            cache.put(page_key, generation, entry)
    segments, body, rendered_at, last_modified = entry
    if user is not None:
        response.content_type = 'text/html; charset=utf-8'
        page = header.join(segments, user)  # no-cache, private (app.close_request)
        return header.with_csrf(page) if variant else page
    etag = page_etag(key, generation)
    inm = request.get_header('If-None-Match')
    if inm is not None:
        if _etag_matches(inm, etag):
            return _not_modified(etag)
    elif _not_modified_since(request.get_header('If-Modified-Since'), rendered_at):
        return _not_modified(etag)
    response.content_type = 'text/html; charset=utf-8'
    _public_headers(etag)
    response.set_header('Last-Modified', last_modified)
    keep_whole(generation)
    return body


def _shared_render(produce, signed_in, variant=False):
    """The page rendered as nobody (or, for a `variant`, as this reader with the
    personal parts marked): (segments, anonymous bytes, rendered_at,
    Last-Modified), or None when it is not one page for every reader (not a 200,
    or not cut cleanly at the markers). For an anonymous reader a page that does
    not exist raises its 404 here, before any 304 is considered, whatever
    validators they send (`If-None-Match: *`)."""
    from bottle import HTTPResponse

    from blog import header, sessions

    try:
        with sessions.as_anyone(variant):
            text = produce()
    except HTTPResponse:
        if signed_in:  # a draft its author may see, say: theirs to render
            return None
        raise
    segments = header.split(text) if response.status_code == 200 else None
    if segments is None:
        return None
    # The anonymous page, kept encoded with its date formatted: a hit only
    # copies references. A variant's page is only ever sent to its signed-in readers.
    anonymous = b'' if variant else header.join(segments, None).encode('utf-8')
    rendered_at = int(time.time())
    return (segments, anonymous, rendered_at,
            email.utils.formatdate(rendered_at, usegmt=True))


def keep_whole(generation=None, everyone=False):
    """Mark this anonymous 200 as the same for every reader without a session at
    `generation` (with `everyone`, for signed-in readers too: a feed): blog.front may
    answer the address with it before Bottle runs."""
    request.environ[FRONT_KEY] = request_generation() if generation is None else generation
    if everyone:
        request.environ[FRONT_EVERYONE] = True


def _public_headers(etag):
    response.set_header('ETag', etag)
    # Stored by browsers and shared caches, but revalidated each time; the page
    # differs for signed-in readers, who send a session cookie.
    response.set_header('Cache-Control', 'no-cache')
    response.set_header('Vary', 'Cookie')


def _not_modified(etag):
    response.status = 304
    _public_headers(etag)
    return ''
