"""The trash: delete moves a post there (gone for readers, history kept), restore
brings it back as it was, purge and the 30-day sweep delete it for good."""

import datetime
import io
import os
import re
import subprocess
import sys
import zipfile

import pytest

from blog import trashing
from blog.app import create_app
from blog.db import db
from blog.models import DRAFT, PUBLISHED, TRASHED, Post, PostTag, Revision, utcnow
from blog.queries import posts as post_queries
from blog.render import NOTICES
from blog.site import APP_KEY
from tests.conftest import ROOT, csrf_from, post_path
from tests.conftest import post_revisions as revisions
from tests.server import Browser, Server

DAY = datetime.timedelta(days=1)


def form_by_action(page, action):
    for form in page.forms.values():
        if form.action == action:
            return form
    raise AssertionError('no form posting to %s' % action)


def delete(client, post_id):
    """Press Delete on the post's page; the 303."""
    page = client.get(post_path(post_id))
    return form_by_action(page, '/posts/%d/delete' % post_id).submit(status=303)


def act(client, action, post_id, status):
    """POST /trash/<id>/<action> with a valid token; the answer."""
    token = csrf_from(client.get('/login'))
    return client.post('/trash/%s/%s' % (post_id, action), {'csrf_token': token},
                       status=status)


def row(post_id):
    """Every column of the post as stored, or None."""
    with db.connection_context():
        post = Post.get_or_none(Post.id == post_id)
    return None if post is None else dict(post.__data__)


def edited_post(browser, make_post, author, status=PUBLISHED):
    """A post with tags, saved once more through the editor (so it has a revision)."""
    post = make_post(author, title='Zebra crossing', body='Stripes *everywhere*.',
                     tags=['news', 'zebras'], status=status)
    client = browser('alice')
    form = client.get('/posts/%d/edit' % post.id).forms['post-form']
    form['body'] = 'Stripes *everywhere*, edited.'
    form.submit(status=303)
    return post


PUBLIC_PAGES = ['/', '/authors', '/authors/alice', '/tags/news', '/feed.atom',
                '/authors/alice/feed.atom', '/tags/news/feed.atom', '/search?q=zebra',
                '/sitemap.xml']


def links(page, post_id):
    """True when the page links the post (HTML, feeds and the sitemap alike)."""
    return re.search(r'/posts/%d(?![0-9/])' % post_id, page.text) is not None


def test_a_deleted_post_is_gone_from_every_public_page(browser, people, make_post):
    kept = make_post(people['alice'], title='Still here', body='A zebra, once.',
                     tags=['news'])
    post = edited_post(browser, make_post, people['alice'])
    reader = browser()
    for path in PUBLIC_PAGES:  # cached now, for the anonymous reader
        assert links(reader.get(path), post.id), path

    response = delete(browser('alice'), post.id)
    assert response.location == '/trash?notice=trashed&undo=%d' % post.id

    for viewer in (None, 'bob', 'alice', 'root'):
        browser(viewer).get(post_path(post.id), status=404)
    for path in PUBLIC_PAGES:
        page = reader.get(path)
        assert not links(page, post.id) and 'Zebra crossing' not in page.text, path
        assert links(page, kept.id), path  # the homepage moves on to her previous post
    reader.get('/tags/zebras', status=404)  # only the trashed post carried it
    reader.get('/tags/zebras/feed.atom', status=404)

    stored = row(post.id)
    assert (stored['status'], stored['trashed_status']) == (TRASHED, PUBLISHED)
    assert stored['deleted_by'] == people['alice'].id and stored['deleted_at'] is not None
    assert [rev.version for rev in revisions(post.id)] == [1]


@pytest.mark.parametrize('who', ['alice', 'root'])
def test_a_trashed_post_cannot_be_edited_or_its_history_read(browser, people, make_post, who):
    post = edited_post(browser, make_post, people['alice'])
    client = browser(who)
    form = client.get('/posts/%d/edit' % post.id).forms['post-form']
    delete(client, post.id)
    before = row(post.id)
    for path in ('/posts/%d/edit', '/posts/%d/history', '/posts/%d/revisions/1'):
        client.get(path % post.id, status=404)
    token = csrf_from(client.get('/login'))
    client.post('/posts/%d/revisions/1/restore' % post.id,
                {'csrf_token': token, 'version': '2'}, status=404)
    client.post('/posts/%d/delete' % post.id, {'csrf_token': token}, status=404)
    # An editor left open on it keeps the text, offered as a new draft.
    form['body'] = 'typed while it was deleted'
    page = form.submit(status=404)
    assert page.forms['post-form']['body'].value == 'typed while it was deleted'
    assert row(post.id) == before


def test_a_save_that_reaches_the_write_after_the_delete_changes_nothing(
        browser, people, make_post, monkeypatch):
    """Trashed between the editor's read and its write transaction: the save reads
    the row again under the write lock, finds no post, and keeps the text (404)."""
    post = make_post(people['alice'], title='Before')
    alice = browser('alice')
    form = alice.get('/posts/%d/edit' % post.id).forms['post-form']
    with db.connection_context():
        snapshot = post_queries.post_with_author(post.id)
        trashing.trash_post(post.id, people['alice'])
    before = row(post.id)
    monkeypatch.setattr(post_queries, 'post_with_author', lambda pid: snapshot)
    form['title'] = 'After'
    page = form.submit(status=404)
    assert page.forms['post-form']['title'].value == 'After'
    assert row(post.id) == before


@pytest.mark.parametrize('status', [PUBLISHED, DRAFT])
@pytest.mark.parametrize('who', ['alice', 'root'])
def test_restore_brings_the_post_back_exactly_as_it_was(browser, people, make_post,
                                                       status, who):
    post = edited_post(browser, make_post, people['alice'], status=status)
    before, history = row(post.id), [rev.__data__ for rev in revisions(post.id)]
    client = browser(who)
    delete(client, post.id)
    assert row(post.id) != before
    response = act(client, 'restore', post.id, 303)
    assert response.location == post_path(post.id, notice='untrashed')
    assert NOTICES['untrashed'] in response.follow().text
    assert row(post.id) == before  # same id, status, published_at, version, tags, body
    assert [rev.__data__ for rev in revisions(post.id)] == history
    with db.connection_context():
        tags = sorted(tag for (tag,) in PostTag.select(PostTag.tag)
                      .where(PostTag.post == post.id).tuples())
    assert tags == ['news', 'zebras']
    if status == PUBLISHED:
        for path in PUBLIC_PAGES:
            assert links(browser().get(path), post.id), path
    browser('alice').get('/posts/%d/history' % post.id, status=200)


@pytest.mark.parametrize('who', ['alice', 'root'])
def test_purge_deletes_the_post_and_its_history(browser, people, make_post, who):
    post = edited_post(browser, make_post, people['alice'])
    other = make_post(people['alice'], title='Another', tags=['news'])
    client = browser(who)
    delete(client, post.id)
    response = act(client, 'purge', post.id, 303)
    assert response.location == '/trash?notice=purged'
    assert NOTICES['purged'] in response.follow().text
    assert row(post.id) is None and revisions(post.id) == []
    with db.connection_context():
        assert [p for (p,) in PostTag.select(PostTag.post).tuples()] == [other.id]
    assert 'Zebra crossing' not in browser('alice').get('/trash').text
    assert not links(browser().get('/search?q=zebra'), post.id)
    assert row(other.id) is not None


# --- who may -------------------------------------------------------------------

@pytest.mark.parametrize('action', ['restore', 'purge'])
@pytest.mark.parametrize('who, status', [(None, 303), ('bob', 404), ('alice', 303),
                                         ('root', 303)])
def test_permission_matrix(browser, people, make_post, action, who, status):
    post = make_post(people['alice'])
    delete(browser('alice'), post.id)
    response = act(browser(who), action, post.id, status)
    after = row(post.id)
    if who is None:
        assert response.location == '/login?next=/trash/%d/%s' % (post.id, action)
    if who in (None, 'bob'):
        assert after['status'] == TRASHED
    elif action == 'restore':
        assert after['status'] == PUBLISHED
    else:
        assert after is None


@pytest.mark.parametrize('target', ['missing', 'live', 'huge'])
@pytest.mark.parametrize('action', ['restore', 'purge'])
def test_only_posts_in_the_trash_can_be_restored_or_purged(browser, people, make_post,
                                                          target, action):
    post = make_post(people['alice'])
    post_id = {'missing': post.id + 1000, 'live': post.id, 'huge': '9' * 18}[target]
    act(browser('root'), action, post_id, 404)
    assert row(post.id)['status'] == PUBLISHED


@pytest.mark.parametrize('first, second', [('restore', 'restore'), ('purge', 'purge'),
                                           ('purge', 'restore'), ('restore', 'purge')])
def test_the_same_button_twice_is_a_404_never_a_500(browser, people, make_post, first,
                                                   second):
    post = make_post(people['alice'])
    alice = browser('alice')
    delete(alice, post.id)
    act(alice, first, post.id, 303)
    act(alice, second, post.id, 404)
    assert (row(post.id) is None) == (first == 'purge')


def test_the_trash_is_for_the_signed_in(browser, people):
    response = browser().get('/trash', status=303)
    assert response.location == '/login?next=/trash'
    assert 'href="/trash"' in browser('bob').get('/').text
    assert 'href="/trash"' not in browser().get('/').text


def test_each_sees_their_own_trash_and_admins_everyones(browser, people, make_post):
    mine = make_post(people['alice'], title='Alice wrote this')
    theirs = make_post(people['bob'], title='Bob wrote this')
    delete(browser('root'), mine.id)
    delete(browser('bob'), theirs.id)
    alice_page = browser('alice').get('/trash').text
    assert 'Alice wrote this' in alice_page and 'Bob wrote this' not in alice_page
    assert 'by The Admin' in alice_page  # who deleted it, when it was not her
    bob_page = browser('bob').get('/trash').text
    assert 'Bob wrote this' in bob_page and 'Alice wrote this' not in bob_page
    admin_page = browser('root').get('/trash').text
    assert admin_page.index('Bob wrote this') < admin_page.index('Alice wrote this')
    assert 'href="/authors/alice">Alice Liddell</a>' in admin_page
    assert 'action="/trash/%d/purge"' % mine.id in admin_page


def test_the_list_shows_when_each_post_goes_newest_deletion_first_50_a_page(
        browser, people, make_post):
    start = utcnow().replace(microsecond=0) - 20 * DAY
    for i in range(51):
        post = make_post(people['alice'], title='Post %02d' % i)
        with db.connection_context():
            trashing.trash_post(post.id, people['alice'], now=start + i * datetime.timedelta(
                minutes=1))
    alice = browser('alice')
    first = alice.get('/trash').text
    titles = re.findall(r'<h2>(Post \d\d)</h2>', first)
    assert titles == ['Post %02d' % i for i in range(50, 0, -1)]
    newest = start + 50 * datetime.timedelta(minutes=1)
    goes = newest + 30 * DAY
    assert '<time datetime="%sZ"' % goes.isoformat() in first
    assert '<time datetime="%sZ"' % newest.isoformat() in first
    assert 'rel="next" href="/trash?page=2"' in first
    assert re.findall(r'<h2>(Post \d\d)</h2>', alice.get('/trash?page=2').text) == ['Post 00']
    for page in ('3', '0', 'x', '9999999'):
        alice.get('/trash?page=' + page, status=404)


# --- undo ----------------------------------------------------------------------

def test_the_notice_after_a_delete_offers_undo(browser, people, make_post):
    post = make_post(people['alice'], title='Oops')
    alice = browser('alice')
    page = delete(alice, post.id).follow()
    assert NOTICES['trashed'] in page.text
    assert '%d days' % trashing.KEEP_DAYS in NOTICES['trashed']
    undo = form_by_action(page, '/trash/%d/restore' % post.id)
    assert 'Undo: restore “Oops”' in page.text
    assert undo.submit(status=303).location == post_path(post.id, notice='untrashed')
    assert row(post.id)['status'] == PUBLISHED


@pytest.mark.parametrize('undo', ['other', 'live', 'x', '-1', '1' * 19, '%00',
                                  '%EF%BC%91'])
def test_undo_only_offers_a_post_the_user_may_restore(browser, people, make_post, undo):
    live = make_post(people['alice'], title='Live one')
    bobs = make_post(people['bob'], title='Bob secret')
    delete(browser('bob'), bobs.id)
    value = {'other': str(bobs.id), 'live': str(live.id)}.get(undo, undo)
    page = browser('alice').get('/trash?notice=trashed&undo=' + value)
    assert NOTICES['trashed'] in page.text
    assert 'Undo' not in page.text and 'Bob secret' not in page.text


def test_notices_come_only_from_the_table(browser, people):
    page = browser('alice').get('/trash?notice=%3Cb%3Ehello%3C/b%3E')
    assert 'hello' not in page.text and 'class="notice"' not in page.text


# --- the 30-day sweep --------------------------------------------------------

def trashed_at(make_post, author, when, title='Old'):
    post = make_post(author, title=title)
    with db.connection_context():
        assert trashing.trash_post(post.id, author, now=when)
    return post


def test_the_sweep_purges_posts_trashed_more_than_30_days_ago(people, make_post, dbconn):
    now = datetime.datetime(2026, 12, 1, 12, 0)
    old = trashed_at(make_post, people['alice'], now - 30 * DAY - datetime.timedelta(seconds=1))
    with db.connection_context():
        Revision.create(post=old.id, version=1, title='Old', body='first', status=PUBLISHED,
                        saved_at=now - 40 * DAY)
    assert len(revisions(old.id)) == 1
    edge = trashed_at(make_post, people['alice'], now - 30 * DAY)
    young = trashed_at(make_post, people['alice'], now - 29 * DAY)
    live = make_post(people['alice'])
    assert trashing.sweep(now=now) == 1
    assert row(old.id) is None and revisions(old.id) == []
    assert row(edge.id) is not None and row(young.id) is not None
    assert trashing.sweep(now=now) == 0
    assert trashing.sweep(now=now + DAY) == 1  # edge; young is exactly 30 days old
    assert row(edge.id) is None and row(young.id) is not None
    assert trashing.sweep(now=now + DAY + datetime.timedelta(microseconds=1)) == 1
    assert row(young.id) is None
    assert row(live.id)['status'] == PUBLISHED


def test_each_sweep_is_bounded_oldest_first(people, make_post, dbconn):
    now = datetime.datetime(2026, 12, 1, 12, 0)
    posts = [trashed_at(make_post, people['alice'], now - (40 + i) * DAY)
             for i in range(trashing.SWEEP_LIMIT + 5)]
    assert trashing.sweep(now=now, limit=3) == 3
    assert [row(post.id) is None for post in posts[-3:]] == [True] * 3
    assert row(posts[-4].id) is not None
    assert trashing.sweep(now=now) == trashing.SWEEP_LIMIT
    assert trashing.sweep(now=now) == 2
    with db.connection_context():
        assert Post.select().count() == 0


def test_the_sweep_runs_when_the_trash_is_shown(browser, people, make_post):
    old = trashed_at(make_post, people['alice'], utcnow() - 31 * DAY, title='Ancient')
    assert row(old.id) is not None
    assert 'Ancient' not in browser('bob').get('/trash').text
    assert row(old.id) is None


def test_the_sweep_runs_when_a_post_is_deleted(browser, people, make_post):
    old = trashed_at(make_post, people['bob'], utcnow() - 31 * DAY)
    post = make_post(people['alice'])
    delete(browser('alice'), post.id)
    assert row(old.id) is None and row(post.id)['status'] == TRASHED


def test_the_sweep_runs_when_the_app_starts(config, people, make_post):
    old = trashed_at(make_post, people['alice'], utcnow() - 31 * DAY)
    recent = trashed_at(make_post, people['alice'], utcnow() - 29 * DAY)
    second = create_app(config)
    second.config[APP_KEY].close()
    assert row(old.id) is None and row(recent.id) is not None


# --- what else leaves trashed posts out -------------------------------------

def test_export_and_post_counts_leave_the_trash_out(browser, people, make_post, config):
    make_post(people['alice'], title='Kept')
    make_post(people['alice'], title='A draft', status=DRAFT)
    gone = make_post(people['alice'], title='Binned')
    admin = browser('root')
    assert '3 posts (drafts included' in admin.get('/admin/users/alice').text
    delete(browser('alice'), gone.id)
    with zipfile.ZipFile(io.BytesIO(browser('alice').get('/settings/export').body)) as archive:
        texts = [archive.read(name).decode() for name in archive.namelist()]
    assert len(texts) == 2 and not any('Binned' in text for text in texts)
    assert '2 posts (drafts included' in admin.get('/admin/users/alice').text
    assert '<td data-label="Posts">2</td>' in admin.get('/admin/users?q=alice').text
    listing = subprocess.run([sys.executable, os.path.join(ROOT, 'run.py'), 'users', '--db',
                              config.db_path], capture_output=True, text=True, cwd=ROOT,
                             timeout=120)
    assert re.search(r'^alice\s+author\s+active\s+2\b', listing.stdout, re.M), listing.stdout


# --- through the real server ------------------------------------------------

@pytest.mark.server
def test_delete_and_restore_over_http(tmp_path):
    with Server(tmp_path / 'blog.db') as server:
        author, reader = Browser(server.url), Browser(server.url)
        assert author.register('alice') == 303
        status, headers, _ = author.request('/posts/new', {
            'title': 'Over the wire', 'body': 'Sent by HTTP.', 'status': 'published',
            'tags': 'wire', 'csrf_token': author.csrf('/posts/new')})
        assert status == 303
        path = headers['Location'].split('?')[0]
        post_id = int(re.match(r'^/posts/(\d+)-over-the-wire$', path).group(1))
        assert reader.request(path)[0] == 200

        status, headers, _ = author.request('/posts/%d/delete' % post_id,
                                            {'csrf_token': author.csrf(path)})
        assert status == 303 and headers['Location'].startswith('/trash?')
        status, _, trash = author.request(headers['Location'])
        assert status == 200 and 'Undo: restore “Over the wire”' in trash
        assert reader.request(path)[0] == 404
        assert 'Over the wire' not in reader.request('/')[2]

        status, headers, _ = author.request('/trash/%d/restore' % post_id,
                                            {'csrf_token': author.csrf('/trash')})
        assert status == 303 and headers['Location'] == '%s?notice=untrashed' % path
        status, _, page = reader.request(path)
        assert status == 200 and 'Over the wire' in page
        assert 'Over the wire' in reader.request('/')[2]
        assert 'Traceback' not in server.output()
