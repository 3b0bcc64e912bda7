"""The homepage: each author's latest published post, newest first, 20 a page.

"Latest" is the latest `published_at` (ties: the higher id); editing never changes
it, so an edit never moves a post to the front. The entries come from the GROUP
BY/HAVING shortcut (`blog.queries.listings.latest_per_author`) run over a window of the
newest published posts: every author with a post in the window gets their true
latest date, and all of them rank ahead of authors without one, so when the
window yields enough authors for the page it is exactly the page a scan of every
post would give. The window starts at a few thousand posts and grows eightfold
until it yields the page. A deep page (whose window would pass 20,000 posts) instead
walks the ordering that the shortcut seeded and that triggers keep in step
(`AuthorLatest`, migration 0011; `listings.ordered_homepage_posts`): at 10,000
authors and 1,000,000 posts, page 400 in a few milliseconds, where the shortcut over
the whole index took 87 ms and one index seek per user 21-45 ms (benchmarks/README.md,
run 17). Results are cached per generation (blog.cache), and anonymous readers get
whole cached pages and 304s.

A scheduled post is left out until its time (the queries take the page's `now`), and
an author whose latest post is scheduled shows their latest live one meanwhile.

Deactivated authors are still listed: deactivation ends sessions and blocks
sign-in but hides nothing an author published.
"""

from bottle import HTTPError

from blog import accounts, forms
from blog.cache import cached, cached_page
from blog.models import utcnow
from blog.queries import listings
from blog.render import post_entry, render

PER_PAGE = 20
FIRST_WINDOW = 2000  # newest published posts the first try looks at
WINDOW_GROWTH = 8
# Past this many posts a window costs more than walking the ordering.
ORDERED_WINDOW = 20000


def homepage_entries(page, per_page=None):
    """(entries, has_next) for homepage `page`: one dict per author's latest post."""
    per_page = per_page or PER_PAGE
    offset = (page - 1) * per_page
    window = max(FIRST_WINDOW, (offset + per_page + 1) * 10)
    now = utcnow()  # one moment for every query of the page (scheduled posts)
    while True:
        since = listings.window_start(window, now) if window < ORDERED_WINDOW else None
        if since is None:  # a deep page, or the window would be every post
            rows = list(listings.ordered_homepage_posts(offset, per_page + 1, now))
            break
        rows = list(listings.homepage_posts(offset, per_page + 1, now, since))
        if len(rows) > per_page:  # enough authors in the window: exact
            break
        window *= WINDOW_GROWTH
    return [post_entry(row) for row in rows[:per_page]], len(rows) > per_page


def index():
    """GET /: the homepage."""
    page = forms.page_number()
    return cached_page(('home', page), lambda: _render(page), personal=_empty_site)


def _empty_site(user):
    # An empty homepage invites its reader to register, or to write the first post.
    return not cached(('home', 1), lambda: homepage_entries(1))[0]


def _render(page):
    # Users are an upper bound on homepage entries: a page far past the end is a
    # 404 without a scan. (A new user's first post bumps the generation.)
    if page > 1 and (page - 1) * PER_PAGE >= cached(('users',), listings.users_upper_bound):
        raise HTTPError(404, 'There is no page %d.' % page)
    entries, has_next = cached(('home', page), lambda: homepage_entries(page))
    if page > 1 and not entries:
        raise HTTPError(404, 'There is no page %d.' % page)
    return render('home/index.html', entries=entries, page=page, has_next=has_next,
                  has_admin=page > 1 or entries or accounts.site_has_admin())


def install(app):
    """Add this module's routes to `app`."""
    app.route('/', 'GET', index, name='home')
