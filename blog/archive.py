"""The archive: GET /archive, every published post, newest first, 20 a page.

The homepage shows each author's latest post; the archive is the whole record, for
readers who want everything in order. A page's ids come from one walk of the partial
index post_published (`readers.archive_posts`): at 1,000,000 posts the last page,
50,000, walks every entry (benchmarks/README.md), which is still one bounded request.
Pages are cached per generation, and anonymous readers get whole pages and 304s, as
on the homepage.
"""

from bottle import HTTPError

from blog import forms
from blog.cache import cached, cached_page
from blog.queries import readers
from blog.render import post_entry, render

PER_PAGE = 20


def archive_entries(page):
    """(entries, has_next) for archive `page`: plain dicts for the template."""
    rows = list(readers.archive_posts(PER_PAGE + 1, (page - 1) * PER_PAGE))
    return [post_entry(post) for post in rows[:PER_PAGE]], len(rows) > PER_PAGE


def _render(page):
    entries, has_next = cached(('archive', page), lambda: archive_entries(page))
    if page > 1 and not entries:
        raise HTTPError(404, 'There is no page %d.' % page)
    return render('archive/index.html', items=entries, page=page, has_next=has_next)


def index():
    """GET /archive: every published post, newest first."""
    page = forms.page_number()
    return cached_page(('archive', page), lambda: _render(page))


def install(app):
    """Add this module's routes to `app`."""
    app.route('/archive', 'GET', index, name='archive')
