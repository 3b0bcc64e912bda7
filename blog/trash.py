"""The trash: `/trash` lists deleted posts (your own; admins see everyone's),
`/trash/<id>/restore` brings one back as it was, `/trash/<id>/purge` deletes it for
good. Deleting itself is the post page's button (blog.posts); the operations are
blog.trashing's.

Someone else's trashed post, like a missing one, is a 404 here.
"""

from bottle import HTTPError

from blog import forms, roles, sessions, trashing
from blog.queries import trash as trash_queries
from blog.render import render
from blog.responses import see_other
from blog.urls import POST_ID, url

PER_PAGE = 50
ID_MAX_DIGITS = 18  # as the routes' POST_ID


def _undo_post(user):
    """The post named by ?undo=<id> (the notice after a delete) if it is still in
    the trash and the user may restore it, else None. Anything else is ignored."""
    raw = forms.query('undo')
    if not (raw.isascii() and raw.isdigit()) or len(raw) > ID_MAX_DIGITS:
        return None
    return trashing.find(int(raw), user)


@sessions.login_required
def index():
    """GET: trashed posts, newest deletion first, 50 a page, each with when it goes
    for good and its Restore and Delete-forever buttons."""
    user = sessions.current_user()
    page = forms.page_number()
    trashing.sweep()
    rows = list(trash_queries.trashed_posts(None if roles.can(user, 'see_all_trash') else user.id)
                .limit(PER_PAGE + 1)
                .offset((page - 1) * PER_PAGE))
    if page > 1 and not rows:
        raise HTTPError(404, 'There is no such page.')
    posts = [{'id': row.id, 'title': row.title, 'was': row.trashed_status,
              'published_at': row.published_at, 'deleted_at': row.deleted_at,
              'purge_at': trashing.purge_at(row.deleted_at), 'author': row.author,
              'deleter': row.deleter if row.deleted_by_id else None}
             for row in rows[:PER_PAGE]]
    return render('trash/index.html', posts=posts, page=page, has_next=len(rows) > PER_PAGE,
                  everyone=roles.can(user, 'see_all_trash'), undo=_undo_post(user),
                  keep_days=trashing.KEEP_DAYS)


def _found(post_id, allowed):
    post = trashing.find(int(post_id), sessions.current_user(), allowed)
    if post is None:
        raise HTTPError(404, 'There is no post in the trash here.')
    return post


@sessions.login_required
def restore(post_id):
    """POST: bring the post back as it was; 303 to it."""
    post = _found(post_id, trashing.can_restore)
    if not trashing.restore(post.id):
        raise HTTPError(404, 'This post is no longer in the trash.')
    see_other(url('post', post_id=post.id, slug=post.slug, notice='untrashed'))


@sessions.login_required
def purge(post_id):
    """POST: delete the post and its history for good; 303 to the trash."""
    post = _found(post_id, trashing.can_purge)
    if not trashing.purge(post.id):
        raise HTTPError(404, 'This post is no longer in the trash.')
    see_other(url('trash', notice='purged'))


def install(app):
    """Add this module's routes to `app`."""
    app.route('/trash', 'GET', index, name='trash')
    app.route('/trash/%s/restore' % POST_ID, 'POST', restore, name='trash_restore')
    app.route('/trash/%s/purge' % POST_ID, 'POST', purge, name='trash_purge')
