"""Posts: create, read, edit with optimistic locking, delete; permissions and errors."""

import html
import re

import pytest

from blog import posts, tagging
from blog.db import db
from blog.models import DRAFT, PUBLISHED, Post, PostTag, Revision, User
from blog.queries import posts as queries
from tests.conftest import LONG_BODY, csrf_from, fill_editor, post_path, save_as
from tests.conftest import fresh_post as fresh
from tests.conftest import post_revisions as revisions

HUGE_ID = '99999999999999999999'


def tags_in_table(post_id):
    with db.connection_context():
        return sorted(row.tag for row in PostTag.select().where(PostTag.post == post_id))


def new_post(client, expect=303, **fields):
    form = client.get('/posts/new').forms['post-form']
    values = {'title': 'First light', 'body': 'Hello *world*.', 'status': PUBLISHED,
              'tags': ''}
    values.update(fields)
    return fill_editor(form, values).submit(status=expect)


def post_id_from(response):
    match = re.match(r'^/posts/(\d+)-[a-z0-9-]+\?notice=', response.location)
    assert match, response.location
    return int(match.group(1))


def edit_form(client, post_id):
    return client.get('/posts/%d/edit' % post_id).forms['post-form']


def stale_form(client, other, post_id, **saved):
    """`client`'s edit form, opened before `other` saved `saved` (a 303)."""
    form, theirs = edit_form(client, post_id), edit_form(other, post_id)
    for name, value in saved.items():
        theirs[name] = value
    theirs.submit(status=303)
    return form


def form_by_action(page, action):
    for form in page.forms.values():
        if form.action == action:
            return form
    raise AssertionError('no form posting to %s' % action)


# --- creating -------------------------------------------------------------------

def test_create_published_post(browser, people):
    alice = browser('alice')
    response = new_post(alice, title='  First   light ', body='# Intro\r\n\r\nHello *world*.',
                        tags='Night Sky, astronomy,  night   sky , Ünïcode')
    post_id = post_id_from(response)
    assert response.location == post_path(post_id, notice='created')
    post = fresh(post_id)
    assert post.title == 'First light'
    assert post.body == '# Intro\n\nHello *world*.'  # browsers send CRLF; we keep LF
    assert post.html == '<h2>Intro</h2>\n<p>Hello <em>world</em>.</p>\n'
    assert post.status == PUBLISHED and post.version == 1
    assert post.tags == ['night-sky', 'astronomy', 'ünïcode']
    assert tags_in_table(post_id) == ['astronomy', 'night-sky', 'ünïcode']
    assert post.author_id == people['alice'].id and post.updated_by_id == people['alice'].id
    assert post.published_at is not None and post.published_at == post.updated_at
    page = response.follow()
    assert 'Post created.' in page.text
    assert '<h1>First light</h1>' in page.text
    assert '<h2>Intro</h2>' in page.text
    assert 'href="/tags/night-sky"' in page.text and 'href="/tags/%C3%BCn%C3%AFcode"' in page.text
    assert revisions(post_id) == []


def test_create_draft_is_private(browser, people):
    alice = browser('alice')
    post_id = post_id_from(new_post(alice, status=DRAFT))
    post = fresh(post_id)
    assert post.status == DRAFT and post.published_at is None
    page = alice.get(post_path(post_id))
    assert '<span class="badge">Draft</span>' in page.text
    assert '<meta name="robots" content="noindex">' in page.text
    assert 'article:published_time' not in page.text
    assert browser('root').get(post_path(post_id)).status_int == 200
    browser('bob').get(post_path(post_id), status=404)
    browser().get(post_path(post_id), status=404)


def test_new_post_needs_sign_in(browser):
    anonymous = browser()
    response = anonymous.get('/posts/new', status=303)
    assert response.location == '/login?next=/posts/new'
    token = csrf_from(anonymous.get('/login'))
    response = anonymous.post('/posts/new', {'csrf_token': token, 'title': 'x', 'body': 'y',
                                             'status': PUBLISHED}, status=303)
    assert response.location.startswith('/login?next=')
    with db.connection_context():
        assert Post.select().count() == 0


def test_new_post_without_csrf_is_refused(browser):
    alice = browser('alice')
    alice.post('/posts/new', {'title': 'x', 'body': 'y', 'status': PUBLISHED}, status=403)
    with db.connection_context():
        assert Post.select().count() == 0


LONG = 'x' * 201


STATUS_CHOICE = 'Choose &#34;Draft&#34;, &#34;Submit for review&#34; or &#34;Published&#34;.'


@pytest.mark.parametrize('fields, field, message', [
    ({'title': ''}, 'title', 'Give the post a title.'),
    ({'title': '   '}, 'title', 'Give the post a title.'),
    ({'title': LONG}, 'title', 'at most 200 characters'),
    ({'title': 'bell\x07'}, 'title', 'control characters'),
    ({'body': ''}, 'body', 'Write something in the body.'),
    ({'body': ' \r\n\t '}, 'body', 'Write something in the body.'),
    ({'body': 'b' * (posts.BODY_MAX + 1)}, 'body', 'at most 600000 characters'),
    ({'status': 'archived'}, 'status', STATUS_CHOICE),
    ({'status': ''}, 'status', STATUS_CHOICE),
    ({'tags': 'good, bad!tag'}, 'tags', 'only letters, digits and'),
    ({'tags': 'a' * 41}, 'tags', 'at most 40 characters'),
    ({'tags': ','.join('t%d' % i for i in range(11))}, 'tags', 'at most 10 tags'),
    ({'tags': 'under_score'}, 'tags', 'only letters, digits and'),
])
def test_invalid_new_post_is_422_with_input_kept(browser, fields, field, message):
    alice = browser('alice')
    values = {'title': 'Kept <title>', 'body': 'Kept body & more', 'status': PUBLISHED,
              'tags': 'kept-tag'}
    values.update(fields)
    values['csrf_token'] = csrf_from(alice.get('/posts/new'))
    page = alice.post('/posts/new', values, status=422)
    error = re.search(r'<p class="error" id="f-%s-error">([^<]*)</p>' % field, page.text)
    assert error and message in error.group(1)
    if field != 'status':  # the state is a choice of buttons: its error is beside them
        assert 'aria-invalid="true"' in page.text
    assert page.html.title.text.startswith('Error: ')
    summary = page.html.select_one('.error-summary[role=alert]')
    assert summary.a['href'] == '#f-' + field and html.unescape(message) in summary.a.text
    # What the user typed is still in the form (escaped).
    if field != 'title':
        assert 'value="Kept &lt;title&gt;"' in page.text
    if field != 'body':
        assert '>Kept body &amp; more</textarea>' in page.text
    if field != 'tags':
        assert 'value="kept-tag"' in page.text
    else:
        assert 'value="%s"' % values['tags'] in page.text
    with db.connection_context():
        assert Post.select().count() == 0


@pytest.mark.parametrize('text, tags, error', [
    ('', [], None),
    (' , ,, ', [], None),
    ('Python', ['python'], None),
    ('  Machine   Learning ,AI', ['machine-learning', 'ai'], None),
    ('b, a, B, a', ['b', 'a'], None),
    ('c++', [], 'only letters'),
    ('semi;colon', [], 'only letters'),
    ('<script>', [], 'only letters'),
    ('café, naïve', ['café', 'naïve'], None),
    ('x' * 40, ['x' * 40], None),
    ('x' * 41, [], 'at most 40'),
    (', '.join('t%d' % i for i in range(10)), ['t%d' % i for i in range(10)], None),
    (', '.join('t%d' % i for i in range(11)), None, 'at most 10 tags'),
    (', '.join(['same'] * 20), ['same'], None),
    ('tab\tsep', ['tab-sep'], None),
])
def test_normalize_tags(text, tags, error):
    got_tags, got_error = tagging.normalize_tags(text)
    if tags is not None:
        assert got_tags == tags
    assert (got_error is None) == (error is None)
    if error:
        assert error in got_error


def test_save_as_draft_forces_a_draft(browser, people):
    alice = browser('alice')
    form = alice.get('/posts/new?as=draft').forms['post-form']
    assert form.action == '/posts/new?as=draft'
    assert 'f-status' not in alice.get('/posts/new?as=draft').text
    token = csrf_from(alice.get('/posts/new'))
    response = alice.post('/posts/new?as=draft', {
        'csrf_token': token, 'title': 'Mine', 'body': 'My text', 'status': PUBLISHED,
        'tags': 'x', 'version': '7'}, status=303)
    post = fresh(post_id_from(response))
    assert response.location.endswith('?notice=saved-as-draft')
    assert post.status == DRAFT and post.published_at is None and post.version == 1
    assert 'Your version was saved as a new draft.' in response.follow().text


def test_large_post_body_is_accepted(browser):
    alice = browser('alice')
    paragraph = 'All work and no play makes a long post. ' * 20 + '\n\n'
    body = (paragraph * (500_000 // len(paragraph) + 1))[:500_000].strip()
    assert len(body) > 499_000
    post_id = post_id_from(new_post(alice, body=body))
    post = fresh(post_id)
    assert post.body == body and post.html.count('<p>') >= 600
    # And editing it keeps working: a save of a ~500 KB body, with its revision.
    form = edit_form(alice, post_id)
    form['body'] = body + '\n\nOne more line.'
    form.submit(status=303)
    assert fresh(post_id).version == 2 and revisions(post_id)[0].body == body


def test_a_body_over_the_character_limit_is_a_form_error_with_the_text_kept(browser):
    alice = browser('alice')
    form = alice.get('/posts/new').forms['post-form']
    assert 'maxlength="600000"' in alice.get('/posts/new').text
    form['title'], form['body'] = 'Too long', 'y' * (1024 * 1024 + 1)  # over 1 MiB, too
    page = form.submit(status=422)
    assert 'The body can be at most 600000 characters (it has 1048577)' in page.text
    assert page.forms['post-form']['body'].value == 'y' * (1024 * 1024 + 1)
    with db.connection_context():
        assert Post.select().count() == 0


def test_the_longest_body_in_four_byte_characters_fits_the_editor(browser, monkeypatch):
    """600,000 characters of 4-byte UTF-8 (2.4 MB) as multipart: saved, not a 413."""
    from blog import editing
    monkeypatch.setattr(editing, 'render_markdown_bounded', lambda body: '<p>many</p>')
    alice = browser('alice')
    form = alice.get('/posts/new').forms['post-form']
    form['title'], form['body'] = 'Emoji', '\U0001F600' * posts.BODY_MAX
    post_id = post_id_from(form.submit(status=303))
    assert fresh(post_id).body == '\U0001F600' * posts.BODY_MAX


def test_an_editor_request_over_its_byte_limit_is_413(browser):
    alice = browser('alice')
    token = csrf_from(alice.get('/posts/new'))
    # The editor's limit is the body's (8 MiB) plus an image's upload (10 MiB and a form).
    limit = 8 * 1024 * 1024 + 10 * 1024 * 1024 + 64 * 1024
    page = alice.post('/posts/new', {'csrf_token': token, 'title': 'Too long',
                                     'body': 'y' * (limit + 1), 'status': PUBLISHED},
                      status=413)
    assert 'Too large' in page.text
    with db.connection_context():
        assert Post.select().count() == 0


# --- reading --------------------------------------------------------------------

def test_post_page_has_meta_og_canonical_and_time(browser, people, make_post):
    post = make_post(people['alice'], title='Stars & "quotes"',
                     body='First *paragraph* with <b>tags</b>.\n\nSecond one.',
                     tags=['space', 'night-sky'])
    page = browser().get(post_path(post.id))
    text = page.text
    assert '<title>Stars &amp; &#34;quotes&#34; · Blog</title>' in text
    url = 'http://blog.test' + post_path(post.id)
    assert '<link rel="canonical" href="%s">' % url in text
    assert '<meta property="og:url" content="%s">' % url in text
    assert '<meta property="og:type" content="article">' in text
    assert '<meta property="og:title" content="Stars &amp; &#34;quotes&#34;">' in text
    description = 'First paragraph with &lt;b&gt;tags&lt;/b&gt;. Second one.'
    assert '<meta name="description" content="%s">' % description in text
    assert '<meta property="og:description" content="%s">' % description in text
    iso = post.published_at.strftime('%Y-%m-%dT%H:%M:%SZ')
    assert '<meta property="article:published_time" content="%s">' % iso in text
    assert '<time datetime="%s">' % iso in text
    assert '<a href="/authors/alice" rel="author">Alice Liddell</a>' in text
    assert '<a href="/tags/space" rel="tag">space</a>' in text
    assert '<p>First <em>paragraph</em> with &lt;b&gt;tags&lt;/b&gt;.</p>' in text
    # Readers see no controls and get no session cookie.
    assert '/edit' not in text and 'csrf_token' not in text
    assert 'Set-Cookie' not in dict(page.headers)


def test_canonical_url_ignores_the_path_spelling(browser, people, make_post):
    post = make_post(people['alice'])
    page = browser().get('/posts/000%d-a-post' % post.id)
    assert '<link rel="canonical" href="http://blog.test/posts/%d-a-post">' % post.id \
        in page.text


@pytest.mark.parametrize('path', ['/posts/0', '/posts/424242', '/posts/' + HUGE_ID,
                                  '/posts/-1', '/posts/abc', '/posts/1.5', '/posts/%ef%bc%91'])
def test_missing_posts_are_404(browser, people, make_post, path):
    make_post(people['alice'])
    page = browser('alice').get(path, status=404)
    assert 'Not found' in page.text


@pytest.mark.parametrize('viewer, status', [
    (None, 404), ('bob', 404), ('alice', 200), ('root', 200)])
def test_drafts_are_visible_only_to_author_and_admins(browser, people, make_post, viewer,
                                                      status):
    draft = make_post(people['alice'], title='Secret plan', status=DRAFT)
    page = browser(viewer).get(post_path(draft.id), status=status)
    assert ('Secret plan' in page.text) == (status == 200)


@pytest.mark.parametrize('viewer, controls', [
    (None, False), ('bob', False), ('alice', True), ('root', True)])
def test_published_post_controls(browser, people, make_post, viewer, controls):
    post = make_post(people['alice'])
    page = browser(viewer).get(post_path(post.id))
    assert ('href="/posts/%d/edit"' % post.id in page.text) == controls
    assert ('action="/posts/%d/delete"' % post.id in page.text) == controls
    assert ('href="/posts/%d/history"' % post.id in page.text) == controls


def test_anonymous_readers_get_the_cached_page_until_a_write(browser, people, make_post,
                                                            monkeypatch):
    post = make_post(people['alice'], title='Cached title')
    reader = browser()
    assert 'Cached title' in reader.get(post_path(post.id)).text
    calls = []
    original = queries.post_with_author
    monkeypatch.setattr(queries, 'post_with_author',
                        lambda pid: calls.append(pid) or original(pid))
    page = reader.get(post_path(post.id))
    assert 'Cached title' in page.text and page.content_type == 'text/html'
    assert calls == []  # served from the cache
    # Another signed-in reader gets the same page with their own header.
    page = browser('bob').get(post_path(post.id))
    assert 'Cached title' in page.text and 'Signed in as' in page.text
    assert calls == []
    # Its author gets a fresh page (it has their controls).
    assert 'Cached title' in browser('alice').get(post_path(post.id)).text
    assert calls == [post.id]
    # A write to any post invalidates the cache.
    with db.connection_context():
        Post.update(title='New title').where(Post.id == post.id).execute()
    assert 'New title' in reader.get(post_path(post.id)).text
    assert calls == [post.id, post.id]


def test_post_pages_answer_conditional_gets(browser, people, make_post):
    post = make_post(people['alice'])
    reader = browser()
    first = reader.get(post_path(post.id))
    etag = first.headers['ETag']
    assert first.headers['Cache-Control'] == 'no-cache' and 'Last-Modified' in first.headers
    reader.get(post_path(post.id), headers={'If-None-Match': etag}, status=304)
    with db.connection_context():
        Post.update(title='Changed').where(Post.id == post.id).execute()
    changed = reader.get(post_path(post.id), headers={'If-None-Match': etag}, status=200)
    assert 'Changed' in changed.text and changed.headers['ETag'] != etag
    # Signed in: the page carries controls for that user, so no shared validators.
    mine = browser('alice').get(post_path(post.id), headers={'If-None-Match': etag})
    assert mine.status_int == 200 and 'ETag' not in mine.headers
    assert mine.headers['Cache-Control'] == 'no-cache, private'


@pytest.mark.parametrize('header', ['*', 'etag-of-the-page'])
def test_no_304_for_a_post_that_is_not_there(app, browser, people, make_post, header):
    from blog import cache
    draft = make_post(people['alice'], status=DRAFT)
    reader = browser()
    for post_id in (draft.id, draft.id + 1000):
        if header != '*':
            generation = app.config['blog.site'].cache.generation()
            header = cache.page_etag(('post', post_id, 'a-post'), generation)
        reader.get('/posts/%d-a-post' % post_id, headers={'If-None-Match': header}, status=404)


def test_a_notice_is_never_cached(browser, people, make_post):
    post = make_post(people['alice'])
    reader = browser()
    assert 'Post deleted.' in reader.get(post_path(post.id, notice='deleted')).text
    assert 'Post deleted.' not in reader.get(post_path(post.id)).text


# --- editing --------------------------------------------------------------------

def test_edit_form_shows_the_saved_post_and_its_version(browser, people, make_post):
    post = make_post(people['alice'], title='T', body='B', tags=['a', 'b'])
    form = edit_form(browser('alice'), post.id)
    assert form.action == '/posts/%d/edit' % post.id
    assert form['version'].value == '1'
    assert (form['title'].value, form['body'].value) == ('T', 'B')
    assert form['tags'].value == 'a, b'
    # A published post's main button keeps it published; another takes it back.
    assert [field.value_if_submitted() for field in form.fields['status']] == [PUBLISHED, DRAFT]
    assert 'version' not in form.html.text.lower()  # the version stays internal


def test_edit_saves_a_new_version_and_keeps_the_old_one(browser, people, make_post):
    post = make_post(people['alice'], title='Old title', body='Old body', tags=['old'])
    before = fresh(post.id)
    alice = browser('alice')
    form = edit_form(alice, post.id)
    form['title'] = 'New title'
    form['body'] = '## New body'
    form['tags'] = 'new, shiny'
    response = form.submit(status=303)
    assert response.location == post_path(post.id, notice='saved')
    after = fresh(post.id)
    assert (after.title, after.body, after.tags) == ('New title', '## New body', ['new', 'shiny'])
    assert after.html == '<h2>New body</h2>\n'  # a body's first heading is an h2
    assert after.version == 2 and after.updated_at > before.updated_at
    assert after.published_at == before.published_at  # editing never changes it
    assert tags_in_table(post.id) == ['new', 'shiny']
    revision, = revisions(post.id)
    assert (revision.version, revision.title, revision.body, revision.tags, revision.status) \
        == (1, 'Old title', 'Old body', ['old'], PUBLISHED)
    assert revision.saved_by_id == people['alice'].id
    assert revision.saved_at == before.updated_at
    page = response.follow()
    assert 'Saved.' in page.text and 'New title' in page.text


def test_unchanged_save_is_a_303_with_a_notice(browser, people, make_post):
    post = make_post(people['alice'], body='Line one\nLine two')
    form = edit_form(browser('alice'), post.id)
    response = form.submit(status=303)
    assert response.location == post_path(post.id, notice='unchanged')
    assert 'Nothing had changed' in response.follow().text
    assert fresh(post.id).version == 1 and revisions(post.id) == []


def test_stale_but_identical_save_is_unchanged_not_a_conflict(browser, people, make_post):
    post = make_post(people['alice'], title='One', body='Same')
    alice = browser('alice')
    tab_a = stale_form(alice, alice, post.id, title='Two')
    tab_a['title'] = 'Two'  # the same content as the newer version, at version 1
    response = tab_a.submit(status=303)
    assert response.location.endswith('?notice=unchanged')
    assert fresh(post.id).version == 2 and len(revisions(post.id)) == 1


def test_two_tab_conflict_end_to_end(browser, people, make_post):
    post = make_post(people['alice'], title='Shared', body='line 1\nline 2\nline 3')
    form_a = stale_form(browser('alice'), browser('root'), post.id,
                        body='line 1\nline 2 by B\nline 3')
    assert fresh(post.id).version == 2

    form_a['body'] = 'line 1\nline 2\nline 3\nline 4 by A'
    form_a['title'] = 'Shared, by A'
    page = form_a.submit(status=409)
    text = re.sub(r'<span class="word">(.*?)</span>', r'\1', page.text)
    assert 'The Admin</strong> saved a newer version' in text
    assert '>line 1\nline 2\nline 3\nline 4 by A</textarea>' in text  # A's text, editable
    assert 'value="Shared, by A"' in text
    assert 'line 2 by B' in text  # B's text
    assert '<del class="line del">- line 2 by B</del>' in text  # the diff
    assert '<ins class="line add">+ line 4 by A</ins>' in text
    conflict = form_by_action(page, '/posts/%d/edit' % post.id)
    assert conflict['version'].value == '2'  # the newest
    assert 'href="/posts/%d/edit?notice=discarded"' % post.id in text
    assert 'formaction="/posts/new?as=draft"' in text
    assert fresh(post.id).body == 'line 1\nline 2 by B\nline 3'  # nothing saved yet

    response = conflict.submit(status=303)  # a deliberate overwrite
    assert response.location == post_path(post.id, notice='saved')
    after = fresh(post.id)
    assert after.version == 3 and after.title == 'Shared, by A'
    assert after.body == 'line 1\nline 2\nline 3\nline 4 by A'
    assert after.updated_by_id == people['alice'].id
    history = revisions(post.id)
    assert [r.version for r in history] == [1, 2]
    assert history[1].body == 'line 1\nline 2 by B\nline 3'  # B's text is kept
    assert history[1].saved_by_id == people['root'].id


def test_conflict_in_two_tabs_of_one_user_says_so(browser, people, make_post):
    post = make_post(people['alice'], body='start')
    alice = browser('alice')
    tab_a = stale_form(alice, alice, post.id, body='from tab B')
    tab_a['body'] = 'from tab A'
    page = tab_a.submit(status=409)
    assert 'You (in another tab or window)</strong> saved a newer version' in page.text


def test_discarding_shows_the_saved_version(browser, people, make_post):
    post = make_post(people['alice'], body='saved text')
    page = browser('alice').get('/posts/%d/edit?notice=discarded' % post.id)
    assert 'Your edits were discarded' in page.text
    assert page.forms['post-form']['body'].value == 'saved text'


def test_save_mine_as_a_new_draft_from_the_conflict_page(browser, people, make_post):
    post = make_post(people['alice'], title='Original', body='theirs 0')
    alice, bob_admin = browser('alice'), browser('root')
    form_a = stale_form(bob_admin, alice, post.id, body='alice wins')
    form_a['body'] = 'admin text to keep'
    page = form_a.submit(status=409)
    conflict = form_by_action(page, '/posts/%d/edit' % post.id)
    # The "save mine as a new draft" button submits the same form to its formaction.
    assert re.search(r'<button type="submit" class="secondary" '
                     r'formaction="/posts/new\?as=draft">Save mine as a new draft</button>',
                     page.text)
    response = bob_admin.post('/posts/new?as=draft', conflict.submit_fields(), status=303)
    assert response.location.endswith('?notice=saved-as-draft')
    draft = fresh(post_id_from(response))
    assert draft.id != post.id
    assert (draft.title, draft.body, draft.status) == ('Original', 'admin text to keep', DRAFT)
    assert draft.author_id == people['root'].id and draft.version == 1
    original = fresh(post.id)
    assert original.body == 'alice wins' and original.version == 2


def test_admin_edits_someone_elses_post(browser, people, make_post):
    post = make_post(people['alice'], body='by alice')
    form = edit_form(browser('root'), post.id)
    form['body'] = 'fixed by the admin'
    form.submit(status=303)
    after = fresh(post.id)
    assert after.author_id == people['alice'].id
    assert after.updated_by_id == people['root'].id and after.body == 'fixed by the admin'


def test_publishing_a_draft_sets_published_at_once(browser, people, make_post):
    post = make_post(people['alice'], status=DRAFT)
    alice = browser('alice')
    form = edit_form(alice, post.id)
    save_as(form, PUBLISHED, status=303)
    first = fresh(post.id).published_at
    assert first is not None
    for status in (DRAFT, PUBLISHED):
        form = edit_form(alice, post.id)
        save_as(form, status, status=303)
    after = fresh(post.id)
    assert after.published_at == first and after.version == 4


def test_invalid_edit_is_422_and_keeps_input_and_version(browser, people, make_post):
    post = make_post(people['alice'], title='Fine', body='Fine body')
    form = edit_form(browser('alice'), post.id)
    form['title'] = ''
    form['body'] = 'My new <body>'
    page = form.submit(status=422)
    assert 'Give the post a title.' in page.text
    assert '>My new &lt;body&gt;</textarea>' in page.text
    assert page.forms['post-form']['version'].value == '1'
    assert fresh(post.id).version == 1


def test_the_editor_sends_multipart_and_any_script_round_trips(browser):
    alice = browser('alice')
    form = alice.get('/posts/new').forms['post-form']
    # Unescaped UTF-8: a body costs 1-4 bytes a character, not 3-12 percent-encoded.
    assert form.enctype == 'multipart/form-data'
    title, body = 'Привет «мир» & <日本>', 'Текст 日本語 😀 *b*\r\n\r\nsecond'
    response = new_post(alice, title=title, body=body)
    post = fresh(post_id_from(response))
    assert (post.title, post.body) == (title, 'Текст 日本語 😀 *b*\n\nsecond')


def test_a_body_too_slow_to_render_is_422_with_input_kept(browser, spinning_renderer):
    page = new_post(browser('alice'), expect=422, title='Kept title', body=LONG_BODY)
    error = re.search(r'<p class="error" id="f-body-error">([^<]*)</p>', page.text)
    assert error and 'takes too long to turn into HTML' in error.group(1)
    assert page.forms['post-form']['body'].value == LONG_BODY
    assert page.forms['post-form']['title'].value == 'Kept title'
    with db.connection_context():
        assert Post.select().count() == 0


def test_an_edit_too_slow_to_render_is_422_and_saves_nothing(browser, people, make_post,
                                                             spinning_renderer):
    post = make_post(people['alice'], title='Fine', body='Fine body')
    form = edit_form(browser('alice'), post.id)
    form['body'] = LONG_BODY
    page = form.submit(status=422)
    assert 'takes too long to turn into HTML' in page.text
    assert page.forms['post-form']['version'].value == '1'
    with db.connection_context():
        assert Post.select().count() == 1
    assert (fresh(post.id).body, fresh(post.id).version) == ('Fine body', 1)


@pytest.mark.parametrize('version', [None, '', 'abc', '1x', '²', '-1', '9' * 19, ' '])
def test_missing_or_garbled_version_is_400(browser, people, make_post, version):
    post = make_post(people['alice'], body='kept')
    alice = browser('alice')
    fields = {'csrf_token': csrf_from(alice.get('/posts/new')), 'title': 'T', 'body': 'new',
              'status': PUBLISHED, 'tags': ''}
    if version is not None:
        fields['version'] = version
    alice.post('/posts/%d/edit' % post.id, fields, status=400)
    assert fresh(post.id).body == 'kept' and fresh(post.id).version == 1


def test_future_version_is_a_conflict_not_a_save(browser, people, make_post):
    post = make_post(people['alice'], body='kept')
    form = edit_form(browser('alice'), post.id)
    form['version'] = '5'
    form['body'] = 'forged'
    page = form.submit(status=409)
    assert form_by_action(page, '/posts/%d/edit' % post.id)['version'].value == '1'
    assert fresh(post.id).body == 'kept'


def test_crlf_from_a_browser_counts_as_unchanged(browser, people, make_post):
    post = make_post(people['alice'], body='a\nb\n\nc')
    form = edit_form(browser('alice'), post.id)
    form['body'] = 'a\r\nb\r\n\r\nc'
    assert form.submit(status=303).location.endswith('?notice=unchanged')


def test_editing_a_post_deleted_meanwhile_keeps_the_text(browser, people, make_post):
    post = make_post(people['alice'], body='old')
    alice = browser('alice')
    form = edit_form(alice, post.id)
    with db.connection_context():
        Post.delete().where(Post.id == post.id).execute()
    form['body'] = 'my precious words'
    page = form.submit(status=404)
    assert 'was deleted in the meantime (moved to the trash' in page.text
    rescue = page.forms['post-form']
    assert rescue.action == '/posts/new?as=draft'
    assert rescue['body'].value == 'my precious words'
    draft = fresh(post_id_from(rescue.submit(status=303)))
    assert draft.body == 'my precious words' and draft.status == DRAFT


# --- deleting -------------------------------------------------------------------

@pytest.mark.parametrize('who', ['alice', 'root'])
def test_delete_moves_the_post_to_the_trash(browser, people, make_post, who):
    """Revisions and tags are kept for a restore (tests/test_trash.py has the rest)."""
    post = make_post(people['alice'], tags=['gone'])
    client = browser(who)
    form = edit_form(client, post.id)
    form['body'] = 'second version'
    form.submit(status=303)
    page = client.get(post_path(post.id))
    response = form_by_action(page, '/posts/%d/delete' % post.id).submit(status=303)
    assert response.location == '/trash?notice=trashed&undo=%d' % post.id
    assert 'moved to the trash' in response.follow().text
    assert fresh(post.id).status == 'trashed'
    with db.connection_context():
        assert Revision.select().count() == 1 and PostTag.select().count() == 1
    client.get(post_path(post.id), status=404)


def test_everyone_who_may_edit_shares_one_render_with_their_own_token(
        browser, people, make_post, monkeypatch):
    post = make_post(people['alice'], title='Shared controls')
    rendered = []
    real = posts._post_page
    monkeypatch.setattr(posts, '_post_page', lambda *a: rendered.append(a) or real(*a))
    alice, root, bob = browser('alice'), browser('root'), browser('bob')
    pages = {name: client.get(post_path(post.id))
             for name, client in (('alice', alice), ('root', root), ('bob', bob))}
    assert len(rendered) == 2  # once for those who may edit, once for everyone else
    tokens = {name: csrf_from(page) for name, page in pages.items()}
    assert len(set(tokens.values())) == 3
    for name in ('alice', 'root'):
        page = pages[name]
        assert 'Signed in as <a href="/authors/%s">' % name in page.text
        assert page.text.count(tokens[name]) == page.text.count('name="csrf_token"')
        assert 'csrf-marker' not in page.text
        assert 'Delete “Shared controls”' in page.text
    assert 'Delete “Shared controls”' not in pages['bob'].text
    # Alice's own token works: her delete goes through.
    form_by_action(pages['alice'], '/posts/%d/delete' % post.id).submit(status=303)
    assert fresh(post.id).status == 'trashed'


def test_delete_is_post_only(browser, people, make_post):
    post = make_post(people['alice'])
    browser('alice').get('/posts/%d/delete' % post.id, status=405)
    assert fresh(post.id)


# --- the permission matrix ------------------------------------------------------

ROUTES = [('GET', '/posts/{id}/edit'), ('POST', '/posts/{id}/edit'),
          ('POST', '/posts/{id}/delete')]


def _request(client, method, path, post_id):
    fields = {'title': 'Changed', 'body': 'Changed', 'status': PUBLISHED, 'tags': '',
              'version': '1', 'csrf_token': csrf_from(client.get('/login'))}

    def go(status):
        if method == 'GET':
            return client.get(path, status=status)
        return client.post(path, fields, status=status)
    return go


@pytest.mark.parametrize('method, route', ROUTES)
@pytest.mark.parametrize('who, target, status', [
    (None, 'published', 303),
    ('bob', 'published', 403),
    ('bob', 'draft', 404),
    ('bob', 'missing', 404),
    ('bob', 'huge', 404),
    ('alice', 'missing', 404),
    ('alice', 'huge', 404),
])
def test_permission_matrix(browser, people, make_post, method, route, who, target, status):
    post = make_post(people['alice'], title='Untouched', body='Untouched',
                     status=DRAFT if target == 'draft' else PUBLISHED)
    post_id = {'missing': str(post.id + 1000), 'huge': HUGE_ID}.get(target, str(post.id))
    path = route.replace('{id}', post_id)
    client = browser(who)
    response = _request(client, method, path, post.id)(status)
    if status == 303:
        assert response.location == '/login?next=' + path
    after = fresh(post.id)
    assert (after.title, after.body, after.version) == ('Untouched', 'Untouched', 1)


@pytest.mark.parametrize('method, route, status', [
    ('GET', '/posts/{id}/edit', 200), ('POST', '/posts/{id}/edit', 303),
    ('POST', '/posts/{id}/delete', 303)])
@pytest.mark.parametrize('who', ['alice', 'root'])
@pytest.mark.parametrize('target', ['published', 'draft'])
def test_author_and_admin_may(browser, people, make_post, method, route, status, who, target):
    post = make_post(people['alice'], status=DRAFT if target == 'draft' else PUBLISHED)
    path = route.replace('{id}', str(post.id))
    _request(browser(who), method, path, post.id)(status)


def test_deactivated_author_cannot_edit(browser, people, make_post):
    post = make_post(people['alice'])
    alice = browser('alice')
    with db.connection_context():
        User.update(is_active=False).where(User.id == people['alice'].id).execute()
    response = alice.get('/posts/%d/edit' % post.id, status=303)
    assert response.location.startswith('/login?next=')


def test_the_replaced_version_is_read_under_the_write_lock(browser, people, make_post,
                                                          monkeypatch):
    """A save that lands between the view's read and its write transaction: the
    revision holds what the UPDATE replaced, not what the view read earlier."""
    post = make_post(people['alice'], title='v1', body='body of v1')
    alice = browser('alice')
    with db.connection_context():
        snapshot = queries.post_with_author(post.id)  # the view's read, at version 1
    form = edit_form(browser('root'), post.id)
    form['title'], form['body'] = 'v2', 'body of v2'
    form.submit(status=303)
    current = edit_form(alice, post.id)  # a form at version 2
    monkeypatch.setattr(queries, 'post_with_author', lambda pid: snapshot)
    current['title'], current['body'] = 'v3', 'body of v1'
    current.submit(status=303)
    after = fresh(post.id)
    assert (after.version, after.title, after.body) == (3, 'v3', 'body of v1')
    assert after.html == '<p>body of v1</p>\n'
    old = revisions(post.id)
    assert [(r.version, r.title, r.body) for r in old] == [
        (1, 'v1', 'body of v1'), (2, 'v2', 'body of v2')]
    assert old[1].saved_by_id == people['root'].id


def test_post_page_says_when_it_was_updated(browser, people, make_post):
    import datetime
    published = datetime.datetime(2020, 2, 3, 4, 5, 6)
    post = make_post(people['alice'], published_at=published)
    with db.connection_context():
        Post.update(updated_at=published).where(Post.id == post.id).execute()
    page = browser().get(post_path(post.id))
    assert '<time datetime="2020-02-03T04:05:06Z">3 Feb 2020</time>' in page.text
    assert 'updated' not in page.text
    form = edit_form(browser('alice'), post.id)
    form['body'] = 'edited today'
    form.submit(status=303)
    page = browser().get(post_path(post.id))
    assert '<time datetime="2020-02-03T04:05:06Z">3 Feb 2020</time>' in page.text
    assert re.search(r'· updated <time datetime="[^"]+">', page.text)
    assert fresh(post.id).published_at == published


# --- one post per form, preview -------------------------------------------------

def test_the_same_new_post_form_sent_twice_makes_one_post(browser, people, dbconn):
    alice = browser('alice')
    form = alice.get('/posts/new').forms['post-form']
    assert len(form['form_id'].value) >= 16
    form['title'], form['body'] = 'Once', 'Only once.'
    first = save_as(form, PUBLISHED, status=303)
    again = save_as(form, PUBLISHED, status=303)  # Back, then Publish again
    post_id = post_id_from(first)
    assert again.location == post_path(post_id, notice='unchanged')
    assert Post.select().count() == 1


def test_a_resent_form_with_changes_edits_the_post_it_made(browser, people, dbconn):
    alice = browser('alice')
    form = alice.get('/posts/new').forms['post-form']
    form['title'], form['body'] = 'Once', 'First text.'
    post_id = post_id_from(save_as(form, PUBLISHED, status=303))
    form['body'] = 'Second text.'  # Back, changed, Publish
    assert save_as(form, PUBLISHED, status=303).location == post_path(post_id, notice='saved')
    assert Post.select().count() == 1 and fresh(post_id).body == 'Second text.'
    assert [r.body for r in revisions(post_id)] == ['First text.']


def test_form_ids_belong_to_their_author(browser, people, dbconn):
    form = browser('alice').get('/posts/new').forms['post-form']
    form['title'], form['body'] = 'Alice', 'By alice.'
    form.submit(status=303)
    bob = browser('bob')
    token = csrf_from(bob.get('/posts/new'))
    bob.post('/posts/new', {'title': 'Bob', 'body': 'By bob.', 'status': DRAFT, 'tags': '',
                            'form_id': form['form_id'].value, 'csrf_token': token}, status=303)
    assert sorted(p.title for p in Post.select()) == ['Alice', 'Bob']


@pytest.mark.parametrize('form_id', ['', 'short', 'x' * 65, 'bad id with spaces!!'])
def test_odd_form_ids_still_make_a_post(browser, people, dbconn, form_id):
    alice = browser('alice')
    token = csrf_from(alice.get('/posts/new'))
    alice.post('/posts/new', {'title': 'T', 'body': 'B', 'status': DRAFT, 'tags': '',
                              'form_id': form_id, 'csrf_token': token}, status=303)
    assert Post.select().count() == 1


def test_preview_renders_the_body_and_saves_nothing(browser, people, make_post, dbconn):
    alice = browser('alice')
    form = alice.get('/posts/new').forms['post-form']
    form['title'], form['body'] = '', '## Heading\n\n*soon* <b>bold</b>'
    page = form.submit('preview', status=200)
    assert '<h2>Heading</h2>' in page.text and '<em>soon</em>' in page.text
    assert '&lt;b&gt;bold&lt;/b&gt;' in page.text  # raw HTML stays text
    kept = page.forms['post-form']
    assert kept['body'].value == '## Heading\n\n*soon* <b>bold</b>'
    assert kept['form_id'].value == form['form_id'].value
    assert Post.select().count() == 0
    post = make_post(people['alice'], body='old')
    edit = edit_form(alice, post.id)
    edit['body'] = 'new *text*'
    page = edit.submit('preview', status=200)
    assert '<em>text</em>' in page.text and page.forms['post-form']['version'].value == '1'
    assert fresh(post.id).body == 'old'


def test_a_form_resent_after_its_post_went_to_the_trash_makes_a_new_one(browser, people,
                                                                        dbconn):
    alice = browser('alice')
    form = alice.get('/posts/new').forms['post-form']
    form['title'], form['body'] = 'Once', 'Text kept.'
    first = post_id_from(form.submit(status=303))
    token = csrf_from(alice.get('/posts/new'))
    alice.post('/posts/%d/delete' % first, {'csrf_token': token}, status=303)
    second = post_id_from(form.submit(status=303))
    assert second != first and fresh(second).body == 'Text kept.'
