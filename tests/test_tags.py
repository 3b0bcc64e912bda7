"""Tag pages: /tags/<tag>, normalisation, and post_tag following every edit."""

import collections
import datetime
import random
import re

import pytest

from blog.db import db
from blog.models import (
    DRAFT,
    PUBLISHED,
    TAG_SPAN,
    TRASHED,
    Post,
    PostTag,
    Revision,
    TagSpan,
    User,
    utcnow,
)
from blog.queries import readers as queries
from blog.queries import trash
from tests.conftest import PASSWORD, csrf_from
from tests.conftest import fresh_post as fresh


def titles(page):
    return re.findall(r'<h2><a href="/posts/\d+-[a-z0-9-]+">(.*?)</a></h2>', page.text)


def ago(minutes):
    return datetime.datetime(2026, 1, 31, 12, 0) - datetime.timedelta(minutes=minutes)


@pytest.fixture
def alice(make_user):
    return make_user('alice', display_name='Alice')


def test_lists_published_posts_with_the_tag_newest_first(client, alice, make_user, make_post):
    bob = make_user('bob')
    make_post(alice, title='Older', tags=['python', 'web'], published_at=ago(30),
              body='First paragraph about **snakes**.')
    make_post(bob, title='Newer', tags=['python'], published_at=ago(10))
    make_post(alice, title='Draft', tags=['python'], status=DRAFT)
    make_post(alice, title='Elsewhere', tags=['rust'])
    page = client.get('/tags/python')
    assert titles(page) == ['Newer', 'Older']
    assert 'First paragraph about snakes.' in page.text  # a plain-text excerpt
    assert 'href="/tags/web"' in page.text and 'href="/authors/bob"' in page.text
    assert '<time datetime="2026-01-31T11:30:00Z">31 Jan 2026</time>' in page.text
    assert '<link rel="canonical" href="http://blog.test/tags/python">' in page.text
    assert '<meta name="description" content="Posts on Blog tagged “python”' in page.text
    assert ('<link rel="alternate" type="application/atom+xml" '
            'title="Blog: posts tagged python" href="/tags/python/feed.atom">') in page.text


def test_pagination(client, alice, make_post):
    for i in range(25):
        make_post(alice, title='Post %02d' % i, tags=['many'], published_at=ago(100 - i))
    first = client.get('/tags/many')
    assert titles(first) == ['Post %02d' % i for i in range(24, 4, -1)]
    assert 'href="/tags/many?page=2"' in first.text
    second = client.get('/tags/many?page=2')
    assert titles(second) == ['Post %02d' % i for i in range(4, -1, -1)]
    assert '<link rel="canonical" href="http://blog.test/tags/many?page=2">' in second.text
    client.get('/tags/many?page=3', status=404)
    client.get('/tags/many?page=x', status=404)
    client.get('/tags/many?page=-1', status=404)


def test_pages_hold_published_posts_only_newest_first(client, alice, make_post):
    expected = []
    for i in range(60):
        tags = ['odd'] if i % 2 else ['even', 'all']
        status = DRAFT if i % 7 == 0 else 'published'
        make_post(alice, title='P%02d' % i, tags=tags + ['all'] * (i % 2), status=status,
                  published_at=ago(100 - i))
        if i % 2 == 0 and status != DRAFT:
            expected.insert(0, 'P%02d' % i)
    pages = [titles(client.get('/tags/even')), titles(client.get('/tags/even?page=2'))]
    assert pages == [expected[:20], expected[20:]]
    client.get('/tags/even?page=3', status=404)
    all_posts = sum((titles(client.get('/tags/all?page=%d' % n)) for n in (1, 2, 3)), [])
    assert len(all_posts) == 60 - 9 and all_posts == sorted(all_posts, reverse=True)


def tag_dates(post_id):
    with db.connection_context():
        return sorted((row.tag, row.published_at) for row in
                      PostTag.select().where(PostTag.post == post_id))


def test_tag_rows_follow_their_posts_date_through_every_change(client, alice, make_post):
    post = make_post(alice, tags=['a', 'b'], published_at=ago(5))
    when = fresh(post.id).published_at
    assert tag_dates(post.id) == [('a', when), ('b', when)]
    changes = [
        ({'status': DRAFT}, None),  # unpublished
        ({'status': 'published'}, when),
        ({'status': 'trashed', 'trashed_status': 'published', 'deleted_at': ago(0)}, None),
        ({'status': 'published', 'trashed_status': None, 'deleted_at': None}, when),
        ({'published_at': ago(1)}, 'new date'),
    ]
    for fields, expected in changes:
        with db.connection_context():
            Post.update(**fields).where(Post.id == post.id).execute()
        if expected == 'new date':
            expected = fresh(post.id).published_at
        assert tag_dates(post.id) == [('a', expected), ('b', expected)], fields
    with db.connection_context():  # new tags: the new rows get the date too
        Post.update(tags=['c']).where(Post.id == post.id).execute()
    assert tag_dates(post.id) == [('c', fresh(post.id).published_at)]
    assert titles(client.get('/tags/c')) == [post.title]
    client.get('/tags/a', status=404)


def span_site(seed, posts=300):
    """Posts over about three years (so over many 30-day spans) with few distinct
    times (ties), drafts, scheduled posts and a few tags each."""
    rng = random.Random(seed)
    now = utcnow()
    with db.connection_context(), db.atomic():
        User.insert_many([{'username': 'user%d' % n, 'password': 'x', 'created_at': now,
                           'updated_at': now} for n in range(3)]).execute()
        authors = [user.id for user in User.select(User.id)]
        rows = []
        for _ in range(posts):
            when = now - datetime.timedelta(days=rng.choice(range(-40, 1100, 7)),
                                            seconds=rng.choice([0, 0, 30]))
            status = rng.choice([PUBLISHED] * 6 + [DRAFT])
            rows.append({'author': rng.choice(authors), 'title': 'p', 'slug': 'p',
                         'body': 'b', 'html': '<p>b</p>', 'status': status,
                         'tags': rng.sample(['red', 'green', 'blue'], rng.randint(1, 3)),
                         'published_at': when if status == PUBLISHED else None,
                         'created_at': now, 'updated_at': now})
        Post.insert_many(rows).execute()


def expected_tag_page(tag, now):
    """Brute force: the ids of every post live at `now` carrying `tag`, newest first."""
    with db.connection_context():
        posts = [post for post in Post.select()
                 if post.status == PUBLISHED and post.published_at <= now and tag in post.tags]
    return [post.id for post in sorted(posts, key=lambda p: (p.published_at, p.id),
                                       reverse=True)]


def expected_spans():
    """Brute force over post_tag: {(tag, span): published rows}."""
    counts = collections.Counter()
    with db.connection_context():
        for row in PostTag.select().where(PostTag.published_at.is_null(False)):
            span = max(Post.published_at.db_value(row.published_at), 0) // TAG_SPAN
            counts[row.tag, span] += 1
    return counts


def stored_spans():
    with db.connection_context():
        return collections.Counter({(row.tag, row.span): row.posts
                                    for row in TagSpan.select() if row.posts})


@pytest.mark.parametrize('seed', [1, 2])
@pytest.mark.parametrize('limit', [1, 7, 20])
def test_every_slice_of_a_tag_matches_brute_force(site, seed, limit):
    # Offsets that fall in the current span (scheduled posts wait there), at span
    # edges and past the end: each is where the counts say, and ties stay in order.
    span_site(seed)
    now = utcnow()
    for tag in ('red', 'blue'):
        expected = expected_tag_page(tag, now)
        assert len(expected) > 60
        with db.connection_context():
            for offset in range(len(expected) + 2):
                got = [post.id for post in queries.tag_published_posts(tag, limit, offset)]
                assert got == expected[offset:offset + limit], (tag, offset)


@pytest.mark.parametrize('seed', [3, 4])
def test_tag_spans_follow_every_kind_of_write(site, seed):
    span_site(seed, posts=80)
    assert stored_spans() == expected_spans()  # the inserts' triggers
    rng = random.Random(seed)
    now = utcnow()
    with db.connection_context():
        for step in range(120):
            post = Post.get_by_id(rng.choice([row.id for row in Post.select(Post.id)]))
            when = now - datetime.timedelta(days=rng.randint(-30, 1000))
            kind = rng.choice(['unpublish', 'publish', 'redate', 'retag', 'trash',
                               'restore', 'delete', 'insert'])

            def update(**values):
                Post.update(**values).where(Post.id == post.id).execute()  # noqa: B023
            if kind == 'unpublish' and post.status == PUBLISHED:
                update(status=DRAFT)
            elif kind == 'publish' and post.status == DRAFT:
                update(status=PUBLISHED, published_at=when)
            elif kind == 'redate' and post.status == PUBLISHED:
                update(published_at=when)
            elif kind == 'retag':
                update(tags=rng.sample(['red', 'green', 'blue', 'new'], rng.randint(0, 3)))
            elif kind == 'trash' and post.status != TRASHED:
                trash.trash(post.id, post.author_id, now)
            elif kind == 'restore' and post.status == TRASHED:
                trash.untrash(post.id)
            elif kind == 'delete':
                Post.delete().where(Post.id == post.id).execute()
            elif kind == 'insert':
                Post.create(author=post.author_id, title='new', body='b', html='',
                            status=PUBLISHED, published_at=when, tags=['red', 'new'])
            assert stored_spans() == expected_spans(), (step, kind)


def test_a_deep_tag_page_reads_the_date_index_from_its_span(site, dbconn):
    span_site(5)
    now = utcnow()
    deep = len(expected_tag_page('red', now)) - 3
    before, skip = queries.tag_page_start('red', deep, now)
    assert before is not None and skip < 40  # a walk inside one span, not `deep` entries
    sql, params = queries.tag_published_posts('red', 21, deep).sql()
    plan = ' '.join(row[3] for row in dbconn.execute_sql('EXPLAIN QUERY PLAN ' + sql, params))
    assert 'USING COVERING INDEX post_tag_tag_published' in plan, plan
    assert skip in params and deep not in params
    # One bound on the date (the span's end) besides the order: with `now` as well,
    # SQLite may take that one for the range and walk from the newest post.
    assert sql.count('"t3"."published_at"') == 2, sql


@pytest.mark.parametrize('path, location', [
    ('/tags/Python', '/tags/python'),
    ('/tags/PYTHON?page=1', '/tags/python?page=1'),
    ('/tags/%20python%20', '/tags/python'),
    ('/tags/New%20York', '/tags/new-york'),
    ('/tags/Caf%C3%A9', '/tags/caf%C3%A9'),
    ('/tags/Python/feed.atom', '/tags/python/feed.atom'),
])
def test_non_normalised_tags_redirect_permanently(client, alice, make_post, path, location):
    make_post(alice, tags=['python', 'new-york', 'café'])
    response = client.get(path, status=301)
    assert response.headers['Location'] == location
    client.get(location, status=200)


@pytest.mark.parametrize('path', [
    '/tags/unknown',
    '/tags/secret',  # only a draft carries it
    '/tags/a,b',
    '/tags/bad!',
    '/tags/%3Cscript%3E',
    '/tags/' + 'x' * 41,
    '/tags/%00',
])
def test_unknown_or_impossible_tags_are_404(client, alice, make_post, path):
    make_post(alice, tags=['python'])
    make_post(alice, title='Hidden', tags=['secret'], status=DRAFT)
    page = client.get(path, status=404)
    assert 'Hidden' not in page.text


def test_tag_path_that_is_not_utf8_is_400(client):
    client.get('/tags/%ff', status=400)  # a malformed request, not a tag


def test_unicode_tag_page(client, alice, make_post):
    make_post(alice, title='Coffee', tags=['café'])
    page = client.get('/tags/caf%C3%A9')
    assert titles(page) == ['Coffee']
    assert 'href="/tags/caf%C3%A9/feed.atom"' in page.text


def test_post_tag_follows_edits(client, alice, make_post, dbconn):
    post = make_post(alice, title='Moving', tags=['one', 'two'])
    saved = Post.get_by_id(post.id)
    saved.tags = ['two', 'three']
    saved.save_optimistic()
    rows = sorted(t.tag for t in PostTag.select().where(PostTag.post == post.id))
    assert rows == ['three', 'two']
    dbconn.close()
    client.get('/tags/one', status=404)
    assert titles(client.get('/tags/three')) == ['Moving']
    db.connect(reuse_if_open=True)
    saved.status = DRAFT
    saved.save_optimistic()
    dbconn.close()
    client.get('/tags/three', status=404)
    db.connect(reuse_if_open=True)
    saved.delete_instance()
    assert PostTag.select().where(PostTag.post == post.id).count() == 0


def test_tag_edits_go_through_optimistic_locking_and_history(client, alice, auth):
    auth.login('alice', PASSWORD)
    token = csrf_from(client.get('/posts/new'))
    created = client.post('/posts/new', {'title': 'Tagged', 'body': 'text', 'tags': 'Alpha, beta',
                                         'status': 'published', 'csrf_token': token},
                          status=303)
    post_id = int(re.search(r'/posts/(\d+)', created.headers['Location']).group(1))
    assert titles(client.get('/tags/alpha')) == ['Tagged']
    form = {'title': 'Tagged', 'body': 'text', 'status': 'published', 'csrf_token': token}
    client.post('/posts/%d/edit' % post_id, dict(form, tags='gamma', version='1'), status=303)
    stale = client.post('/posts/%d/edit' % post_id, dict(form, tags='delta', version='1'),
                        status=409)
    assert 'delta' in stale.text
    client.get('/tags/alpha', status=404)
    assert titles(client.get('/tags/gamma')) == ['Tagged']
    client.get('/tags/delta', status=404)
    with db.connection_context():
        old = Revision.get((Revision.post == post_id) & (Revision.version == 1))
        assert old.tags == ['alpha', 'beta']


def test_cached_tag_pages_follow_writes(client, alice, make_post, dbconn):
    first = make_post(alice, title='First', tags=['news'])
    dbconn.close()
    assert titles(client.get('/tags/news')) == ['First']
    make_post(alice, title='Second', tags=['news'])
    assert titles(client.get('/tags/news')) == ['Second', 'First']
    db.connect(reuse_if_open=True)
    saved = Post.get_by_id(first.id)
    saved.title = 'First, edited'
    saved.save_optimistic()
    dbconn.close()
    assert titles(client.get('/tags/news')) == ['Second', 'First, edited']


def test_anonymous_readers_get_304_until_a_write(client, alice, make_post):
    make_post(alice, title='First', tags=['news'])
    first = client.get('/tags/news')
    etag = first.headers['ETag']
    client.get('/tags/news', headers={'If-None-Match': etag}, status=304)
    make_post(alice, title='Second', tags=['news'])
    again = client.get('/tags/news', headers={'If-None-Match': etag}, status=200)
    assert titles(again) == ['Second', 'First']


# --- bounded normalisation ------------------------------------------------------

@pytest.fixture
def normalize_calls(monkeypatch):
    """Counts unicodedata.normalize calls made by blog.tagging: one per tag read."""
    from blog import tagging

    calls = []
    real = tagging.unicodedata.normalize

    class Counting:
        @staticmethod
        def normalize(form, text):
            calls.append(len(text))
            return real(form, text)

    monkeypatch.setattr(tagging, 'unicodedata', Counting)
    return calls


HUGE_TAGS = ','.join('t%d' % i for i in range(150_000))  # about 1 MB


def test_normalize_tags_is_capped_before_the_loop(normalize_calls):
    from blog.tagging import TAGS_TEXT_MAX, normalize_tags

    assert len(HUGE_TAGS) > 1_000_000
    tags, error = normalize_tags(HUGE_TAGS)
    assert tags == [] and 'at most %d characters in all' % TAGS_TEXT_MAX in error
    assert normalize_calls == []  # refused before any tag was read


def test_normalize_tags_stops_after_too_many_items(normalize_calls):
    from blog.tagging import TAG_ITEMS_MAX, TAGS_TEXT_MAX, normalize_tags

    text = ','.join(['a'] * (TAGS_TEXT_MAX // 2))  # under the cap, ~840 items
    assert len(text) <= TAGS_TEXT_MAX
    tags, error = normalize_tags(text)
    assert error == 'Use at most 10 tags (there are more than %d).' % TAG_ITEMS_MAX
    assert len(normalize_calls) == TAG_ITEMS_MAX


def test_ordinary_tag_lists_keep_their_messages():
    from blog.tagging import normalize_tags

    many = ','.join('t%d' % i for i in range(25))
    assert normalize_tags(many) == (['t%d' % i for i in range(25)],
                                    'Use at most 10 tags (there are 25).')
    assert normalize_tags(' A, a ,b  c,,') == (['a', 'b-c'], None)


def test_huge_tag_path_is_404_without_reading_it(client, alice, make_post, normalize_calls):
    make_post(alice, title='Tagged', tags=['t1'])
    client.get('/tags/' + HUGE_TAGS, status=404)
    client.get('/tags/' + HUGE_TAGS + '/feed.atom', status=404)
    assert normalize_calls == []


def test_huge_tags_field_is_422_with_input_kept(client, alice, auth, normalize_calls):
    auth.login('alice')
    text = HUGE_TAGS[:300_000]
    page = client.post('/posts/new', {
        'title': 'Kept', 'body': 'Kept body', 'status': 'published', 'tags': text,
        'csrf_token': csrf_from(client.get('/posts/new'))}, status=422)
    assert re.search(r'<p class="error" id="f-tags-error">[^<]*at most \d+ characters in all',
                     page.text)
    assert 'value="%s"' % text in page.text
    assert normalize_calls == []
