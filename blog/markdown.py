"""Markdown to safe HTML: markdown-it-py (CommonMark, raw HTML off) then nh3.

Rendering happens once, when a post is saved; pages show the stored HTML.

Two layers, so one mistake is not enough for script to reach a reader:
markdown-it-py escapes any raw HTML in the source and refuses `javascript:`,
`vbscript:`, `file:` and most `data:` link targets; nh3 (ammonia) then keeps only
an allowlist of tags, attributes (some only with values of a fixed form) and URL
schemes.

Beyond CommonMark: tables, strikethrough, footnotes, task lists (disabled checkboxes,
each inside a <label> with its item's text), bare http(s) URLs made links, and
typographic quotes and dashes. Fenced code with a language Pygments knows is
highlighted here, as <span>s with Pygments' short class names (the colours are in
static/code.css, from code_css(): the CSP forbids inline styles), within bounds on
size and time (HIGHLIGHT_*); other code stays plain. Every <pre> can take keyboard
focus, so a code block that scrolls sideways can be scrolled without a mouse.
Headings start at <h2> (the post's title is the page's only <h1>) and never skip a
level: see _heading_levels().

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
import time

import nh3
from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml, unescapeAll
from mdit_py_plugins.footnote import footnote_plugin
from mdit_py_plugins.tasklists import tasklists_plugin
from pygments.lexers import find_lexer_class_by_name, get_all_lexers
from pygments.style import Style
from pygments.token import (
    STANDARD_TYPES,
    Comment,
    Error,
    Generic,
    Keyword,
    Literal,
    Name,
    Number,
    Operator,
    String,
    Token,
)

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

ALLOWED_TAGS = {
    'p', 'br', 'hr', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'strong', 'em', 'del', 's',
    'code', 'pre', 'blockquote', 'ul', 'ol', 'li', 'a', 'img',
    'table', 'thead', 'tbody', 'tr', 'th', 'td',
    'span', 'sup', 'section', 'label', 'input',  # highlighting, footnotes, task lists
}
# class, id and aria-label are allowed here and narrowed to fixed forms by
# _filter_attribute; ATTRIBUTE_VALUES and SET_ATTRIBUTES take exact values only.
ALLOWED_ATTRIBUTES = {
    '*': set(),  # nh3 would otherwise keep `lang` and `title` on every tag
    'a': {'href', 'title', 'id', 'class', 'aria-label'},
    'img': {'src', 'alt', 'title'},
    'ol': {'start', 'class'},
    'ul': {'class'},
    'li': {'id', 'class'},
    'code': {'class'},
    'pre': {'class'},
    'span': {'class'},
    'sup': {'class'},
    'section': {'class'},
    'hr': {'class'},
    'input': {'checked', 'disabled'},
}
# Every <pre> may take keyboard focus (a code block that scrolls sideways must be
# reachable without a mouse: axe's scrollable-region-focusable), and nothing else.
ATTRIBUTE_VALUES = {'pre': {'tabindex': {'0'}}}
# Whatever an <input> claimed to be, it leaves as a checkbox (disabled, as the plugin
# writes them, and checked keep only their own names as values). One attribute only:
# nh3 adds those it sets in its hash map's order, which changes from one process to
# the next, and the HTML of a body must not depend on which process rendered it.
SET_ATTRIBUTES = {'input': {'type': 'checkbox'}}
URL_SCHEMES = {'http', 'https', 'mailto'}
# Fenced code blocks carry class="language-xyz".
_CODE_CLASS = re.compile(r'^language-[A-Za-z0-9_+#.-]{1,40}$')
# Highlighted code: one of Pygments' short token class names ("k", "nf", "s2").
TOKEN_CLASSES = frozenset(name for name in STANDARD_TYPES.values() if name)
_SPAN_CLASS = re.compile('^(?:%s)$' % '|'.join(sorted(TOKEN_CLASSES)))
# The classes the footnote and task-list plugins write, tag by tag; no others.
_CLASSES = {
    'code': _CODE_CLASS.match,
    'span': _SPAN_CLASS.match,
    'pre': {'highlight'}.__contains__,
    'ul': {'contains-task-list'}.__contains__,
    'ol': {'contains-task-list', 'footnotes-list'}.__contains__,
    'li': {'task-list-item', 'footnote-item'}.__contains__,
    'section': {'footnotes'}.__contains__,
    'hr': {'footnotes-sep'}.__contains__,
    'sup': {'footnote-ref'}.__contains__,
    'a': {'footnote-backref'}.__contains__,
}
# Footnotes link both ways: <li id="fn1"> and <a id="fnref1"> (or "fnref1:2", its
# second reference); only those ids, so no body can name ids the page's own use.
_IDS = {
    'li': re.compile(r'^fn\d{1,6}$').match,
    'a': re.compile(r'^fnref\d{1,6}(?::\d{1,6})?$').match,
}
_BACKREF_LABEL = re.compile(r'^Back to reference \d{1,6}(?:-\d{1,6})?$')

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

# Highlighting costs time and HTML: Pygments lexes 200,000 to 2,800,000 characters a
# second (Python 460,000), and its spans make a block's HTML 2 to 6.6 times its code
# (C 2.1, Python 4, JavaScript 4.7, CSS 6.6) and dense code more (YAML of short keys,
# 17). So a body's code is highlighted only up to these bounds, and what is over them
# stays plain (escaped) code:
HIGHLIGHT_BLOCK_CHARS = 20_000  # a block over this (some 500 lines) stays plain
HIGHLIGHT_TOTAL_CHARS = 100_000  # the code highlighted in one body, in all
# A block whose HTML outgrows its code this many times stays plain (a short one may
# take as much as one of HIGHLIGHT_SHORT characters: `print(x)` has four spans), as
# HTML_FACTOR: so highlighted code alone never takes a body past html_limit(). Dense
# code goes over it: `x_1 = f(1)  # c` is 10 times, a list of numbers 13, `a,a,a` 24.
HIGHLIGHT_GROWTH = 10
HIGHLIGHT_SHORT = 40
# CPU a body's highlighting may take, in all. Well-behaved lexers need a fifth of this
# for HIGHLIGHT_TOTAL_CHARS; some are quadratic on long lines (Java, Thrift, systemd:
# 8,000 characters of "a a a" take 2.5 s; AutoIt, 13 s of blanks), and Pygments yields
# a token every few milliseconds even then, so the budget is checked between tokens
# and a block that runs out stays plain, as does the code after it.
HIGHLIGHT_SECONDS = 1.0
_CHECK_EVERY = 32  # tokens between two looks at the clock and the block's size

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


def _filter_attribute(tag, name, value):
    if name == 'class':
        allowed = _CLASSES.get(tag)
        return value if allowed and allowed(value) else None
    if name == 'id':
        allowed = _IDS.get(tag)
        return value if allowed and allowed(value) else None
    if name == 'aria-label':
        return value if tag == 'a' and _BACKREF_LABEL.match(value) else None
    if name in ('checked', 'disabled'):  # boolean attributes: `checked=x` is checked
        return name
    return value


_cleaner = nh3.Cleaner(tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES,
                       tag_attribute_values=ATTRIBUTE_VALUES,
                       set_tag_attribute_values=SET_ATTRIBUTES,
                       attribute_filter=_filter_attribute, url_schemes=URL_SCHEMES,
                       link_rel='nofollow noopener noreferrer')


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
    env['highlight'] = _highlight_state(highlight)
    _heading_levels(tokens)
    return _md.renderer.render(tokens, _md.options, env)


def _source_level(token):
    # From the markup, not the tag (which a previous render of the tokens set):
    # '#' to '######', or a setext underline ('=' for level 1, '-' for level 2).
    if token.markup.startswith('#'):
        return len(token.markup)
    return 1 if token.markup.startswith('=') else 2


def _heading_levels(tokens):
    """Give the headings of a body levels that start at <h2> (the title is the <h1>)
    and never skip one: the levels the source uses are ranked (its highest becomes
    h2, the next h3, ...), and no heading goes more than one level below the one
    before it (so `## a` then `#### b` is h2 then h3, and a first `###` is h2)."""
    opens = [token for token in tokens if token.type == 'heading_open']
    ranks = {level: rank for rank, level in
             enumerate(sorted({_source_level(token) for token in opens}), start=2)}
    previous, tag = 1, None
    for token in tokens:
        if token.type == 'heading_open':
            previous = min(ranks[_source_level(token)], previous + 1, 6)
            tag = token.tag = 'h%d' % previous
        elif token.type == 'heading_close':
            token.tag = tag


# --- code blocks --------------------------------------------------------------

# Pygments' own lexers by alias ("python", "py", "c++"); the names are looked up here
# rather than by Pygments, which would also try lexers other installed packages add.
# Only aliases the language class can carry ("ambienttalk/2" cannot), so that every
# highlighted block says its language.
_LEXER_ALIASES = frozenset(alias for _name, aliases, _files, _types
                           in get_all_lexers(plugins=False) for alias in aliases
                           if _CODE_CLASS.match('language-' + alias))
_lexer_classes = {}
_token_classes = {}


def _token_class(ttype):
    # Pygments' short class of a token type, from the nearest standard type (some
    # lexers make their own subtypes); whitespace needs no span.
    name = _token_classes.get(ttype)
    if name is None:
        standard = ttype
        while standard not in STANDARD_TYPES:
            standard = standard.parent
        name = _token_classes[ttype] = '' if STANDARD_TYPES[standard] == 'w' else (
            STANDARD_TYPES[standard])
    return name


def _highlight_state(highlight=True):
    # What one render of a body has spent on highlighting: code characters, CPU
    # seconds, blocks highlighted; `plain` turns it off.
    return {'plain': not highlight, 'chars': 0, 'seconds': 0.0, 'blocks': 0}


def _highlighted(code, language, state):
    # `code` as escaped HTML with Pygments' <span>s, or None when it stays plain: no
    # such lexer, or over a HIGHLIGHT_* bound (see there).
    alias = language.lower()
    if (state['plain'] or alias not in _LEXER_ALIASES
            or len(code) > HIGHLIGHT_BLOCK_CHARS
            or state['chars'] + len(code) > HIGHLIGHT_TOTAL_CHARS
            or state['seconds'] >= HIGHLIGHT_SECONDS):
        return None
    state['chars'] += len(code)
    start = time.process_time()
    try:
        spans = _spans(code, alias, start + HIGHLIGHT_SECONDS - state['seconds'])
    except MemoryError:
        raise  # the renderer child's own limit: it reports TOO_BIG
    except Exception:  # a lexer's bug costs this block its colours, not the save
        log.exception('Pygments failed on a %s block', alias)
        spans = None
    finally:
        state['seconds'] += time.process_time() - start
    state['blocks'] += spans is not None
    return spans


def _spans(code, alias, deadline):
    lexer_class = _lexer_classes.get(alias)
    if lexer_class is None:
        lexer_class = _lexer_classes[alias] = find_lexer_class_by_name(alias)
    # The code as it is: no newlines stripped at either end, none added.
    lexer = lexer_class(stripnl=False, ensurenl=False)
    most = HIGHLIGHT_GROWTH * max(len(code), HIGHLIGHT_SHORT)
    parts, texts, size = [], [], 0
    current, run = '', []

    def flush():
        text = escapeHtml(''.join(run))
        parts.append('<span class="%s">%s</span>' % (current, text) if current else text)
        return len(parts[-1])

    for count, (ttype, value) in enumerate(lexer.get_tokens(code), start=1):
        texts.append(value)
        name = _token_class(ttype)
        if name != current:  # a run of one class is one span
            if run:
                size += flush()
            current, run = name, []
        run.append(value)
        if count % _CHECK_EVERY == 0 and (size > most or time.process_time() > deadline):
            return None
    if run:
        size += flush()
    # A lexer that changed the text (one drops a leading BOM, another adds characters)
    # would show other code than the author's.
    if size > most or ''.join(texts) != code:
        return None
    return ''.join(parts)


def _fence(renderer, tokens, idx, options, env):
    # markdown-it-py's fence rule, with highlighting and a focusable <pre>.
    token = tokens[idx]
    info = unescapeAll(token.info).strip() if token.info else ''
    language = info.split(maxsplit=1)[0] if info else ''
    attributes = ' class="%s%s"' % (options.langPrefix, escapeHtml(language)) if (
        language) else ''
    state = env.setdefault('highlight', _highlight_state())  # _md.render() sets none
    spans = _highlighted(token.content, language, state) if language else None
    if spans is None:
        return '<pre tabindex="0"><code%s>%s</code></pre>\n' % (
            attributes, escapeHtml(token.content))
    return '<pre class="highlight" tabindex="0"><code%s>%s</code></pre>\n' % (
        attributes, spans)


def _code_block(renderer, tokens, idx, options, env):
    # An indented code block: never highlighted (it has no language), focusable.
    return '<pre tabindex="0"><code>%s</code></pre>\n' % escapeHtml(tokens[idx].content)


_md.add_render_rule('fence', _fence)
_md.add_render_rule('code_block', _code_block)


# --- footnotes ----------------------------------------------------------------

def _footnote_caption(renderer, tokens, idx, options, env):
    # "[1]" for every reference to the first note (the plugin writes "[1:1]" for its
    # second): the reader wants the note's number.
    return '[%d]' % (tokens[idx].meta['id'] + 1)


def _footnote_anchor(renderer, tokens, idx, options, env):
    # The plugin's link back from a note to its reference, named for screen readers
    # (its text, ↩, is read as "leftwards arrow with hook" or not at all).
    meta = tokens[idx].meta
    number, sub = meta['id'] + 1, meta['subId']
    target = '%d:%d' % (number, sub) if sub > 0 else str(number)
    name = '%d-%d' % (number, sub + 1) if sub > 0 else str(number)
    return (' <a href="#fnref%s" class="footnote-backref" aria-label="Back to reference '
            '%s">\u21a9\ufe0e</a>' % (target, name))


_md.add_render_rule('footnote_caption', _footnote_caption)
_md.add_render_rule('footnote_anchor', _footnote_anchor)


# --- code colours (static/code.css) -------------------------------------------

CODE_LIGHT_BACKGROUND = '#f6f8fa'  # a code block's background, light scheme
CODE_DARK_BACKGROUND = '#161b22'  # and under prefers-color-scheme: dark
CODE_CSS_SCOPE = '.post-body .highlight'
# What each kind of token looks like, as a role (its colour in each palette) and a
# font; token types not named here inherit from their parent, down to Token.
_ROLES = {
    Token: ('text', ''),
    Comment: ('comment', 'italic'),
    Comment.Preproc: ('keyword', 'noitalic'),
    Comment.PreprocFile: ('string', 'noitalic'),
    Keyword: ('keyword', ''),
    Keyword.Constant: ('constant', ''),
    Operator.Word: ('keyword', ''),
    Name.Attribute: ('constant', ''),
    Name.Builtin: ('variable', ''),
    Name.Builtin.Pseudo: ('constant', ''),
    Name.Class: ('variable', ''),
    Name.Constant: ('constant', ''),
    Name.Decorator: ('function', ''),
    Name.Entity: ('constant', ''),
    Name.Exception: ('variable', ''),
    Name.Function: ('function', ''),
    Name.Label: ('function', ''),
    Name.Tag: ('tag', ''),
    Name.Variable: ('variable', ''),
    Literal: ('constant', ''),
    String: ('string', ''),
    String.Escape: ('tag', ''),
    String.Regex: ('tag', ''),
    Number: ('constant', ''),
    Generic.Deleted: ('deleted', ''),
    Generic.Inserted: ('inserted', ''),
    Generic.Error: ('deleted', ''),
    Generic.Traceback: ('deleted', ''),
    Generic.Heading: ('constant', 'bold'),
    Generic.Subheading: ('function', 'bold'),
    Generic.Prompt: ('comment', ''),
    Generic.Output: ('comment', ''),
    Generic.Emph: (None, 'italic'),
    Generic.Strong: (None, 'bold'),
    Generic.EmphStrong: (None, 'bold italic'),
    Error: ('deleted', ''),
}
# GitHub's Primer colours, but the light comments (#6e7781, 4.3:1, darkened to the
# site's muted grey): each at least 4.5:1 on its background (WCAG AA), tested.
CODE_LIGHT_COLOURS = {
    'text': '#1f2328', 'comment': '#57606a', 'keyword': '#cf222e', 'constant': '#0550ae',
    'function': '#6639ba', 'variable': '#953800', 'string': '#0a3069', 'tag': '#116329',
    'deleted': '#82071e', 'inserted': '#116329',
}
CODE_DARK_COLOURS = {
    'text': '#e6edf3', 'comment': '#8b949e', 'keyword': '#ff7b72', 'constant': '#79c0ff',
    'function': '#d2a8ff', 'variable': '#ffa657', 'string': '#a5d6ff', 'tag': '#7ee787',
    'deleted': '#ffa198', 'inserted': '#7ee787',
}


def _styles(colours):
    return {ttype: ' '.join(filter(None, [font, colours.get(role)]))
            for ttype, (role, font) in _ROLES.items()}


class CodeLight(Style):
    """Pygments style of highlighted code on CODE_LIGHT_BACKGROUND (AA contrast)."""

    background_color = CODE_LIGHT_BACKGROUND
    styles = _styles(CODE_LIGHT_COLOURS)


class CodeDark(Style):
    """Pygments style of highlighted code on CODE_DARK_BACKGROUND (AA contrast)."""

    background_color = CODE_DARK_BACKGROUND
    styles = _styles(CODE_DARK_COLOURS)


_CSS_HEADER = '''/* Colours of highlighted code blocks (<pre class="highlight">, whose <span>s carry
   Pygments' short token classes), light and, for a dark system scheme, dark.
   Generated by blog.markdown.code_css() (python -m blog.markdown --css >
   static/code.css); a test keeps this file equal to it. Every colour meets WCAG AA
   (4.5:1) on its background, %s or %s. */
''' % (CODE_LIGHT_BACKGROUND, CODE_DARK_BACKGROUND)


def _token_rules(style, other):
    # {class: declarations} of the classes either style sets apart from its text, so
    # the dark rules override every light one (they share selectors).
    def looks(ttype, of):
        found = of.style_for_token(ttype)
        return found['color'], found['bold'], found['italic']
    rules = {}
    for ttype, name in sorted(STANDARD_TYPES.items(), key=lambda item: item[1]):
        if _token_class(ttype) != name or not name:  # whitespace and text get no span
            continue
        if looks(ttype, style) == looks(Token, style) and (
                looks(ttype, other) == looks(Token, other)):
            continue
        colour, bold, italic = looks(ttype, style)
        rules[name] = 'color: #%s;%s%s' % (colour, ' font-weight: bold;' if bold else '',
                                           ' font-style: italic;' if italic else '')
    return rules


def _css_block(style, other, indent):
    text = style.style_for_token(Token)['color']
    lines = ['%s%s { background: %s; color: #%s; }' % (indent, CODE_CSS_SCOPE,
                                                         style.background_color, text)]
    grouped = {}
    for name, declarations in _token_rules(style, other).items():
        grouped.setdefault(declarations, []).append(name)
    for declarations, names in grouped.items():
        selectors = (',\n' + indent).join('%s .%s' % (CODE_CSS_SCOPE, name)
                                          for name in names)
        lines.append('%s%s { %s }' % (indent, selectors, declarations))
    return '\n'.join(lines) + '\n'


def code_css():
    """The stylesheet static/code.css: the colours of highlighted code (CodeLight,
    and CodeDark under `prefers-color-scheme: dark`), by Pygments' short classes,
    within CODE_CSS_SCOPE. Plain CSS with no inline styles, as the CSP wants."""
    return (_CSS_HEADER + '\n' + _css_block(CodeLight, CodeDark, '')
            + '\n@media (prefers-color-scheme: dark) {\n'
            + _css_block(CodeDark, CodeLight, '  ') + '}\n')


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
    if sys.argv[1:] == ['--css']:  # python -m blog.markdown --css > static/code.css
        sys.stdout.write(code_css())
    else:
        _child_main(sys.argv[1:])
