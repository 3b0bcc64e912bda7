"""Tag pages: GET /tags/<tag>, the published posts carrying a tag, newest first.

Tags are stored normalised (lower case, see `blog.posts.normalize_tags`), and the
`post_tag` table, kept in step with `post.tags` by triggers, is what these pages
read. A tag typed with capitals or surrounding spaces in the URL is answered
with a permanent redirect (301) to its normalised URL; a tag that no published
post carries is a 404 (a draft's tags stay private).
"""

import html
import re
from urllib.parse import quote

import nh3
from bottle import HTTPError, HTTPResponse, request, response

from blog import forms, queries
from blog.render import render

PER_PAGE = 20
EXCERPT_CHARS = 240


def normalize_tag(raw):
    """The stored form of a tag typed in a URL: trimmed and lower-cased."""
    return raw.strip().lower()


def tag_path(tag):
    """The site path of a tag's page (the tag percent-encoded)."""
    return '/tags/' + quote(tag, safe='')


def redirect_permanently(path):
    """Raise a 301 to a same-site path (relative Location, query string kept)."""
    if request.query_string:
        path += '?' + request.query_string
    res = response.copy(cls=HTTPResponse)
    res.status = 301
    res.body = ''
    res.set_header('Location', path)
    raise res


def resolve_tag(raw, suffix=''):
    """The normalised tag for a URL segment; redirects (301) a non-normalised one
    to `tag_path(tag) + suffix`, and 404s a tag no published post carries."""
    tag = normalize_tag(raw)
    if not tag or len(tag) > 40:
        raise HTTPError(404, 'No published post has that tag.')
    if tag != raw:
        redirect_permanently(tag_path(tag) + suffix)
    if not queries.tag_exists(tag):
        raise HTTPError(404, 'No published post has the tag “%s”.' % tag)
    return tag


_SPACE = re.compile(r'\s+')


def excerpt(post_html, limit=EXCERPT_CHARS):
    """Plain text from a post's sanitized HTML, cut at a word near `limit`."""
    text = _SPACE.sub(' ', html.unescape(nh3.clean(post_html or '', tags=set()))).strip()
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(' ', 1)[0] or text[:limit]
    return cut.rstrip(' .,;:') + '…'


def show(tag):
    """GET /tags/<tag>: published posts with `tag`, newest first, 20 a page."""
    tag = resolve_tag(tag)
    page = forms.page_number()
    if page is None:
        raise HTTPError(404, 'There is no such page.')
    rows = list(queries.tag_published_posts(tag)
                .limit(PER_PAGE + 1)
                .offset((page - 1) * PER_PAGE))
    if not rows and page > 1:
        raise HTTPError(404, 'There is no such page.')
    posts = [{'post': post, 'excerpt': excerpt(post.html)} for post in rows[:PER_PAGE]]
    return render('tags/show.html', tag=tag, tag_url=tag_path(tag), posts=posts, page=page,
                  has_next=len(rows) > PER_PAGE, tag_path=tag_path)


def install(app):
    """Add this module's routes to `app`."""
    app.route('/tags/<tag>', 'GET', show)
