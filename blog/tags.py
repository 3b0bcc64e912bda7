"""Tag pages: GET /tags/<tag>, the published posts carrying a tag, newest first.

Tags are stored normalised by the post editor (`blog.posts.normalize_tags`: lower
case, NFC, inner spaces as '-', only letters, digits and '-'), and these pages read
the `post_tag` table that triggers keep in step with `post.tags`. A tag typed in
another form in the URL (capitals, spaces) gets a permanent redirect (301) to its
normalised URL; text that cannot be a tag, or a tag no published post carries, is
a 404 (a draft's tags stay private).
"""

from urllib.parse import quote

from bottle import HTTPError, HTTPResponse, request, response

from blog import forms, posts, queries
from blog.cache import cached, cached_page
from blog.markdown import plain_excerpt
from blog.render import render

PER_PAGE = 20


def normalize_tag(raw):
    """The stored form of one tag typed in a URL (as the post editor stores it:
    lower case, NFC, inner spaces as '-'), or None when it cannot be a tag."""
    normalized, error = posts.normalize_tags(raw)
    if error or len(normalized) != 1:
        return None
    return normalized[0]


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


def resolve_tag(raw, suffix='', must_exist=True):
    """The normalised tag for a URL segment; redirects (301) a non-normalised one
    to `tag_path(tag) + suffix`, and 404s a tag no published post carries."""
    tag = normalize_tag(raw)
    if tag is None:
        raise HTTPError(404, 'No published post has that tag.')
    if tag != raw:
        redirect_permanently(tag_path(tag) + suffix)
    if must_exist and not queries.tag_exists(tag):
        raise HTTPError(404, 'No published post has the tag “%s”.' % tag)
    return tag


def _entries(tag, page):
    """One page of (post, excerpt) dicts and whether there is a next page."""
    rows = list(queries.tag_published_posts(tag, PER_PAGE + 1, (page - 1) * PER_PAGE))
    items = [{'post': post, 'excerpt': plain_excerpt(post.html)}
             for post in rows[:PER_PAGE]]
    return items, len(rows) > PER_PAGE


def _render(tag, page):
    items, has_next = cached(('tag-page', tag, page), lambda: _entries(tag, page))
    if not items:  # no published post has the tag, or the page is past the end
        raise HTTPError(404, 'No published post has the tag “%s”.' % tag if page == 1
                        else 'There is no such page.')
    return render('tags/show.html', tag=tag, tag_url=tag_path(tag), items=items, page=page,
                  has_next=has_next, tag_path=tag_path)


def show(tag):
    """GET /tags/<tag>: published posts with `tag`, newest first, 20 a page; whole
    pages cached for anonymous readers, with ETag/304 (`cached_page`)."""
    tag = resolve_tag(tag, must_exist=False)  # an empty first page is the 404
    page = forms.page_number()
    return cached_page(('tag', tag, page), lambda: _render(tag, page))


def install(app):
    """Add this module's routes to `app`."""
    app.route('/tags/<tag>', 'GET', show)
