"""A post's revision history: the list, one revision with its diff, and restore.

Every successful save of a post keeps the version it replaced as a Revision (see
blog.editing.save_post), so the history holds everything ever saved. Restoring is an
ordinary optimistic save of the revision's title, body and tags onto the post: it
can conflict like any edit, and it keeps the version it replaces too.
"""

from bottle import HTTPError

from blog import forms, sessions
from blog.conflicts import diff_html
from blog.editing import finish_save, form_values, load_editable, render_body, save_post
from blog.queries import posts as post_queries
from blog.render import render
from blog.urls import POST_ID, REVISION

PER_PAGE = 50


def saver_name(user):
    """What to call whoever saved a version (None: a deleted account)."""
    return 'a deleted account' if user is None else user.name


@sessions.login_required
def index(post_id):
    """GET: the post's saved revisions, newest first."""
    post = load_editable(post_id)
    page = forms.page_number()
    rows = list(post_queries.post_revisions(post.id)
                .limit(PER_PAGE + 1)
                .offset((page - 1) * PER_PAGE))
    if page > 1 and not rows:
        raise HTTPError(404, 'There is no such page.')
    revisions = [{'version': rev.version, 'title': rev.title, 'status': rev.status,
                  'saved_at': rev.saved_at,
                  'saved_by': saver_name(rev.saved_by if rev.saved_by_id else None)}
                 for rev in rows[:PER_PAGE]]
    current_saver = post_queries.user_by_id(post.updated_by_id)
    return render('history/index.html', post=post, revisions=revisions, page=page,
                  has_next=len(rows) > PER_PAGE, current_saver=saver_name(current_saver))


def _revision(post, n):
    revision = post_queries.post_revision(post.id, int(n))
    if revision is None:
        raise HTTPError(404, 'This post has no saved version %s.' % int(n))
    return revision


@sessions.login_required
def revision(post_id, n):
    """GET: revision n and a diff from it to the current text, with a restore button."""
    post = load_editable(post_id)
    rev = _revision(post, n)
    fields = []
    for name, label, old, new in (
            ('title', 'Title', rev.title, post.title),
            ('status', 'Status', rev.status, post.status),
            ('tags', 'Tags', ', '.join(rev.tags), ', '.join(post.tags))):
        fields.append({'name': name, 'label': label, 'old': old, 'new': new,
                       'changed': old != new})
    return render('history/revision.html', post=post, rev=rev, fields=fields,
                  saved_by=saver_name(rev.saved_by if rev.saved_by_id else None),
                  diff=diff_html(rev.body, post.body), same_body=rev.body == post.body)


@sessions.login_required
def restore(post_id, n):
    """POST (hidden `version`): save revision n's title, body and tags onto the post."""
    post = load_editable(post_id)
    rev = _revision(post, n)
    version = forms.read_version()
    user = sessions.current_user()
    # The status and schedule stay as they are now: restoring old text does not
    # unpublish a post or move its time.
    values = {'title': rev.title, 'body': rev.body, 'tags': list(rev.tags),
              'status': post.status, 'publish_at': post.publish_time}
    errors = {}
    html = render_body(rev.body, errors, post)
    if errors:
        raise HTTPError(422, errors['body'])
    result = save_post(post.id, version, values, user, html)
    return finish_save(post.id, result, form_values(values), user, notice='restored')


def install(app):
    """Add this module's routes to `app`."""
    app.route('/posts/%s/history' % POST_ID, 'GET', index, name='post_history')
    app.route('/posts/%s/revisions/%s' % (POST_ID, REVISION), 'GET', revision,
              name='revision')
    app.route('/posts/%s/revisions/%s/restore' % (POST_ID, REVISION), 'POST', restore,
              name='revision_restore')
