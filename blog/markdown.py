"""Markdown to safe HTML: markdown-it-py (CommonMark, raw HTML off) then nh3.

Rendering happens once, when a post is saved; pages show the stored HTML.
"""

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


def render_markdown(source):
    """Markdown source to sanitized HTML (no script, no event handlers, no js: URLs)."""
    html = _md.render(source or '')
    return nh3.clean(html, tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES,
                     url_schemes={'http', 'https', 'mailto'},
                     link_rel='nofollow noopener noreferrer')
