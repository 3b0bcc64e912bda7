"""Markdown to safe HTML: markdown-it-py (CommonMark, raw HTML off) then nh3.

Rendering happens once, when a post is saved; pages show the stored HTML.

Two layers, so one mistake is not enough for script to reach a reader:
markdown-it-py escapes any raw HTML in the source and refuses `javascript:`,
`vbscript:`, `file:` and most `data:` link targets; nh3 then keeps only the
allowlist in blog.sanitize.

Beyond CommonMark: tables, strikethrough, footnotes, task lists (disabled checkboxes,
each in a <label> with its item's text), bare http(s) URLs made links, typographic
quotes and dashes; fenced code highlighted by blog.highlight; headings from <h2> (the
title is the page's only <h1>) with no level skipped (blog.markup).

markdown-it-py is pure Python and costs tens of microseconds per line or per
bracket (a 600,000-character body of `![[` takes about 15 s here), and tables cost
what their padded cells cost, not what their source does (19,000 characters of wide
tables took 22 s, 1.1 GB and made 8.6 MB of HTML). So what authors save is rendered
by `render_markdown_bounded`, always in a child process (`python -m blog.markdown`),
where that time neither holds the server's interpreter lock nor runs unbounded: each
body gets RENDER_SECONDS of CPU, the child CHILD_MEMORY bytes, tables at most
TABLE_COLUMNS columns and TABLE_CELLS cells, the HTML at most html_limit() characters;
at most RENDER_SLOTS children run at once. The children stay between saves (a short
body costs milliseconds); one that broke a limit is stopped and replaced when needed.
`render_markdown` itself is unbounded, for callers that bound their input otherwise.
"""

import atexit
import html
import json
import logging
import math
import os
import re
import signal
import subprocess  # nosec B404
import sys
import threading

from markdown_it import MarkdownIt
from mdit_py_plugins.footnote import footnote_plugin
from mdit_py_plugins.tasklists import tasklists_plugin

from blog import markup
from blog.highlight import code_block, fence
from blog.highlight import new_state as new_highlight_state
from blog.sanitize import cleaner as _cleaner

_md = MarkdownIt('commonmark', {'html': False, 'linkify': True, 'typographer': True})
_md.enable(['table', 'strikethrough', 'linkify', 'replacements', 'smartquotes'])
# Only URLs written with their scheme become links: linkify-it's fuzzy matching would
# also link file names whose extension is a country's domain (setup.py, README.md),
# and ftp: links (which nh3 strips) and //host links would come out as dead anchors.
_md.linkify.set({'fuzzy_link': False, 'fuzzy_email': False})
_md.linkify.add('ftp:', None).add('//', None)
# label=True puts each checkbox and its item's text in one <label>, which gives the
# checkbox an accessible name (a bare one fails axe's `label` rule). Not label_after:
# it gives every checkbox a random id and copies the source text into the label.
# The plugin looks for each item's list by walking back over every item before it:
# 2,000 items take 0.75 s, 5,000 take 4 s, and RENDER_SECONDS refuses some 7,000.
_md.use(footnote_plugin).use(tasklists_plugin, label=True)


EXCERPT_CHARS = 200  # the excerpt under each post in a list
EXCERPT_SOURCE_CHARS = 2000  # the start of a post's HTML is enough for an excerpt
# Bodies up to this long wait a moment for a free renderer; longer ones (which may
# hold one for seconds) are refused at once when all are busy.
INLINE_CHARS = 20_000
RENDER_SECONDS = 10  # CPU seconds a body may use (its wall-clock limit is twice that)
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
# Footnotes in an excerpt: a reference's "[1]" would clutter the sentence, and the
# notes themselves come after the post's text.
_FOOTNOTE_REF = re.compile(r'<sup\b.*?(?:</sup>|$)', re.S | re.I)
_FOOTNOTES = re.compile(r'<section\b.*?(?:</section>|$)', re.S | re.I)
_TAG = re.compile(r'<(/?)([a-zA-Z0-9]*)[^>]*(?:>|$)')
_CUT_ENTITY = re.compile(r'&#?\w*$')
# Tags inside a line of text: dropped without a space ("*word*." stays "word.").
_INLINE = frozenset({'a', 'em', 'strong', 'code', 'del', 's', 'img', 'b', 'i', 'mark',
                     'span', 'label', 'input'})


def render_markdown(source):
    """Markdown source to sanitized HTML (no script, no event handlers, no js: URLs),
    in this process and without limits: see render_markdown_bounded()."""
    env = {}
    tokens = _md.parse(source or '', env)
    return _cleaner.clean(_render_tokens(tokens, env))


def _render_tokens(tokens, env=None, highlight=True):
    # The HTML before nh3; code blocks highlighted within the HIGHLIGHT_* bounds, or
    # none of them when `highlight` is false.
    env = {} if env is None else env
    env['highlight'] = new_highlight_state(highlight)
    markup.heading_levels(tokens)
    markup.focusable_tables(tokens)
    return _md.renderer.render(tokens, _md.options, env)


_md.add_render_rule('fence', fence)
_md.add_render_rule('code_block', code_block)
_md.add_render_rule('footnote_caption', markup.footnote_caption)
_md.add_render_rule('footnote_anchor', markup.footnote_anchor)


class RenderError(Exception):
    """A body that could not be turned into HTML (too slow, too big, busy, or the
    renderer failed); the message is for the author."""


TOO_SLOW = ('The body takes too long to turn into HTML (over %d seconds of work). '
            'Simplify its Markdown, or split it into shorter posts.')
TOO_BIG = ('The body needs too much memory to turn into HTML. Simplify its Markdown, '
           'or split it into shorter posts.')
BUSY = 'Other long posts are being saved right now. Save again in a moment.'
FAILED = ('The body could not be turned into HTML (the error is in the server log). '
          'Try again; if it keeps failing, split it into shorter posts.')
TABLE_TOO_WIDE = ('A table in the body has %d columns; at most %d are allowed. '
                  'Split it into narrower tables.')
TABLE_TOO_BIG = ('The tables in the body have over %d cells in all (every row counts as '
                 'wide as its header). Split them up, or drop some rows or columns.')
HTML_TOO_BIG = ('The body would turn into %d characters of HTML, over the limit of %d for '
                'a body this long. Simplify its Markdown, or split it into shorter posts.')
CHILD_MEMORY = 1024 ** 3  # bytes of address space a renderer child may use
_OUT_OF_MEMORY = 3  # the child's exit status when it ran out

# Tables are the one construct whose output grows with no relation to the source: every
# body row is padded to the header's width, so 19,000 characters of 181-column headers
# and one-letter rows made 8.6 MB of HTML in 22 s and 1.1 GB. Counted per table as
# markdown-it-py builds it (header width, and rows x columns in all).
TABLE_COLUMNS = 64
TABLE_CELLS = 50_000  # about a second of work; a 64-column table of 780 rows
# The HTML a body may become: HTML_FACTOR times its length plus HTML_SLACK, and never
# more than HTML_MAX (prose is about 1.1x, a list of one-letter items 3x, a page of
# bare links about 10x with the rel attribute nh3 adds).
HTML_FACTOR = 10
HTML_SLACK = 10_000
HTML_MAX = 2_000_000
# A short body waits this long for a free renderer (they answer in milliseconds unless
# two slow saves hold both); a long one does not wait (it would tie up a server thread).
SHORT_WAIT_SECONDS = 2

_slots = threading.BoundedSemaphore(RENDER_SLOTS)


def html_limit(source_chars):
    """The most characters of HTML a body of `source_chars` characters may become."""
    return min(HTML_FACTOR * source_chars + HTML_SLACK, HTML_MAX)


def _bounded_table(state, start_line, end_line, silent):
    # markdown-it-py's own table rule, then (only for bounded renders) a count of what
    # it built; at worst one table (its cap: 65,536 padded cells) is built in vain.
    first = len(state.tokens)
    found = _table_rule(state, start_line, end_line, silent)
    if found and not silent and state.env.get('bounded'):
        columns = cells = 0
        for token in state.tokens[first:]:
            if token.type == 'th_open':
                columns += 1
            elif token.type == 'td_open':
                cells += 1
        if columns > TABLE_COLUMNS:
            raise RenderError(TABLE_TOO_WIDE % (columns, TABLE_COLUMNS))
        state.env['cells'] = state.env.get('cells', 0) + columns + cells
        if state.env['cells'] > TABLE_CELLS:
            raise RenderError(TABLE_TOO_BIG % TABLE_CELLS)
    return found


_table_rule = _md.block.ruler.__rules__[_md.block.ruler.__find__('table')].fn
_md.block.ruler.at('table', _bounded_table, {'alt': ['paragraph', 'reference']})


def render_checked(source, max_chars):
    """render_markdown(), refusing (RenderError) tables over TABLE_COLUMNS columns or
    TABLE_CELLS cells, and HTML longer than `max_chars`. What the renderer child runs.

    Highlighting never costs a body its save: HTML that is too long with highlighted
    code is made again with all code plain, and only that is refused when too long."""
    env = {'bounded': True}
    tokens = _md.parse(source or '', env)
    try:
        return _checked_html(tokens, env, max_chars, highlight=True)
    except RenderError:
        if not env['highlight']['blocks']:
            raise
    log.info('a body too long highlighted (over %d characters): its code left plain',
             max_chars)
    return _checked_html(tokens, env, max_chars, highlight=False)


def _checked_html(tokens, env, max_chars, highlight):
    html_text = _render_tokens(tokens, env, highlight)
    if len(html_text) > max_chars:  # before nh3, which would cost as much again
        raise RenderError(HTML_TOO_BIG % (len(html_text), max_chars))
    html_text = _cleaner.clean(html_text)
    if len(html_text) > max_chars:  # nh3 adds rel="..." to every link
        raise RenderError(HTML_TOO_BIG % (len(html_text), max_chars))
    return html_text


def render_markdown_bounded(source, cpu_seconds=None):
    """render_markdown() for what authors save, every body in a renderer child: at most
    `cpu_seconds` of CPU (RENDER_SECONDS by default) and CHILD_MEMORY bytes, tables
    bounded (TABLE_COLUMNS, TABLE_CELLS) and the HTML at most html_limit() long.

    The children live on between saves (started when first needed, again after one
    is stopped), so a short body costs milliseconds. Raises RenderError when a limit
    is passed, the renderer fails, or all RENDER_SLOTS renderers are busy.
    """
    source = source or ''
    seconds = RENDER_SECONDS if cpu_seconds is None else cpu_seconds
    if len(source) > INLINE_CHARS:
        free = _slots.acquire(blocking=False)
    else:
        free = _slots.acquire(timeout=SHORT_WAIT_SECONDS)
    if not free:
        log.warning('body refused: %d renders running', RENDER_SLOTS)
        raise RenderError(BUSY)
    try:
        worker = _take_worker()
        try:
            return worker.render(source, seconds, html_limit(len(source)))
        finally:
            if worker.process.poll() is None:  # it answered (HTML or a refusal): kept
                _idle.append(worker)
    finally:
        _slots.release()


_idle = []  # renderer children waiting for a body; list.pop/append are atomic


def _take_worker():
    while True:
        try:
            worker = _idle.pop()
        except IndexError:
            return _Worker()
        if worker.key == (PYTHON, CHILD_MEMORY) and worker.process.poll() is None:
            return worker
        worker.stop()  # settings changed (tests), or it died while idle


def stop_workers():
    """Stop every idle renderer child (at exit, and when tests change the settings)."""
    while _idle:
        _idle.pop().stop()


atexit.register(stop_workers)


class _Worker:
    """One renderer child, `python -m blog.markdown BYTES`: a JSON line per body in,
    a JSON line per answer out."""

    def __init__(self):
        self.key = (PYTHON, CHILD_MEMORY)
        env = dict(os.environ)
        env['PYTHONPATH'] = os.pathsep.join(filter(None, [ROOT, env.get('PYTHONPATH')]))
        try:
            # A fixed argv (this module, our own interpreter), no shell; stderr goes to
            # the server's log.
            self.process = subprocess.Popen(  # noqa: S603  # nosec B603
                [PYTHON, '-m', 'blog.markdown', str(CHILD_MEMORY)], cwd=ROOT, env=env,
                stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        except (OSError, ValueError):  # no interpreter, an unusable one
            log.exception('could not start the Markdown renderer')
            raise RenderError(FAILED) from None

    def render(self, source, seconds, max_chars):
        """The HTML for `source`, or RenderError (the child is stopped when it broke)."""
        request = json.dumps({'source': source, 'seconds': seconds, 'max_chars': max_chars})
        # The CPU limit acts first unless the machine is swamped; this is the backstop.
        timer = threading.Timer(2 * seconds + 5, self.process.kill)
        timer.start()
        try:
            self.process.stdin.write(request.encode('utf-8') + b'\n')
            self.process.stdin.flush()
            line = self.process.stdout.readline()
        except OSError:  # it died before reading everything
            line = b''
        finally:
            timer.cancel()
        if line:
            answer = json.loads(line)
            if 'html' in answer:
                return answer['html']
            if 'error' in answer:
                raise RenderError(answer['error'])
        status = self.stop()
        if status == _OUT_OF_MEMORY:
            log.warning('body refused: over %d MiB (%d characters)', CHILD_MEMORY >> 20,
                        len(source))
            raise RenderError(TOO_BIG)
        if status in (-signal.SIGXCPU, -signal.SIGKILL):  # the CPU limit, or the timer
            log.warning('body refused: over %d s of CPU (%d characters)', seconds,
                        len(source))
            raise RenderError(TOO_SLOW % seconds)
        log.error('the Markdown renderer exited with %s', status)
        raise RenderError(FAILED)

    def stop(self):
        """Kill the child (if still running) and reap it; its exit status."""
        if self.process.poll() is None:
            self.process.kill()
        status = self.process.wait()
        for pipe in (self.process.stdin, self.process.stdout):
            try:
                pipe.close()
            except OSError:  # a write it never read
                pass
        return status


def _child_main(argv):
    """`python -m blog.markdown BYTES`: the renderer child. At most BYTES of memory;
    per body (a JSON line on stdin: source, seconds, max_chars) at most `seconds` more
    CPU (then the kernel stops it with SIGXCPU); a JSON line back with html or error."""
    import resource
    memory = int(argv[0])
    # SIGXCPU's default action dumps core: never leave dumps of refused bodies around.
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    hard = resource.getrlimit(resource.RLIMIT_CPU)[1]  # kept: a lowered one stays lowered
    try:
        for line in sys.stdin.buffer:
            request = json.loads(line)
            usage = resource.getrusage(resource.RUSAGE_SELF)
            # RLIMIT_CPU counts the process's whole life: allow `seconds` from now.
            soft = math.ceil(usage.ru_utime + usage.ru_stime) + int(request['seconds'])
            resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))
            try:
                answer = {'html': render_checked(request['source'], request['max_chars'])}
            except RenderError as error:
                answer = {'error': str(error)}
            except SystemError:
                # Out of memory, CPython 3.11 now and then loses the MemoryError while
                # unwinding and raises "error return without exception set" instead
                # (about 1 body in 10 of the test's 600,000-character list).
                peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
                if peak > memory // 2:
                    os._exit(_OUT_OF_MEMORY)
                raise
            sys.stdout.buffer.write(json.dumps(answer).encode('utf-8') + b'\n')
            sys.stdout.buffer.flush()
    except MemoryError:
        # Wherever it ran out (rendering, encoding, writing), and without the normal
        # shutdown, whose own flush could fail again and change the exit status.
        os._exit(_OUT_OF_MEMORY)


def _plain_text(html_text):
    text = _PRE.sub(' ', html_text)
    text = _FOOTNOTES.sub(' ', _FOOTNOTE_REF.sub('', text))
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
