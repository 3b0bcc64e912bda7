"""Markdown to safe HTML: markdown-it-py (CommonMark, raw HTML off) then nh3.

Rendering happens once, when a post is saved; pages show the stored HTML.

Two layers, so one mistake is not enough for script to reach a reader:
markdown-it-py escapes any raw HTML in the source and refuses `javascript:`,
`vbscript:`, `file:` and most `data:` link targets; nh3 (ammonia) then keeps only
an allowlist of tags, attributes and URL schemes. Headings are moved one level
down (`#` becomes <h2>), so the post's title stays the page's only <h1>.

markdown-it-py is pure Python and costs tens of microseconds per line or per
bracket: a 600,000-character body of `![[` takes about 15 s here. Long bodies
from the web are therefore rendered in a child process (`render_markdown_bounded`,
which runs `python -m blog.markdown`), where that time neither holds the server's
interpreter lock nor runs unbounded: the child has a CPU-time limit, at most
RENDER_SLOTS children run at once, and the request waits for none of them.
"""

import html
import logging
import os
import re
import signal
import subprocess  # nosec B404
import sys
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
RENDER_SECONDS = 10  # CPU seconds a child may use (its wall-clock limit is twice that)
# Children rendering at once. With waitress's 4 threads, 2 stay free for readers
# whatever authors save; a long save that finds both busy is asked to try again.
RENDER_SLOTS = 2
# As blog.render.ROOT, not imported from there: the child imports this module alone
# (no Bottle, no Jinja2), which keeps its start at ~0.15 s.
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PYTHON = sys.executable  # the child runs on the server's own interpreter

log = logging.getLogger(__name__)
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
    """A body that could not be turned into HTML (too slow, busy, or the renderer
    failed); the message is for the author."""


TOO_SLOW = ('The body takes too long to turn into HTML (over %d seconds of work). '
            'Simplify its Markdown, or split it into shorter posts.')
TOO_BIG = ('The body needs too much memory to turn into HTML. Simplify its Markdown, '
           'or split it into shorter posts.')
BUSY = 'Other long posts are being saved right now. Save again in a moment.'
FAILED = ('The body could not be turned into HTML (the error is in the server log). '
          'Try again; if it keeps failing, split it into shorter posts.')
CHILD_MEMORY = 1024 ** 3  # bytes of address space a child may use
_OUT_OF_MEMORY = 3  # the child's exit status when it ran out

_slots = threading.BoundedSemaphore(RENDER_SLOTS)


def render_markdown_bounded(source, cpu_seconds=None):
    """render_markdown(), with a body longer than INLINE_CHARS rendered in a child
    process limited to `cpu_seconds` of CPU (RENDER_SECONDS by default).

    Raises RenderError when the child runs out of time or fails, or when
    RENDER_SLOTS children are already running.
    """
    source = source or ''
    if len(source) <= INLINE_CHARS:
        return render_markdown(source)
    seconds = RENDER_SECONDS if cpu_seconds is None else cpu_seconds
    if not _slots.acquire(blocking=False):  # waiting would tie up a server thread
        log.warning('long body refused: %d renders running', RENDER_SLOTS)
        raise RenderError(BUSY)
    try:
        return _render_in_child(source, seconds)
    finally:
        _slots.release()


def _render_in_child(source, seconds):
    env = dict(os.environ)
    env['PYTHONPATH'] = os.pathsep.join(filter(None, [ROOT, env.get('PYTHONPATH')]))
    try:
        # A fixed argv (this module, our own interpreter), no shell.
        done = subprocess.run(  # noqa: S603  # nosec B603
            [PYTHON, '-m', 'blog.markdown', str(seconds), str(CHILD_MEMORY)], cwd=ROOT, env=env,
            input=source.encode('utf-8'), capture_output=True,
            timeout=2 * seconds + 5)  # the CPU limit acts first unless the machine is swamped
    except subprocess.TimeoutExpired:  # run() has killed the child
        log.warning('long body refused: no answer within %d s', 2 * seconds + 5)
        raise RenderError(TOO_SLOW % seconds) from None
    except (OSError, TypeError, ValueError):  # no interpreter, an unusable one, bad text
        log.exception('could not start the Markdown renderer')
        raise RenderError(FAILED) from None
    if done.returncode == 0:
        return done.stdout.decode('utf-8')
    if done.returncode == _OUT_OF_MEMORY:
        log.warning('long body refused: over %d MiB (%d characters)', CHILD_MEMORY >> 20,
                    len(source))
        raise RenderError(TOO_BIG)
    if done.returncode in (-signal.SIGXCPU, -signal.SIGKILL):  # the CPU limit (soft, then hard)
        log.warning('long body refused: over %d s of CPU (%d characters)', seconds,
                    len(source))
        raise RenderError(TOO_SLOW % seconds)
    log.error('the Markdown renderer exited with %s: %s', done.returncode,
              done.stderr.decode('utf-8', 'replace')[-2000:])
    raise RenderError(FAILED)


def _child_main(argv):
    """`python -m blog.markdown SECONDS BYTES`: Markdown on stdin, HTML on stdout, at
    most SECONDS of CPU (then the kernel stops it with SIGXCPU) and BYTES of memory."""
    import resource
    seconds, memory = int(argv[0]), int(argv[1])
    resource.setrlimit(resource.RLIMIT_CPU, (seconds, seconds + 1))
    # SIGXCPU's default action dumps core: never leave dumps of refused bodies around.
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    try:
        html_text = render_markdown(sys.stdin.buffer.read().decode('utf-8'))
        sys.stdout.buffer.write(html_text.encode('utf-8'))
        sys.stdout.buffer.flush()
    except MemoryError:
        # Wherever it ran out (rendering, encoding, writing), and without the normal
        # shutdown, whose own flush could fail again and change the exit status.
        os._exit(_OUT_OF_MEMORY)


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


if __name__ == '__main__':
    _child_main(sys.argv[1:])
