"""My posts: GET /me/posts, every post of the signed-in user by state (drafts, in
review, scheduled, published, the trash), with a count for each, 50 a page.

`?state=` picks the list (drafts by default). The counts come from one GROUP BY
on the author index (and one count of the scheduled); each list is the author's
posts in one state: drafts and posts in review the latest change first, scheduled
ones the soonest first, published ones the newest first.
"""

from bottle import HTTPError

from blog import forms, sessions
from blog.models import DRAFT, PENDING, PUBLISHED, TRASHED, utcnow
from blog.queries import posts as post_queries
from blog.queries import trash as trash_queries
from blog.render import render

PER_PAGE = 50
STATES = (('draft', DRAFT, 'Drafts'), ('pending', PENDING, 'In review'),
          ('scheduled', post_queries.SCHEDULED, 'Scheduled'),
          ('published', PUBLISHED, 'Published'), ('trash', TRASHED, 'Trash'))


@sessions.login_required
def index():
    """GET /me/posts?state=draft|pending|scheduled|published|trash."""
    user = sessions.current_user()
    state = forms.query('state') or 'draft'
    chosen = next((entry for entry in STATES if entry[0] == state), None)
    if chosen is None:
        raise HTTPError(404, 'There is no such list.')
    page = forms.page_number()
    offset = (page - 1) * PER_PAGE
    now = utcnow()
    if chosen[1] == TRASHED:
        rows = list(trash_queries.trashed_posts(user.id).limit(PER_PAGE + 1).offset(offset))
    else:
        rows = list(post_queries.own_posts(user.id, chosen[1], PER_PAGE + 1, offset, now))
    if page > 1 and not rows:
        raise HTTPError(404, 'There is no such page.')
    counts = post_queries.own_counts(user.id, now)
    tabs = [{'state': key, 'label': label, 'count': counts.get(status, 0)}
            for key, status, label in STATES]
    return render('my_posts/index.html', tabs=tabs, state=state, label=chosen[2],
                  posts=rows[:PER_PAGE], page=page, has_next=len(rows) > PER_PAGE)


def install(app):
    """Add this module's routes to `app`."""
    app.route('/me/posts', 'GET', index, name='my_posts')
