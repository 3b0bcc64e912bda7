"""What HTML a post may hold: the nh3 (ammonia) allowlist blog.markdown cleans every
body's HTML with, after markdown-it-py (which already escapes raw HTML), so that one
mistake is not enough for script to reach a reader.

Tags, attributes and URL schemes are listed; class, id, aria-label, tabindex and the
checkbox's attributes are kept only in the fixed forms the renderer writes (Pygments'
token classes on <span>, footnote ids like "fn1", a disabled checkbox).
"""

import re

import nh3

from blog.highlight import CODE_CLASS, TOKEN_CLASSES

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
# Every <pre> and <table> may take keyboard focus (a code block or table that scrolls
# sideways must be reachable without a mouse: axe's scrollable-region-focusable), and
# nothing else.
ATTRIBUTE_VALUES = {'pre': {'tabindex': {'0'}}, 'table': {'tabindex': {'0'}}}
# Whatever an <input> claimed to be, it leaves as a checkbox (disabled, as the plugin
# writes them, and checked keep only their own names as values). One attribute only:
# nh3 adds those it sets in its hash map's order, which changes from one process to
# the next, and the HTML of a body must not depend on which process rendered it.
SET_ATTRIBUTES = {'input': {'type': 'checkbox'}}
URL_SCHEMES = {'http', 'https', 'mailto'}
# Highlighted code: one of Pygments' short token class names ("k", "nf", "s2").
_SPAN_CLASS = re.compile('^(?:%s)$' % '|'.join(sorted(TOKEN_CLASSES)))
# The classes the footnote and task-list plugins write, tag by tag; no others.
_CLASSES = {
    'code': CODE_CLASS.match,
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


# What blog.markdown passes every body's HTML through.
cleaner = nh3.Cleaner(tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES,
                      tag_attribute_values=ATTRIBUTE_VALUES,
                      set_tag_attribute_values=SET_ATTRIBUTES,
                      attribute_filter=_filter_attribute, url_schemes=URL_SCHEMES,
                      link_rel='nofollow noopener noreferrer')
