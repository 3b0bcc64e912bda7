"""The review queue: GET /review lists the posts submitted for review, oldest
first, for editors and admins; POST /review/<id> publishes one or sends it back to
its author as a draft, with a note they see in the editor.

A contributor submits with the editor's "Submit for review" (`status=pending`); an
author may too. The decision carries the version the editor saw: if the author
changed the post since, nothing happens and the editor is told to look again (409),
so nobody publishes text they did not read.
"""

from bottle import HTTPError

from blog import forms, scheduling, sessions
from blog.db import write_transaction
from blog.markdown import plain_excerpt
from blog.models import DRAFT, PUBLISHED, utcnow
from blog.queries import posts as post_queries
from blog.render import render
from blog.responses import see_other
from blog.urls import POST_ID, url

PER_PAGE = 50
NOTE_MAX = 2000
ACTIONS = {'publish': PUBLISHED, 'send-back': DRAFT}


def _queue(page, errors=None, status=200, note=None, failed_id=None):
    rows = list(post_queries.pending_posts(PER_PAGE + 1, (page - 1) * PER_PAGE))
    if page > 1 and not rows:
        raise HTTPError(404, 'There is no such page.')
    items = [{'post': post, 'excerpt': plain_excerpt(post.html_head)}
             for post in rows[:PER_PAGE]]
    return render('review/index.html', status=status, items=items, page=page,
                  has_next=len(rows) > PER_PAGE, errors=errors or {}, note=note or '',
                  failed_id=failed_id, note_max=NOTE_MAX)


@sessions.allowed('review', 'The review queue is for editors and admins.')
def queue():
    """GET /review: posts waiting for review, oldest submission first."""
    return _queue(forms.page_number())


@sessions.allowed('review', 'The review queue is for editors and admins.')
def decide(post_id):
    """POST /review/<id>: `action` publish or send-back, `note`, hidden `version`."""
    post_id = int(post_id)
    version = forms.read_version()
    action = forms.field('action')
    page = forms.page_number()  # the queue page the form was on, to show it again
    if action not in ACTIONS:
        raise HTTPError(400, 'Choose publish or send back.')
    note = ''
    if action == 'send-back':  # a note is only kept when sending back
        note = forms.normalize_body(forms.field('note')).strip()
        error = ('Tell the author what to change.' if not note
                 else forms.length_error(note, NOTE_MAX, 'A note'))
        if error:
            return _queue(page, {'note': error}, 422, note, post_id)
    with write_transaction():
        post = post_queries.post_row(post_id)
        if post is None:
            raise HTTPError(404, 'There is no post here.')
        now, status = utcnow(), ACTIONS[action]
        # The time its author asked for, if still ahead: publishing schedules it.
        published_at = scheduling.publication_time(status, post.published_at,
                                                   post.publish_at, now)
        changed = post.version == version and post_queries.review(
            post_id, version, sessions.current_user().id, now, status, published_at, note)
        if changed:
            # The version the editor read stays in the history, as for any save.
            post_queries.add_revision(post_id, post.saved_data)
    if not changed:
        return _queue(page, {'form': 'That post changed (or left the queue) after you '
                                     'loaded this page: read it again below.'}, 409, note,
                      post_id)
    see_other(url('review', notice='published' if action == 'publish' else 'sent-back'))


def install(app):
    """Add this module's routes to `app`."""
    app.route('/review', 'GET', queue, name='review')
    app.route('/review/' + POST_ID, 'POST', decide, name='review_decide')
