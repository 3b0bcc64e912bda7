"""Fenced code blocks for blog.markdown: highlighted with Pygments, within bounds,
as <span>s with Pygments' short token classes; and their colours, static/code.css.

Only a language Pygments has a lexer for is highlighted (by its alias: ```python,
```js); any other, and a block without one, is plain escaped code, never guessed.
Classes, not inline styles: the site's CSP forbids those. Every <pre> can take
keyboard focus, so a block that scrolls sideways can be scrolled without a mouse.
"""

import logging
import re
import sys
import time

from markdown_it.common.utils import escapeHtml, unescapeAll
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

log = logging.getLogger(__name__)
# Fenced code blocks carry class="language-xyz".
CODE_CLASS = re.compile(r'^language-[A-Za-z0-9_+#.-]{1,40}$')
# Highlighted code: one of Pygments' short token class names ("k", "nf", "s2").
TOKEN_CLASSES = frozenset(name for name in STANDARD_TYPES.values() if name)

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


# Pygments' own lexers by alias ("python", "py", "c++"); the names are looked up here
# rather than by Pygments, which would also try lexers other installed packages add.
# Only aliases the language class can carry ("ambienttalk/2" cannot), so that every
# highlighted block says its language.
_LEXER_ALIASES = frozenset(alias for _name, aliases, _files, _types
                           in get_all_lexers(plugins=False) for alias in aliases
                           if CODE_CLASS.match('language-' + alias))
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


def new_state(highlight=True):
    """A new tally of what one render of a body spends on highlighting (code
    characters, CPU seconds, blocks highlighted), kept in the render's env; with
    `highlight` false, every block stays plain."""
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


def fence(renderer, tokens, idx, options, env):
    """markdown-it-py's render rule for fenced code, with highlighting (within the
    HIGHLIGHT_* bounds) and a focusable <pre>."""
    token = tokens[idx]
    info = unescapeAll(token.info).strip() if token.info else ''
    language = info.split(maxsplit=1)[0] if info else ''
    attributes = ' class="%s%s"' % (options.langPrefix, escapeHtml(language)) if (
        language) else ''
    state = env.setdefault('highlight', new_state())  # _md.render() sets none
    spans = _highlighted(token.content, language, state) if language else None
    if spans is None:
        return '<pre tabindex="0"><code%s>%s</code></pre>\n' % (
            attributes, escapeHtml(token.content))
    return '<pre class="highlight" tabindex="0"><code%s>%s</code></pre>\n' % (
        attributes, spans)


def code_block(renderer, tokens, idx, options, env):
    """markdown-it-py's render rule for indented code: never highlighted (it has no
    language), in a focusable <pre>."""
    return '<pre tabindex="0"><code>%s</code></pre>\n' % escapeHtml(tokens[idx].content)


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
   Generated by blog.highlight.code_css() (python -m blog.highlight >
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


if __name__ == '__main__':  # python -m blog.highlight > static/code.css
    sys.stdout.write(code_css())
