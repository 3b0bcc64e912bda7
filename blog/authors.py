"""Author pages: /authors (everyone who has published, with their 3 latest posts)
and /authors/<username> (profile and published posts).

"Authors" on /authors are users with at least one published post, A to Z by the
name pages show (display name, else username). Their 3 latest posts come from the
window-function recipe (RANK() over each author's posts, filtered outside),
run for the 20 authors of the page only. Deactivated users are still shown, like
their posts (deactivation hides nothing they wrote). A profile exists for every
user, published or not; unknown usernames are 404, and a username typed with
capitals gets a 301 to the lower-case URL.
"""

from bottle import HTTPError

from blog import forms
from blog.cache import cached, cached_page
from blog.markdown import plain_excerpt
from blog.queries import listings
from blog.render import render
from blog.responses import redirect_permanently
from blog.urls import url

PER_PAGE = 20
LATEST = 3  # posts shown for each author on /authors


def authors_entries(page, per_page=None):
    """(authors, has_next) for /authors page `page`: dicts with their latest posts."""
    per_page = per_page or PER_PAGE
    rows = list(listings.authors_page((page - 1) * per_page, per_page + 1))
    has_next = len(rows) > per_page
    rows = rows[:per_page]
    ids = [row.id for row in rows]
    latest = {author_id: [] for author_id in ids}
    counts = {}
    if ids:
        for post in listings.top_posts_per_author(ids, LATEST):
            latest[post.author_id].append({'id': post.id, 'slug': post.slug,
                                           'title': post.title,
                                           'published_at': post.published_at})
        counts = listings.published_counts(ids)
    authors = [{'username': row.username, 'name': row.name, 'posts': latest[row.id],
                'count': counts.get(row.id, 0)} for row in rows]
    return authors, has_next


def index():
    """GET /authors: every author with their latest posts, 20 a page."""
    page = forms.page_number()
    return cached_page(('authors', page), lambda: _render_index(page))


def _render_index(page):
    authors, has_next = cached(('authors', page), lambda: authors_entries(page))
    if page > 1 and not authors:
        raise HTTPError(404, 'There is no page %d.' % page)
    return render('authors/index.html', authors=authors, page=page, has_next=has_next)


def profile_entries(username, page, per_page=None):
    """(author, count, posts, has_next) for /authors/<username>, or None."""
    per_page = per_page or PER_PAGE
    user = listings.author_by_username(username)
    if user is None:
        return None
    author = {'username': user.username, 'name': user.name, 'bio': user.bio,
              'is_active': user.is_active}
    count = listings.published_counts([user.id]).get(user.id, 0)
    rows = list(listings.author_posts(user.id, (page - 1) * per_page, per_page + 1))
    posts = [{'id': row.id, 'slug': row.slug, 'title': row.title,
              'published_at': row.published_at, 'excerpt': plain_excerpt(row.html_head)}
             for row in rows[:per_page]]
    return author, count, posts, len(rows) > per_page


def show(username):
    """GET /authors/<username>: profile and published posts, 20 a page."""
    page = forms.page_number()
    if forms.username_error(username):
        # Usernames are lower-case: /authors/Alice is a permanent redirect to
        # /authors/alice when that user exists (as for their feed).
        wanted = forms.normalize_username(username)
        if (wanted != username and not forms.username_error(wanted)
                and listings.author_by_username(wanted) is not None):
            redirect_permanently(url('author', username=wanted))
        raise HTTPError(404, 'There is no author called %s.' % username)
    return cached_page(('author', username, page), lambda: _render_show(username, page))


def _render_show(username, page):
    found = cached(('author', username, page), lambda: profile_entries(username, page))
    if found is None:
        raise HTTPError(404, 'There is no author called %s.' % username)
    author, count, posts, has_next = found
    if page > 1 and not posts:
        raise HTTPError(404, 'There is no page %d.' % page)
    return render('authors/show.html', author=author, count=count, posts=posts, page=page,
                  has_next=has_next)


def install(app):
    """Add this module's routes to `app`."""
    app.route('/authors', 'GET', index, name='authors')
    app.route('/authors/<username>', 'GET', show, name='author')
