"""A post's revision history: the list, one revision with its diff, and restore.

Every successful save of a post keeps the version it replaced as a Revision (see
blog.posts.save_post), so the history holds everything ever saved. Restoring is an
ordinary optimistic save of the revision's title, body and tags onto the post: it
can conflict like any edit, and it keeps the version it replaces too.
"""

from bottle import HTTPError

from blog import forms, posts, queries, sessions
from blog.conflicts import diff_html
from blog.models import User
from blog.render import render

PER_PAGE = 50
N = '<n:re:[0-9]{1,9}>'


def saver_name(user):
    """What to call whoever saved a version (None: a deleted account)."""
    if user is None:
        return 'a deleted account'
    return user.display_name or user.username


@sessions.login_required
def index(post_id):
    """GET: the post's saved revisions, newest first."""
    post = posts.load_editable(post_id)
    page = forms.page_number()
    rows = list(queries.post_revisions(post.id)
                .limit(PER_PAGE + 1)
                .offset((page - 1) * PER_PAGE))
    if page > 1 and not rows:
        raise HTTPError(404, 'There is no such page.')
    revisions = [{'version': rev.version, 'title': rev.title, 'status': rev.status,
                  'saved_at': rev.saved_at,
                  'saved_by': saver_name(rev.saved_by if rev.saved_by_id else None)}
                 for rev in rows[:PER_PAGE]]
    current_saver = User.get_or_none(User.id == post.updated_by_id)
    return render('history/index.html', post=post, revisions=revisions, page=page,
                  has_next=len(rows) > PER_PAGE, current_saver=saver_name(current_saver))


def _revision(post, n):
    revision = queries.post_revision(post.id, int(n))
    if revision is None:
        raise HTTPError(404, 'This post has no saved version %s.' % int(n))
    return revision


@sessions.login_required
def revision(post_id, n):
    """GET: revision n and a diff from it to the current text, with a restore button."""
    post = posts.load_editable(post_id)
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
    post = posts.load_editable(post_id)
    rev = _revision(post, n)
    version = posts.submitted_version()
    user = sessions.current_user()
    # The status stays as it is now: restoring old text does not unpublish a post.
    values = {'title': rev.title, 'body': rev.body, 'tags': list(rev.tags),
              'status': post.status}
    errors = {}
    html = posts.render_body(rev.body, errors, post)
    if errors:
        raise HTTPError(422, errors['body'])
    outcome, row = posts.save_post(post.id, version, values, user, html)
    return posts.finish_save(post.id, outcome, row, posts.form_values(values), user,
                             notice='restored')


def install(app):
    """Add this module's routes to `app`."""
    app.route('/posts/%s/history' % posts.ID, 'GET', index)
    app.route('/posts/%s/revisions/%s' % (posts.ID, N), 'GET', revision)
    app.route('/posts/%s/revisions/%s/restore' % (posts.ID, N), 'POST', restore)
