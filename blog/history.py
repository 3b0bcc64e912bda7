"""A post's revision history: the list, one revision with its diff, and restore.

Every successful save of a post keeps the version it replaced as a Revision (see
blog.posts.save_post), so the history holds everything ever saved. Restoring is an
ordinary optimistic save of the revision's title, body and tags onto the post: it
can conflict like any edit, and it keeps the version it replaces too.
"""

import difflib

from bottle import HTTPError
from markupsafe import Markup

from blog import forms, posts, queries, sessions
from blog.models import User
from blog.render import render

PER_PAGE = 50
N = '<n:re:[0-9]{1,9}>'
# Above this many line pairs (after the common head and tail are set aside) the
# changed block is shown as removed-then-added instead of aligned line by line,
# which would cost seconds of CPU.
DIFF_MAX_PAIRS = 25_000_000


def diff_html(old, new):
    """A line diff from `old` to `new` as escaped HTML, in blog.conflicts' format.

    Bounded in time for long posts: difflib without its junk heuristic
    (`autojunk=False`) slows down roughly with the cube of the line count when
    lines repeat (every blank line between paragraphs does): measured, 1,000 lines
    took 1.3 s and 10,000 did not finish in 10 minutes. Here the common head and
    tail are trimmed first (most edits are local), the matcher keeps its junk
    heuristic, and very large changed blocks are not aligned at all.
    """
    a, b = (old or '').splitlines() or [''], (new or '').splitlines() or ['']
    shortest = min(len(a), len(b))
    head = 0
    while head < shortest and a[head] == b[head]:
        head += 1
    tail = 0
    while tail < shortest - head and a[len(a) - 1 - tail] == b[len(b) - 1 - tail]:
        tail += 1
    mid_a, mid_b = a[head:len(a) - tail], b[head:len(b) - tail]
    if len(mid_a) * len(mid_b) > DIFF_MAX_PAIRS:
        opcodes = [('replace', 0, len(mid_a), 0, len(mid_b))]
    else:
        opcodes = difflib.SequenceMatcher(None, mid_a, mid_b).get_opcodes()
    out = [Markup('<span class="line">  %s</span>') % line for line in a[:head]]
    for tag, i1, i2, j1, j2 in opcodes:
        if tag == 'equal':
            out.extend(Markup('<span class="line">  %s</span>') % line for line in mid_a[i1:i2])
            continue
        out.extend(Markup('<del class="line del">- %s</del>') % line for line in mid_a[i1:i2])
        out.extend(Markup('<ins class="line add">+ %s</ins>') % line for line in mid_b[j1:j2])
    out.extend(Markup('<span class="line">  %s</span>') % line for line in a[len(a) - tail:])
    return Markup('').join(out)


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
    if page is None:
        raise HTTPError(404, 'There is no such page.')
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
    outcome, row = posts.save_post(post.id, version, values, user)
    return posts.finish_save(post.id, outcome, row, posts.form_values(values), user,
                             notice='restored')


def install(app):
    """Add this module's routes to `app`."""
    app.route('/posts/%s/history' % posts.ID, 'GET', index)
    app.route('/posts/%s/revisions/%s' % (posts.ID, N), 'GET', revision)
    app.route('/posts/%s/revisions/%s/restore' % (posts.ID, N), 'POST', restore)
