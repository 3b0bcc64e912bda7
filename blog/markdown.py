"""Markdown to safe HTML: markdown-it-py (CommonMark, raw HTML off) then nh3.

Rendering happens once, when a post is saved; pages show the stored HTML.

Two layers, so one mistake is not enough for script to reach a reader:
markdown-it-py escapes any raw HTML in the source and refuses `javascript:`,
`vbscript:`, `file:` and most `data:` link targets; nh3 (ammonia) then keeps only
an allowlist of tags, attributes and URL schemes. Headings are moved one level
down (`#` becomes <h2>), so the post's title stays the page's only <h1>.

markdown-it-py is pure Python and costs tens of microseconds per line or per
bracket: a 600,000-character body of `![[` takes about 15 s here. Long bodies
from the web are therefore rendered in a child process (`render_markdown_bounded`),
where that time neither holds the server's interpreter lock nor runs unbounded.
"""

import html
import multiprocessing
import re
import threading

import nh3
from markdown_it import MarkdownIt

_md = MarkdownIt('commonmark', {'html': False, 'linkify': False, 'typographer': False})
_md.enable('table').enable('strikethrough')

ALLOWED_TAGS = {
    'p', 'br', 'hr', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'strong', 'em', 'del', 's',
    'code', 'pre', 'blockquote', 'ul', 'ol', 'li', 'a', 'img',
    'table', 'thead', 'tbody', 'tr', 'th', 'td',
}
ALLOWED_ATTRIBUTES = {
    'a': {'href', 'title'},
    'img': {'src', 'alt', 'title'},
    'ol': {'start'},
    'code': {'class'},
}
URL_SCHEMES = {'http', 'https', 'mailto'}
# Fenced code blocks carry class="language-xyz"; nothing else gets a class.
_CODE_CLASS = re.compile(r'^language-[A-Za-z0-9_+#.-]{1,40}$')

EXCERPT_CHARS = 200  # the excerpt under each post in a list
EXCERPT_SOURCE_CHARS = 2000  # the start of a post's HTML is enough for an excerpt
# Bodies up to this long render in the request's own thread: at most ~0.5 s even for
# the slowest Markdown, and a few milliseconds for prose. Longer ones go to a child.
INLINE_CHARS = 20_000
RENDER_SECONDS = 10  # a child still rendering after this is killed
_PRE = re.compile(r'<pre\b.*?(?:</pre>|$)', re.S | re.I)
_HEADING = re.compile(r'<h([1-6])\b.*?(?:</h\1>|$)', re.S | re.I)
_TAG = re.compile(r'<(/?)([a-zA-Z0-9]*)[^>]*(?:>|$)')
_CUT_ENTITY = re.compile(r'&#?\w*$')
# Tags inside a line of text: dropped without a space ("*word*." stays "word.").
_INLINE = frozenset({'a', 'em', 'strong', 'code', 'del', 's', 'img', 'b', 'i', 'mark'})


def _filter_attribute(tag, name, value):
    if name == 'class':
        return value if tag == 'code' and _CODE_CLASS.match(value) else None
    return value


_cleaner = nh3.Cleaner(tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES,
                       attribute_filter=_filter_attribute, url_schemes=URL_SCHEMES,
                       link_rel='nofollow noopener noreferrer')


def render_markdown(source):
    """Markdown source to sanitized HTML (no script, no event handlers, no js: URLs)."""
    tokens = _md.parse(source or '')
    for token in tokens:
        if token.type in ('heading_open', 'heading_close'):
            token.tag = 'h%d' % min(6, int(token.tag[1]) + 1)
    html = _md.renderer.render(tokens, _md.options, {})
    return _cleaner.clean(html)


class RenderError(Exception):
    """A body that could not be turned into HTML (too slow, or the renderer died)."""


_context = {}
_context_lock = threading.Lock()


def _children():
    # A fork server: a clean single-threaded process, started on first use, that
    # forks each child with this module already imported (~20 ms a child, where
    # forking the threaded server itself would be unsafe).
    with _context_lock:
        if 'ctx' not in _context:
            ctx = multiprocessing.get_context('forkserver')
            ctx.set_forkserver_preload(['blog.markdown'])
            _context['ctx'] = ctx
        return _context['ctx']


def _render_into(conn, source):
    try:
        conn.send(render_markdown(source))
    finally:
        conn.close()


def render_markdown_bounded(source, timeout=None):
    """render_markdown(), with a body longer than INLINE_CHARS rendered in a child
    process that is killed after `timeout` seconds (RENDER_SECONDS by default).

    Raises RenderError, with a message for the author, when that happens.
    """
    source = source or ''
    if len(source) <= INLINE_CHARS:
        return render_markdown(source)
    timeout = RENDER_SECONDS if timeout is None else timeout
    ctx = _children()
    receiver, sender = ctx.Pipe(duplex=False)
    child = ctx.Process(target=_render_into, args=(sender, source), daemon=True)
    with receiver:
        try:
            child.start()
        finally:
            sender.close()  # the child has its own copy; ours would hide its exit
        try:
            if receiver.poll(timeout):
                try:
                    return receiver.recv()
                except EOFError:  # the child died without an answer
                    raise RenderError('The body could not be turned into HTML. Simplify '
                                      'its Markdown, or split it into shorter posts.') from None
            raise RenderError('The body takes too long to turn into HTML (over %g seconds). '
                              'Simplify its Markdown, or split it into shorter posts.'
                              % timeout)
        finally:
            if child.is_alive():
                child.kill()
            child.join()
            child.close()


def _plain_text(html_text):
    text = _PRE.sub(' ', html_text)
    text = _TAG.sub(_tag_gap, text)
    text = html.unescape(_CUT_ENTITY.sub('', text))
    return ' '.join(text.split())


def _tag_gap(match):
    return '' if match.group(2).lower() in _INLINE else ' '


def plain_excerpt(html_text, limit=EXCERPT_CHARS):
    """Plain text from the start of a post's sanitized HTML, for lists of posts and
    meta descriptions: code blocks, headings and markup dropped (headings are kept
    when they are all there is), entities decoded, cut at a word with '…'.

    Only the first EXCERPT_SOURCE_CHARS of the HTML are read (queries select just
    those), so a tag, entity or code block cut off at the end is dropped too.
    The result is plain text; templates escape it.
    """
    html_text = (html_text or '')[:EXCERPT_SOURCE_CHARS]
    text = _plain_text(_HEADING.sub(' ', html_text)) or _plain_text(html_text)
    if len(text) <= limit:
        return text
    cut = text[:limit + 1].rsplit(' ', 1)[0] or text[:limit]
    # Text of nothing but punctuation keeps its characters rather than becoming '…'.
    return (cut[:limit].rstrip(' .,;:-') or text[:limit]) + '…'
