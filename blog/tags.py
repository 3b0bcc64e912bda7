"""Tag pages: GET /tags/<tag>, the published posts carrying a tag, newest first.

These pages read the `post_tag` table that triggers keep in step with `post.tags`.
The rules for what a tag is, and the 301 for a tag typed in another form, are in
blog.tagging.
"""

from bottle import HTTPError

from blog import forms
from blog.cache import cached, cached_page
from blog.markdown import plain_excerpt
from blog.queries import readers
from blog.render import render
from blog.tagging import resolve_tag

PER_PAGE = 20


def _entries(tag, page):
    """One page of (post, excerpt) dicts and whether there is a next page."""
    rows = list(readers.tag_published_posts(tag, PER_PAGE + 1, (page - 1) * PER_PAGE))
    items = [{'post': post, 'excerpt': plain_excerpt(post.html)}
             for post in rows[:PER_PAGE]]
    return items, len(rows) > PER_PAGE


def _render(tag, page):
    items, has_next = cached(('tag-page', tag, page), lambda: _entries(tag, page))
    if not items:  # no published post has the tag, or the page is past the end
        raise HTTPError(404, 'No published post has the tag “%s”.' % tag if page == 1
                        else 'There is no such page.')
    return render('tags/show.html', tag=tag, items=items, page=page, has_next=has_next)


def show(tag):
    """GET /tags/<tag>: published posts with `tag`, newest first, 20 a page; whole
    pages cached for anonymous readers, with ETag/304 (`cached_page`)."""
    tag = resolve_tag(tag, 'tag', must_exist=False)  # an empty first page is the 404
    page = forms.page_number()
    return cached_page(('tag', tag, page), lambda: _render(tag, page))


def install(app):
    """Add this module's routes to `app`."""
    app.route('/tags/<tag>', 'GET', show, name='tag')
