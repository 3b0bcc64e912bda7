"""Slugged post addresses: `/posts/<id>-<slug>` (blog.slugs), what a save does to a
slug, and the redirects to it."""

import datetime
import re

import feedparser
import pytest

from blog.editing import PUBLISHED_TEXT, publish_errors
from blog.models import utcnow
from blog.queries import readers
from blog.slugs import FALLBACK, SLUG_MAX, is_slug, slug_for, slugify
from tests.conftest import csrf_from, fill_editor, post_path, save_as
from tests.conftest import fresh_post as fresh
from tests.conftest import post_revisions as revisions
from tests.server import Browser, Server

# --- slugify ------------------------------------------------------------------


@pytest.mark.parametrize('text, slug', [
    ('Hello, World!', 'hello-world'),
    ('Ça va? Größe — 東京', 'ca-va-grosse-dong-jing'),
    ('Café crème', 'cafe-creme'),
    ('Привет, мир', 'privet-mir'),
    ('日本語', 'ri-ben-yu'),
    ("Don't panic", 'dont-panic'),
    ('Don\u2019t panic', 'dont-panic'),
    ('  --Spaces and  dashes--  ', 'spaces-and-dashes'),
    ('C++ & C#: 100% done', 'c-c-100-done'),
    ('2024', '2024'),
])
def test_slugify_folds_to_readable_ascii(text, slug):
    assert slugify(text) == slug


@pytest.mark.parametrize('text', ['', '   ', '---', '!!! ???', '😀🎉', None])
def test_a_text_with_nothing_left_gives_post(text):
    assert slugify(text) == FALLBACK == 'post'


def test_long_titles_are_cut_after_a_whole_word():
    title = 'The quick brown fox jumps over the lazy dog and keeps on running far away'
    slug = slugify(title)
    assert slug == 'the-quick-brown-fox-jumps-over-the-lazy-dog-and-keeps-on'
    assert len(slug) <= SLUG_MAX and title.lower().replace(' ', '-').startswith(slug + '-')
    # A word that ends exactly at the limit stays whole.
    exact = 'a' * 58 + ' b' + ' cc'
    assert slugify(exact) == 'a' * 58 + '-b'
    # One word longer than the limit is cut inside it.
    assert slugify('x' * 100) == 'x' * SLUG_MAX
    assert slugify('y' * 70 + ' tail') == 'y' * SLUG_MAX


def test_is_slug_accepts_only_what_slugify_makes():
    assert is_slug('hello-world') and is_slug('post') and is_slug('2024')
    for text in ('', 'Hello', 'hello world', 'hello--world', '-hello', 'x' * 61, None, 7):
        assert not is_slug(text)


# --- slug_for: what a save gives a post ------------------------------------------

WHEN = datetime.datetime(2026, 1, 31, 9, 30)


def stored(title, slug, status='draft', published_at=None):
    return {'title': title, 'slug': slug, 'status': status, 'published_at': published_at}


def test_slug_for_a_new_post_takes_the_slug_field_or_else_its_title():
    assert slug_for({'title': 'First post'}) == 'first-post'
    assert slug_for({'title': 'First post', 'slug': None}) == 'first-post'
    assert slug_for({'title': 'First post', 'slug': ''}) == 'first-post'
    assert slug_for({'title': 'First post', 'slug': '   '}) == 'first-post'
    assert slug_for({'title': 'First post', 'slug': 'My Own Words'}) == 'my-own-words'
    assert slug_for({'title': '!!!', 'slug': None}) == 'post'


def test_slug_for_a_draft_follows_its_title():
    draft = stored('Old title', 'old-title')
    assert slug_for({'title': 'New title'}, draft) == 'new-title'
    # The editor sends the stored slug back unchanged: still the title's.
    assert slug_for({'title': 'New title', 'slug': 'old-title'}, draft) == 'new-title'
    # So does a post in review.
    pending = stored('Old title', 'old-title', status='pending')
    assert slug_for({'title': 'New title', 'slug': 'old-title'}, pending) == 'new-title'


def test_slug_for_a_published_post_keeps_its_slug():
    post = stored('Old title', 'old-title', 'published', WHEN)
    assert slug_for({'title': 'New title'}, post) == 'old-title'
    assert slug_for({'title': 'New title', 'slug': 'old-title'}, post) == 'old-title'
    assert slug_for({'title': 'New title', 'slug': 'Old Title'}, post) == 'old-title'
    # Taken back to a draft (it keeps its date): a draft follows its title again.
    back = stored('Old title', 'old-title', 'draft', WHEN)
    assert slug_for({'title': 'New title'}, back) == 'new-title'


def test_slug_for_a_slug_chosen_by_hand_stays_on_a_draft():
    draft = stored('Old title', 'my-words')
    assert slug_for({'title': 'New title'}, draft) == 'my-words'
    assert slug_for({'title': 'New title', 'slug': 'my-words'}, draft) == 'my-words'


def test_slug_for_the_author_can_change_it_or_clear_it():
    post = stored('Old title', 'old-title', 'published', WHEN)
    assert slug_for({'title': 'Old title', 'slug': 'Better words'}, post) == 'better-words'
    assert slug_for({'title': 'New title', 'slug': ''}, post) == 'new-title'
    assert slug_for({'title': 'New title', 'slug': '  '}, post) == 'new-title'
    custom = stored('Old title', 'my-words')
    assert slug_for({'title': 'New title', 'slug': ''}, custom) == 'new-title'


def test_slug_for_a_stored_empty_slug_is_never_kept():
    post = stored('Title', '', 'published', WHEN)
    assert slug_for({'title': 'Title'}, post) == 'title'


# --- the editor: what saving does to a slug --------------------------------------

def new_post(client, **fields):
    form = client.get('/posts/new').forms['post-form']
    values = {'title': 'First light', 'body': 'Hello.', 'status': 'published', 'tags': ''}
    values.update(fields)
    response = fill_editor(form, values).submit(status=303)
    return int(re.match(r'^/posts/(\d+)', response.location).group(1))


def edit(client, post_id, expect=303, **fields):
    form = client.get('/posts/%d/edit' % post_id).forms['post-form']
    return fill_editor(form, fields).submit(status=expect)


def test_the_editor_offers_the_slug_field(browser, make_post, people):
    alice = browser('alice')
    field = alice.get('/posts/new').forms['post-form']['slug']
    assert field.value == ''
    post = make_post(people['alice'], title='Hello there')
    page = alice.get('/posts/%d/edit' % post.id)
    assert page.forms['post-form']['slug'].value == 'hello-there'
    assert '<label for="f-slug">URL (optional)</label>' in page.text


def test_a_new_post_gets_its_titles_slug_or_the_one_typed(browser, people):
    alice = browser('alice')
    assert fresh(new_post(alice, title='Ça va? Größe — 東京')).slug == 'ca-va-grosse-dong-jing'
    assert fresh(new_post(alice, title='Hello', slug='  My Own Words! ')).slug == 'my-own-words'
    assert fresh(new_post(alice, title='😀', slug='')).slug == 'post'


def test_a_draft_follows_its_title(browser, people):
    alice = browser('alice')
    post_id = new_post(alice, title='Early name', status='draft')
    assert fresh(post_id).slug == 'early-name'
    edit(alice, post_id, title='Better name')  # the field is sent as the form shows it
    assert fresh(post_id).slug == 'better-name'


def test_a_published_post_keeps_its_slug_when_its_title_changes(browser, people):
    alice = browser('alice')
    post_id = new_post(alice, title='Launch day')
    edit(alice, post_id, title='Launch day (updated)', body='More.')
    post = fresh(post_id)
    assert post.title == 'Launch day (updated)' and post.slug == 'launch-day'


def test_a_hand_made_slug_stays_on_a_draft(browser, people):
    alice = browser('alice')
    post_id = new_post(alice, title='Working title', slug='the-real-one', status='draft')
    edit(alice, post_id, title='Another working title')
    assert fresh(post_id).slug == 'the-real-one'


def test_the_author_changes_a_published_slug_and_that_alone_is_a_save(browser, people):
    alice = browser('alice')
    post_id = new_post(alice, title='Launch day')
    response = edit(alice, post_id, slug='Launch Day 2026')
    assert response.location == '/posts/%d-launch-day-2026?notice=saved' % post_id
    post = fresh(post_id)
    assert post.slug == 'launch-day-2026' and post.version == 2
    assert [rev.version for rev in revisions(post_id)] == [1]
    # Sending it again as shown changes nothing.
    again = edit(alice, post_id)
    assert again.location.endswith('notice=unchanged') and fresh(post_id).version == 2


def test_clearing_the_field_takes_the_titles_slug(browser, people):
    alice = browser('alice')
    post_id = new_post(alice, title='Old title')
    edit(alice, post_id, title='New title', slug='')
    assert fresh(post_id).slug == 'new-title'


def test_a_tool_that_never_sends_the_field_keeps_working(browser, people):
    alice = browser('alice')
    token = csrf_from(alice.get('/posts/new'))
    created = alice.post('/posts/new', {'title': 'From a tool', 'body': 'b',
                                        'status': 'draft', 'tags': '', 'csrf_token': token},
                         status=303)
    post_id = int(re.match(r'^/posts/(\d+)', created.location).group(1))
    assert fresh(post_id).slug == 'from-a-tool'
    alice.post('/posts/%d/edit' % post_id, {'title': 'Renamed by the tool', 'body': 'b',
                                             'status': 'published', 'tags': '',
                                             'version': '1', 'csrf_token': token}, status=303)
    assert fresh(post_id).slug == 'renamed-by-the-tool'  # it was a draft until this save
    alice.post('/posts/%d/edit' % post_id, {'title': 'Renamed again', 'body': 'b',
                                             'status': 'published', 'tags': '',
                                             'version': '2', 'csrf_token': token}, status=303)
    assert fresh(post_id).slug == 'renamed-by-the-tool'  # published: it stays


def test_a_slug_field_too_long_is_a_422_with_the_text_kept(browser, people):
    alice = browser('alice')
    post_id = new_post(alice, title='Fine')
    page = edit(alice, post_id, expect=422, slug='x' * 201, body='Kept body')
    assert 'The URL can be at most 200 characters' in page.text
    assert page.forms['post-form']['slug'].value == 'x' * 201
    assert page.forms['post-form']['body'].value == 'Kept body'
    assert fresh(post_id).slug == 'fine'


def test_a_contributor_cannot_move_a_published_post(make_user):
    # The editor refuses a contributor's save of a published post before this (its
    # status); restores and merges come here, and only an author or an editor may
    # change the address readers know.
    carol = make_user('carol', role='contributor')
    before = {'title': 'T', 'body': 'B', 'status': 'published', 'tags': [], 'slug': 't'}
    assert publish_errors(carol, carol.id, before, dict(before)) == {}
    assert publish_errors(carol, carol.id, before, dict(before, slug='elsewhere')) == {
        'form': PUBLISHED_TEXT}
    alice = make_user('alice', role='author')
    assert publish_errors(alice, alice.id, before, dict(before, slug='elsewhere')) == {}


def test_restoring_an_old_version_keeps_a_published_posts_slug(browser, people):
    alice = browser('alice')
    post_id = new_post(alice, title='Original')
    edit(alice, post_id, title='Changed', body='Changed body')
    page = alice.get('/posts/%d/revisions/1' % post_id)
    restore = '/posts/%d/revisions/1/restore' % post_id
    next(form for form in page.forms.values() if form.action == restore).submit(status=303)
    post = fresh(post_id)
    assert post.title == 'Original' and post.slug == 'original' and post.version == 3


# --- the routes: /posts/<id>-<slug>, and 301s to it ------------------------------

def test_the_post_is_at_its_slugged_address(client, people, make_post):
    post = make_post(people['alice'], title='Ça va? Größe — 東京')
    assert post_path(post) == '/posts/%d-ca-va-grosse-dong-jing' % post.id
    page = client.get('/posts/%d-ca-va-grosse-dong-jing' % post.id)
    assert '<h1>Ça va? Größe — 東京</h1>' in page.text
    canonical = 'http://blog.test/posts/%d-ca-va-grosse-dong-jing' % post.id
    assert '<link rel="canonical" href="%s">' % canonical in page.text
    assert '<meta property="og:url" content="%s">' % canonical in page.text


@pytest.mark.parametrize('asked, query', [
    ('/posts/{id}', ''),
    ('/posts/{id}', '?notice=saved&x=%C3%A9'),
    ('/posts/{id}-old-title', ''),
    ('/posts/{id}-old-title', '?page=2'),
    ('/posts/{id}-', ''),
    ('/posts/{id}-fresh-title-but-longer', ''),
    ('/posts/{id}-%E6%9D%B1%E4%BA%AC', '?a=1'),
    ('/posts/{id}-fresh-title-', ''),
])
def test_the_bare_id_and_other_slugs_answer_301_keeping_the_query(client, people, make_post,
                                                                   asked, query):
    post = make_post(people['alice'], title='Fresh title')
    response = client.get(asked.format(id=post.id) + query, status=301)
    assert response.headers['Location'] == '/posts/%d-fresh-title%s' % (post.id, query)
    # (Not response.follow(): WebOb cannot rebuild a request path outside Latin-1.)
    assert client.get(response.location).status_int == 200
    # Asked again, now that the page is kept for anonymous readers: the same 301.
    assert client.get(asked.format(id=post.id) + query, status=301).location \
        == response.location


def test_the_author_is_sent_to_their_drafts_address(browser, people, make_post):
    draft = make_post(people['alice'], title='Secret plan', status='draft')
    alice = browser('alice')
    for asked in ('/posts/%d' % draft.id, '/posts/%d-old' % draft.id):
        assert alice.get(asked, status=301).location == '/posts/%d-secret-plan' % draft.id
    assert 'Secret plan' in alice.get('/posts/%d-secret-plan' % draft.id).text
    root = browser('root')  # an admin (an editor) may read it too
    assert root.get('/posts/%d' % draft.id, status=301).location.endswith('-secret-plan')


@pytest.mark.parametrize('status', ['draft', 'pending', 'trashed'])
def test_a_hidden_post_is_a_404_and_never_a_301(browser, people, make_post, status):
    fields = {'trashed_status': 'draft', 'deleted_at': utcnow()} if status == 'trashed' else {}
    hidden = make_post(people['alice'], title='Secret plan', status=status, **fields)
    readers = [browser(), browser('bob')] + ([browser('alice')] if status == 'trashed' else [])
    for reader in readers:
        for path in ('/posts/%d', '/posts/%d-wrong', '/posts/%d?x=1', '/posts/%d-wrong?x=1'):
            page = reader.get(path % hidden.id, status=404)
            assert 'secret-plan' not in page.text and 'Location' not in page.headers
        page = reader.get('/posts/%d-secret-plan' % hidden.id, status=404)
        assert 'Secret plan' not in page.text


def test_a_post_that_does_not_exist_is_a_404(client, people, make_post):
    post = make_post(people['alice'], title='Only one')
    for path in ('/posts/%d' % (post.id + 1), '/posts/%d-only-one' % (post.id + 1),
                 '/posts/0-only-one', '/posts/999999999999999999-x'):
        client.get(path, status=404)
    # Not ids at all: no route.
    for path in ('/posts/x-only-one', '/posts/-%d' % post.id, '/posts/%d-only-one/' % post.id,
                 '/posts/1234567890123456789-x'):
        client.get(path, status=404)


def test_after_a_slug_change_the_old_address_moves_on(browser, client, people):
    alice = browser('alice')
    post_id = new_post(alice, title='Launch day')
    old = '/posts/%d-launch-day' % post_id
    assert client.get(old).status_int == 200
    assert client.get(old).status_int == 200  # kept whole for anonymous readers now
    edit(alice, post_id, slug='Launch recap')
    assert client.get(old, status=301).location == '/posts/%d-launch-recap' % post_id
    assert client.get('/posts/%d-launch-recap' % post_id).status_int == 200
    # A signed-in reader too.
    assert browser('bob').get(old, status=301).location.endswith('-launch-recap')


def test_a_stale_slug_is_never_rendered_as_the_page(site, client, people, make_post, dbconn):
    """Even when the slug this process knows lags behind the database (another
    process's write not seen yet), the page is only ever made for the slug it has."""
    post = make_post(people['alice'], title='Right words')
    client.get(post_path(post))  # the slug is cached now, with this generation
    generation = site.cache.generation()
    site.cache.put(('post-slug', post.id), generation, 'wrong-words')
    for _ in range(2):
        response = client.get('/posts/%d-wrong-words' % post.id, status=301)
        assert response.location == '/posts/%d-right-words' % post.id
        # ... and the right address is the page, not a 301 to itself.
        assert '<h1>Right words</h1>' in client.get(response.location, status=200).text
    assert site.cache.get(('post-slug', post.id), generation) == 'wrong-words'


def test_saving_and_restoring_land_on_the_slugged_address(browser, people):
    alice = browser('alice')
    form = alice.get('/posts/new').forms['post-form']
    form['title'], form['body'] = 'Landing', 'Body.'
    created = save_as(form, 'published', status=303)
    post_id = int(re.match(r'^/posts/(\d+)', created.location).group(1))
    assert created.location == '/posts/%d-landing?notice=created' % post_id
    saved = edit(alice, post_id, body='New body.')
    assert saved.location == '/posts/%d-landing?notice=saved' % post_id
    page = alice.get('/posts/%d-landing' % post_id)
    delete = '/posts/%d/delete' % post_id
    next(f for f in page.forms.values() if f.action == delete).submit(status=303)
    trash = alice.get('/trash')
    restore = '/trash/%d/restore' % post_id
    restored = next(f for f in trash.forms.values() if f.action == restore).submit(status=303)
    assert restored.location == '/posts/%d-landing?notice=untrashed' % post_id


# --- every link uses the slugged address ---------------------------------------

@pytest.fixture
def published(people, make_post):
    """A published post by alice, tagged, whose title is not its slug's words."""
    return make_post(people['alice'], title='Größe: Zürich at night', tags=['travel'],
                     body='Lights over the lake.')


def links_to(page, post):
    return ('href="/posts/%d-grosse-zurich-at-night"' % post.id) in page.text


def test_list_pages_link_to_the_slugged_address(client, published):
    assert fresh(published.id).slug == 'grosse-zurich-at-night'
    for path in ('/', '/archive', '/tags/travel', '/authors', '/authors/alice',
                 '/search?q=lake'):
        page = client.get(path)
        assert links_to(page, published), path
        assert 'href="/posts/%d"' % published.id not in page.text, path


def test_signed_in_pages_link_to_the_slugged_address(browser, people, make_post, published):
    alice = browser('alice')
    for path in ('/me/posts?state=published', '/posts/%d/edit' % published.id,
                 '/posts/%d/history' % published.id):
        assert links_to(alice.get(path), published), path
    pending = make_post(people['alice'], title='In review now', status='pending')
    page = browser('root').get('/review')
    assert 'href="/posts/%d-in-review-now"' % pending.id in page.text
    edit(alice, published.id, body='Changed.')
    assert links_to(alice.get('/posts/%d/revisions/1' % published.id), published)


def test_feeds_link_the_slugged_address_and_keep_ids_from_the_bare_one(client, published):
    address = 'http://blog.test/posts/%d-grosse-zurich-at-night' % published.id
    day = published.published_at.strftime('%Y-%m-%d')
    for path in ('/feed.atom', '/authors/alice/feed.atom', '/tags/travel/feed.atom'):
        feed = feedparser.parse(client.get(path).body)
        entry, = feed.entries
        assert entry.link == address, path
        assert entry.id == 'tag:blog.test,%s:/posts/%d' % (day, published.id)


def test_the_sitemap_lists_the_slugged_address(client, published, dbconn):
    text = client.get('/sitemap.xml').text
    assert '<loc>http://blog.test/posts/%d-grosse-zurich-at-night</loc>' % published.id in text
    assert '<loc>http://blog.test/posts/%d</loc>' % published.id not in text
    sql, params = readers.sitemap_posts().limit(10).sql()
    plan = ' '.join(row[3] for row in dbconn.execute_sql('EXPLAIN QUERY PLAN ' + sql, params))
    assert 'USING COVERING INDEX post_published_id' in plan, plan


# --- through the real server ---------------------------------------------------

@pytest.mark.server
def test_the_real_server_sends_old_addresses_on_to_the_slugged_one(tmp_path):
    with Server(tmp_path / 'blog.db') as server:
        author, reader = Browser(server.url), Browser(server.url)
        assert author.register('alice') == 303
        status, headers, _ = author.request('/posts/new', {
            'title': 'Über den Wolken', 'body': 'Hoch oben.', 'status': 'published',
            'tags': '', 'csrf_token': author.csrf('/posts/new')}, multipart=True)
        assert status == 303
        address = headers['Location'].split('?')[0]
        post_id = int(re.match(r'^/posts/(\d+)-uber-den-wolken$', address).group(1))
        for _ in range(2):  # the second time, the page is kept whole (blog.front)
            status, _, page = reader.request(address)
            assert status == 200 and '<h1>Über den Wolken</h1>' in page
        # The bare id, a stale slug, the title's own words (not ASCII).
        for asked in ('/posts/%d' % post_id, '/posts/%d-old-words' % post_id,
                      '/posts/%d-%%C3%%9Cber-den-Wolken' % post_id):
            status, headers, _ = reader.request(asked + '?from=feed')
            assert (status, headers.get('Location')) == (301, address + '?from=feed'), asked
            status, _, page = reader.request(headers['Location'])
            assert status == 200 and 'Hoch oben.' in page
        # A path that is not UTF-8 stays a malformed request (WebTest cannot send it).
        assert reader.request('/posts/%d-%%ff%%fe' % post_id)[0] == 400

        # The author gives it another slug: the old address moves on at once.
        token, version, _ = author.form('/posts/%d/edit' % post_id)
        status, headers, _ = author.request('/posts/%d/edit' % post_id, {
            'csrf_token': token, 'version': version, 'title': 'Über den Wolken',
            'slug': 'Above the clouds', 'body': 'Hoch oben.', 'status': 'published',
            'tags': ''}, multipart=True)
        assert (status, headers['Location']) == (
            303, '/posts/%d-above-the-clouds?notice=saved' % post_id)
        status, headers, _ = reader.request(address)
        assert (status, headers['Location']) == (301, '/posts/%d-above-the-clouds' % post_id)
        assert reader.request(headers['Location'])[0] == 200

        # A draft: a 404 for the reader, however it is asked for, never a 301.
        status, headers, _ = author.request('/posts/new', {
            'title': 'Not yet', 'body': 'Soon.', 'status': 'draft', 'tags': '',
            'csrf_token': author.csrf('/posts/new')}, multipart=True)
        draft = headers['Location'].split('?')[0]
        draft_id = int(re.match(r'^/posts/(\d+)-not-yet$', draft).group(1))
        for asked in (draft, '/posts/%d' % draft_id, '/posts/%d-old' % draft_id):
            status, headers, _ = reader.request(asked)
            assert status == 404 and 'Location' not in headers, asked
        status, headers, page = author.request('/posts/%d' % draft_id)
        assert (status, headers.get('Location')) == (301, draft), page[:3000]
        assert 'Traceback' not in server.output()


def test_an_old_link_is_answered_from_the_posts_card_without_reading_its_text(
        client, browser, people, make_post, monkeypatch):
    from blog.queries import posts as post_queries
    post = make_post(people['alice'], title='Card only', body='x' * 50_000)
    draft = make_post(people['alice'], title='Hidden', status='draft')

    def whole_post(post_id):
        raise AssertionError('the bare address read the whole post')
    monkeypatch.setattr(post_queries, 'post_with_author', whole_post)
    answer = client.get('/posts/%d' % post.id, status=301)
    assert answer.headers['Location'] == post_path(post.id)
    client.get('/posts/%d' % draft.id, status=404)  # never its slug
    assert browser('alice').get('/posts/%d' % draft.id, status=301).headers[
        'Location'] == post_path(draft.id)
