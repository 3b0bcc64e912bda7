"""Revision history: the list, one revision with its diff, restore (an optimistic save)."""

import re

import pytest

from blog import conflicts, history
from blog.db import db
from blog.models import DRAFT, PUBLISHED, Post, Revision, User
from tests.conftest import LONG_BODY, csrf_from, fill_editor, post_path
from tests.conftest import fresh_post as fresh
from tests.conftest import post_revisions as revisions
from tests.test_conflicts import ADVERSARIAL, count_word_pairs, sides

HUGE = '99999999999999999999'


@pytest.fixture
def people(make_user):
    """conftest's people, with alice's display name short, as the history shows it."""
    return {'alice': make_user('alice', display_name='Alice'),
            'bob': make_user('bob'),
            'root': make_user('root', role='admin', display_name='The Admin')}


def save(client, post_id, **fields):
    form = client.get('/posts/%d/edit' % post_id).forms['post-form']
    return fill_editor(form, fields).submit(status=303)


def restore_form(page, post_id, n):
    for form in page.forms.values():
        if form.action == '/posts/%d/revisions/%d/restore' % (post_id, n):
            return form
    raise AssertionError('no restore form')


@pytest.fixture
def story(browser, people, make_post):
    """A post at version 3: v1 by alice, v2 by the admin, v3 (current) by alice."""
    post = make_post(people['alice'], title='Title one', body='alpha\nbeta\ngamma',
                     tags=['one'])
    alice, root = browser('alice'), browser('root')
    save(root, post.id, title='Title two', body='alpha\nBETA\ngamma', tags='two')
    save(alice, post.id, title='Title three', body='alpha\nBETA\ngamma\ndelta',
         status=DRAFT)
    return post.id, alice, root


def test_history_lists_revisions_newest_first(story):
    post_id, alice, _root = story
    page = alice.get('/posts/%d/history' % post_id)
    text = page.text
    assert 'The current text is version 3, saved by Alice' in text
    links = re.findall(r'href="/posts/%d/revisions/(\d+)">Version' % post_id, text)
    assert links == ['2', '1']
    cell = r'<td data-label="[^"]+">'
    rows = re.findall(rf'<tr>\s*{cell}<a[^>]*>Version (\d)</a></td>\s*{cell}([^<]*)</td>\s*'
                      rf'{cell}([^<]*)</td>\s*{cell}([^<]*)</td>\s*'
                      rf'{cell}<time datetime="([^"]+)"', text)
    assert [row[:4] for row in rows] == [('2', 'Title two', 'published', 'The Admin'),
                                         ('1', 'Title one', 'published', 'Alice')]
    saved = revisions(post_id)
    assert rows[0][4] == saved[1].saved_at.strftime('%Y-%m-%dT%H:%M:%SZ')


def test_history_of_an_unchanged_post(browser, people, make_post):
    post = make_post(people['alice'])
    page = browser('alice').get('/posts/%d/history' % post.id)
    assert 'No earlier versions' in page.text


def test_history_is_paginated(browser, people, make_post, monkeypatch):
    monkeypatch.setattr(history, 'PER_PAGE', 2)
    post = make_post(people['alice'], body='v1')
    alice = browser('alice')
    for n in range(2, 6):
        save(alice, post.id, body='v%d' % n)
    first = alice.get('/posts/%d/history' % post.id).text
    second = alice.get('/posts/%d/history?page=2' % post.id).text
    assert re.findall(r'>Version (\d)</a>', first) == ['4', '3']
    assert re.findall(r'>Version (\d)</a>', second) == ['2', '1']
    assert 'rel="next"' in first and 'rel="next"' not in second
    alice.get('/posts/%d/history?page=3' % post.id, status=404)
    alice.get('/posts/%d/history?page=x' % post.id, status=404)


def test_revision_page_shows_the_diff_and_a_restore_form(story):
    post_id, alice, _root = story
    page = alice.get('/posts/%d/revisions/1' % post_id)
    assert '<del class="line del">- <span class="word">beta</span></del>' in page.text
    assert '<ins class="line add">+ <span class="word">BETA</span></ins>' in page.text
    text = without_word_marks(page.text)
    assert 'Version 1 of “Title three”' in text
    assert 'Saved by Alice' in text
    assert '<del class="line del">- beta</del>' in text
    assert '<ins class="line add">+ BETA</ins>' in text
    assert '<ins class="line add">+ delta</ins>' in text
    assert '<span class="line">  alpha</span>' in text
    assert re.search(r'Title</th>\s*<td class="saved-text" data-label="Version 1">Title one'
                     r'</td>\s*<td class="saved-text" data-label="Current">Title three</td>', text)
    assert '<pre class="source">alpha\nbeta\ngamma</pre>' in text
    form = restore_form(page, post_id, 1)
    assert form['version'].value == '3'


def test_restoring_a_body_too_slow_to_render_is_422(story, spinning_renderer):
    from blog.models import Revision
    post_id, alice, _root = story
    # A revision saved when the limit was higher (or the machine faster).
    with db.connection_context():
        Revision.update(body=LONG_BODY).where(
            (Revision.post == post_id) & (Revision.version == 1)).execute()
    page = alice.get('/posts/%d/revisions/1' % post_id)
    response = restore_form(page, post_id, 1).submit(status=422)
    assert 'takes too long to turn into HTML' in response.text
    assert fresh(post_id).version == 3


def test_restore_saves_the_old_text_as_a_new_version(story, people):
    post_id, alice, _root = story
    page = alice.get('/posts/%d/revisions/1' % post_id)
    response = restore_form(page, post_id, 1).submit(status=303)
    assert response.location == post_path(post_id, notice='restored')
    assert 'Revision restored.' in response.follow().text
    post = fresh(post_id)
    assert (post.title, post.body, post.tags) == ('Title one', 'alpha\nbeta\ngamma', ['one'])
    assert post.status == DRAFT  # the status stays as it was
    assert post.html == '<p>alpha\nbeta\ngamma</p>\n'
    assert post.version == 4 and post.updated_by_id == people['alice'].id
    saved = revisions(post_id)
    assert [r.version for r in saved] == [1, 2, 3]
    assert (saved[2].title, saved[2].body, saved[2].status) == (
        'Title three', 'alpha\nBETA\ngamma\ndelta', DRAFT)


def test_restore_of_the_current_text_is_unchanged(browser, people, make_post):
    post = make_post(people['alice'], body='same')
    alice = browser('alice')
    save(alice, post.id, body='other')
    save(alice, post.id, body='same')
    page = alice.get('/posts/%d/revisions/1' % post.id)
    assert 'The body is the same as the current one.' in page.text
    response = restore_form(page, post.id, 1).submit(status=303)
    assert response.location.endswith('?notice=unchanged')
    assert fresh(post.id).version == 3


def test_stale_restore_is_a_conflict(story, people):
    post_id, alice, root = story
    page = alice.get('/posts/%d/revisions/1' % post_id)
    form = restore_form(page, post_id, 1)
    save(root, post_id, body='the admin was faster')
    conflict = form.submit(status=409)
    text = without_word_marks(conflict.text)
    assert 'The Admin</strong> saved a newer version' in text
    assert '>alpha\nbeta\ngamma</textarea>' in text  # the restored text, editable
    assert '<del class="line del">- the admin was faster</del>' in text
    edit = [f for f in conflict.forms.values() if f.action == '/posts/%d/edit' % post_id][0]
    assert edit['version'].value == '4'
    assert fresh(post_id).body == 'the admin was faster'
    # Sending it again is a deliberate overwrite; the admin's text stays in the history.
    edit.submit(status=303)
    post = fresh(post_id)
    assert post.body == 'alpha\nbeta\ngamma' and post.version == 5
    assert revisions(post_id)[-1].body == 'the admin was faster'


def test_revision_saved_by_a_deleted_user(browser, people, make_post):
    post = make_post(people['alice'], body='one')
    bob_admin = browser('root')
    save(bob_admin, post.id, body='two')
    save(browser('alice'), post.id, body='three')
    with db.connection_context():
        User.delete().where(User.id == people['root'].id).execute()
    alice = browser('alice')
    assert 'a deleted account' in alice.get('/posts/%d/history' % post.id).text
    assert 'Saved by Alice' in alice.get('/posts/%d/revisions/1' % post.id).text
    assert 'Saved by a deleted account' in alice.get('/posts/%d/revisions/2' % post.id).text


@pytest.mark.parametrize('n', ['0', '7', '999999999', '1234567890', HUGE, '-1', 'x'])
def test_missing_revision_is_404(story, n):
    post_id, alice, _root = story
    alice.get('/posts/%d/revisions/%s' % (post_id, n), status=404)
    token = csrf_from(alice.get('/posts/%d/history' % post_id))
    alice.post('/posts/%d/revisions/%s/restore' % (post_id, n),
               {'csrf_token': token, 'version': '3'}, status=404)


@pytest.mark.parametrize('version', [None, '', 'three', '3.0'])
def test_restore_with_a_garbled_version_is_400(story, version):
    post_id, alice, _root = story
    fields = {'csrf_token': csrf_from(alice.get('/posts/%d/history' % post_id))}
    if version is not None:
        fields['version'] = version
    alice.post('/posts/%d/revisions/1/restore' % post_id, fields, status=400)
    assert fresh(post_id).version == 3


ROUTES = [('GET', '/posts/{id}/history'), ('GET', '/posts/{id}/revisions/1'),
          ('POST', '/posts/{id}/revisions/1/restore')]


@pytest.mark.parametrize('method, route', ROUTES)
@pytest.mark.parametrize('who, target, status', [
    (None, 'published', 303),
    ('bob', 'published', 403),
    ('bob', 'draft', 404),
    ('bob', 'missing', 404),
    ('alice', 'missing', 404),
    ('alice', 'huge', 404),
    ('alice', 'own', None),
    ('root', 'own', None),
    ('root', 'draft', None),
])
def test_history_permission_matrix(browser, people, make_post, method, route, who, target,
                                   status):
    post = make_post(people['alice'], body='v1', status=DRAFT if target == 'draft' else PUBLISHED)
    save(browser('alice'), post.id, body='v2')
    post_id = {'missing': str(post.id + 1000), 'huge': HUGE}.get(target, str(post.id))
    path = route.replace('{id}', post_id)
    client = browser(who)
    if status is None:
        status = 200 if method == 'GET' else 303
    if method == 'GET':
        response = client.get(path, status=status)
    else:
        response = client.post(path, {'csrf_token': csrf_from(client.get('/login')),
                                      'version': '2'}, status=status)
    if status == 303 and who is None:
        assert response.location == '/login?next=' + path
    expected = 'v1' if (method == 'POST' and status == 303 and who) else 'v2'
    assert fresh(post.id).body == expected


def without_word_marks(html):
    """Diff HTML with the marks on changed words taken off (their text kept)."""
    return re.sub(r'<span class="word">(.*?)</span>', r'\1', str(html), flags=re.S)


def _sides(html):
    """(old lines, new lines) read back from diff HTML."""
    old, new = [], []
    for kind, text in re.findall(r'<(span|del|ins) class="line[^"]*">(?:  |- |\+ )(.*?)</\1>',
                                 without_word_marks(html), re.S):
        if kind in ('span', 'del'):
            old.append(text)
        if kind in ('span', 'ins'):
            new.append(text)
    return old, new


@pytest.mark.parametrize('old, new', [
    ('', ''), ('a', 'a'), ('a\nb\nc', 'a\nB\nc'), ('a\nb', 'a\nb\nc'), ('x\na\nb', 'a\nb'),
    ('same\n\nsame\n\nsame', 'same\n\nother\n\nsame'), ('<script>', '<b>&amp;'),
])
def test_diff_html_keeps_both_texts(old, new):
    from markupsafe import escape
    html = conflicts.diff_html(old, new)
    assert '<script>' not in html
    expect_old = [str(escape(line)) for line in (old.splitlines() or [''])]
    expect_new = [str(escape(line)) for line in (new.splitlines() or [''])]
    assert _sides(html) == (expect_old, expect_new)


def test_diff_of_long_posts_with_many_blank_lines(monkeypatch):
    """5,000 paragraphs (10,000 lines, half of them blank), every 7th changed: the
    unbounded difflib alignment did not finish in 10 minutes on this input."""
    old = '\n\n'.join('paragraph %d of a long post' % i for i in range(5000))
    new = '\n\n'.join('paragraph %d of a long post' % i if i % 7 else 'changed %d' % i
                      for i in range(5000))
    html = conflicts.diff_html(old, new)
    assert _sides(html) == (old.splitlines(), new.splitlines())
    assert html.count('<ins class="line add">') >= 700
    monkeypatch.setattr(conflicts, 'ALIGN_MAX_LINES', 100)  # too big to align: one block
    html = conflicts.diff_html(old + '\nend', new + '\nend')
    assert _sides(html) == ((old + '\nend').splitlines(), (new + '\nend').splitlines())
    assert html.endswith('<span class="line">  end</span>')


@pytest.mark.parametrize('name', ['alternating lines', '300,000 one-character lines',
                                  '399-word lines, all changed'])
def test_revision_page_of_huge_diffs_is_bounded_and_shows_the_change(story, monkeypatch, name):
    post_id, alice, _root = story
    word_pairs = count_word_pairs(monkeypatch)
    old, new = ADVERSARIAL[name]
    with db.connection_context():  # saved directly: only the diff is under test here
        Revision.update(body=old).where(
            (Revision.post == post_id) & (Revision.version == 1)).execute()
        Post.update(body=new).where(Post.id == post_id).execute()
    page = alice.get('/posts/%d/revisions/1' % post_id)
    diff = page.text.split('<div class="diff">', 1)[1].split('</div>', 1)[0]
    assert sum(word_pairs) <= conflicts.WORD_PAIRS_MAX
    assert diff.count('class="line') <= conflicts.LINES_MAX + 20
    assert 'This diff was simplified' in diff
    assert sides(diff) == (old.splitlines(), new.splitlines())
