"""Markdown to safe HTML: markdown-it-py (CommonMark, raw HTML off) then nh3.

Rendering happens once, when a post is saved; pages show the stored HTML.

Two layers, so one mistake is not enough for script to reach a reader:
markdown-it-py escapes any raw HTML in the source and refuses `javascript:`,
`vbscript:`, `file:` and most `data:` link targets; nh3 (ammonia) then keeps only
an allowlist of tags, attributes and URL schemes. Headings are moved one level
down (`#` becomes <h2>), so the post's title stays the page's only <h1>.
"""

import re

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup

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


def plain_excerpt(html, limit=160):
    """Plain text from sanitized post HTML, cut at a word boundary near `limit`.

    For meta descriptions and summaries: tags dropped, entities decoded,
    whitespace collapsed. The caller's template escapes it again.
    """
    # Markup only to reach striptags(); the result is a plain str, never marked safe.
    text = Markup(html or '').striptags()  # noqa: S704 (result: plain str)  # nosec B704
    if len(text) <= limit:
        return text
    cut = text[:limit + 1].rsplit(' ', 1)[0] if ' ' in text[:limit + 1] else text[:limit]
    return cut[:limit].rstrip(' ,;:.-') + '…'
