"""Scheduled publishing: `publish_at` in the site's time zone; a scheduled post is
hidden from every public page, feed, sitemap and search until its moment, then
appears with no write, cached pages included."""

import datetime
import re
import time

import pytest

from blog import cache, home, scheduling
from blog.db import NEVER, db
from blog.models import DRAFT, PENDING, PUBLISHED, Post, SiteSettings, SiteState, utcnow
from blog.queries import listings
from tests.conftest import csrf_from, fill_editor, fresh_post

HOUR = datetime.timedelta(hours=1)


def read_post(client, post_id, status=200):
    """GET a post's page, following the redirect to its canonical address; for any
    other status, the bare address must answer it directly (a 301 would tell the
    slug of a post the reader may not see)."""
    response = client.get('/posts/%d' % post_id, status='*')
    if status == 200 and response.status_int == 301:
        response = response.follow(status='*')
    assert response.status_int == status, response.status
    return response


def set_zone(name):
    with db.connection_context():
        SiteSettings.update(timezone=name).execute()


def generation_count():
    with db.connection_context():
        return SiteState.get_by_id(1).generation


# Parsing and the rules ----------------------------------------------------------

@pytest.mark.parametrize('text, zone, expected', [
    ('2026-07-01T09:30', 'Europe/Paris', datetime.datetime(2026, 7, 1, 7, 30)),
    ('2026-01-01T09:30:15', 'Europe/Paris', datetime.datetime(2026, 1, 1, 8, 30, 15)),
    (' 2026-01-01T09:30 ', 'UTC', datetime.datetime(2026, 1, 1, 9, 30)),
    ('2026-11-01T01:30', 'America/New_York',  # passed twice: the first (summer time)
     datetime.datetime(2026, 11, 1, 5, 30)),
    ('', 'UTC', None),
])
def test_times_are_read_in_the_site_zone(text, zone, expected):
    assert scheduling.parse_local(text, zone) == (expected, None)


@pytest.mark.parametrize('text', ['tomorrow', '2026-13-01T10:00', '2026-01-01 10:00',
                                  '2026-01-01T10:00' + ' ' * 50 + 'x'])
def test_a_time_that_is_not_one_is_an_error(text):
    moment, error = scheduling.parse_local(text, 'UTC')
    assert moment is None and 'Write the time as' in error


def test_a_wall_time_the_clocks_skip_is_refused():
    moment, error = scheduling.parse_local('2026-03-29T02:30', 'Europe/Paris')
    assert moment is None and 'clocks skip' in error


def test_times_are_shown_back_in_the_zone():
    moment = datetime.datetime(2026, 7, 1, 7, 30)
    assert scheduling.format_local(moment, 'Europe/Paris') == '2026-07-01T09:30'
    assert scheduling.format_local(moment.replace(second=5), 'UTC') == '2026-07-01T07:30:05'
    assert scheduling.format_local(None, 'UTC') == ''


def test_a_scheduled_posts_slug_follows_its_title_until_it_is_out():
    from blog.slugs import slug_for
    ahead = {'title': 'Draft name', 'slug': 'draft-name', 'status': PUBLISHED,
             'published_at': utcnow() + HOUR}
    assert slug_for({'title': 'Launch name'}, ahead) == 'launch-name'
    out = dict(ahead, published_at=utcnow() - HOUR)
    assert slug_for({'title': 'Launch name'}, out) == 'draft-name'


def test_a_scheduled_post_without_publish_at_keeps_its_time_when_edited(
        browser, people, make_post):
    # An import (or anything that set only published_at) made it so.
    ahead = (utcnow() + 2 * HOUR).replace(microsecond=0)
    post = make_post(people['alice'], title='Imported', published_at=ahead)
    assert post.publish_at is None
    form = editor_form(browser('alice'), '/posts/%d/edit' % post.id, body='Typo fixed.')
    assert form['publish_at'].value == scheduling.format_local(ahead, 'UTC')
    form.submit(status=303)
    saved = fresh_post(post.id)
    assert saved.body == 'Typo fixed.' and saved.published_at == ahead and saved.is_scheduled


def test_the_publication_time_rules():
    now = datetime.datetime(2026, 6, 1, 12, 0)
    ahead, past = now + HOUR, now - HOUR
    rule = scheduling.publication_time
    assert rule(PUBLISHED, None, None, now) == now  # published now
    assert rule(PUBLISHED, None, ahead, now) == ahead  # scheduled
    assert rule(PUBLISHED, None, past, now) == now  # a time gone by: now
    assert rule(PUBLISHED, ahead, None, now) == now  # unscheduled: out now
    assert rule(PUBLISHED, ahead, ahead + HOUR, now) == ahead + HOUR  # moved
    assert rule(PUBLISHED, past, ahead, now) == past  # it has been out: it keeps its date
    assert rule(DRAFT, ahead, ahead, now) is None  # back to a draft: unscheduled
    assert rule(DRAFT, past, None, now) == past  # was out once: the first date stays
    assert rule(PENDING, None, ahead, now) is None


# The editor ------------------------------------------------------------------------

def editor_form(client, path='/posts/new', **fields):
    form = client.get(path).forms['post-form']
    return fill_editor(form, fields)


def test_an_author_schedules_a_post_in_the_site_zone(browser, people):
    set_zone('Europe/Paris')
    alice = browser('alice')
    wanted = utcnow() + datetime.timedelta(days=2)
    typed = scheduling.format_local(wanted, 'Europe/Paris')
    editor = alice.get('/posts/new')
    assert 'Europe/Paris' in editor.text
    assert editor.html.find('input', {'name': 'publish_at'})['type'] == 'datetime-local'
    form = editor_form(alice, title='Later', body='Soon.', status='published', publish_at=typed)
    form.submit(status=303)
    with db.connection_context():
        post = Post.get(Post.title == 'Later')
    assert post.status == PUBLISHED and post.publish_at == wanted.replace(microsecond=0)
    assert post.published_at == post.publish_at and post.is_scheduled
    page = read_post(alice, post.id)
    notice = page.html.select_one('.notice.schedule').text
    assert 'Scheduled: it goes out' in notice and 'Europe/Paris' in notice
    assert page.html.select_one('h1 .badge').text == 'Scheduled'
    edit = alice.get('/posts/%d/edit' % post.id)
    assert edit.forms['post-form']['publish_at'].value == typed
    assert 'Scheduled: it goes out' in edit.text


@pytest.mark.parametrize('typed, message', [
    ('2020-01-01T10:00', 'That time has passed'),
    ('soon', 'Write the time as'),
    ('2099-01-01T10:00', 'within the next ten years'),
])
def test_a_bad_time_comes_back_with_the_form_kept(browser, people, typed, message):
    alice = browser('alice')
    form = editor_form(alice, title='Kept', body='Every word.', status='published',
                       publish_at=typed)
    page = form.submit(status=422)
    assert message in page.html.find(id='f-publish_at-error').text
    assert page.forms['post-form']['body'].value == 'Every word.'
    assert page.forms['post-form']['publish_at'].value == typed
    with db.connection_context():
        assert not Post.select().where(Post.title == 'Kept').exists()


def test_rescheduling_unscheduling_and_taking_back(browser, people, make_post):
    alice = browser('alice')
    post = make_post(people['alice'], title='Plan', published_at=utcnow() + HOUR,
                     publish_at=utcnow() + HOUR)
    later = utcnow() + 3 * HOUR
    form = editor_form(alice, '/posts/%d/edit' % post.id,
                       publish_at=scheduling.format_local(later, 'UTC'))
    form.submit(status=303)
    assert fresh_post(post.id).published_at == later.replace(microsecond=0)
    form = editor_form(alice, '/posts/%d/edit' % post.id, status='draft')
    form.submit(status=303)
    assert fresh_post(post.id).published_at is None  # never out: no date
    form = editor_form(alice, '/posts/%d/edit' % post.id, status='published', publish_at='')
    before = utcnow()
    form.submit(status=303)
    saved = fresh_post(post.id)
    assert saved.is_live and saved.published_at >= before


def test_a_post_that_has_been_out_keeps_its_date(browser, people, make_post):
    alice = browser('alice')
    post = make_post(people['alice'], title='Old news')
    edit = alice.get('/posts/%d/edit' % post.id)
    assert 'publish_at' not in edit.forms['post-form'].fields
    assert 'that date stays as it is' in edit.text
    # A tool sending a time anyway changes nothing of it.
    alice.post('/posts/%d/edit' % post.id, {
        'csrf_token': csrf_from(edit), 'version': str(post.version), 'title': 'Old news',
        'body': 'Changed.', 'status': 'published', 'tags': '',
        'publish_at': scheduling.format_local(utcnow() + HOUR, 'UTC')}, status=303)
    saved = fresh_post(post.id)
    assert saved.published_at == post.published_at and saved.publish_at is None
    assert saved.body == 'Changed.'


def test_an_editor_publishing_a_submission_schedules_it_for_its_time(
        browser, people, make_user):
    make_user('carl', role='contributor')
    make_user('eve', role='editor')
    carl = browser('carl')
    wanted = (utcnow() + 5 * HOUR).replace(second=0, microsecond=0)
    form = editor_form(carl, title='For Friday', body='Words.', status='pending',
                       publish_at=scheduling.format_local(wanted, 'UTC'))
    form.submit(status=303)
    with db.connection_context():
        post = Post.get(Post.title == 'For Friday')
    assert post.status == PENDING and post.publish_at == wanted and post.published_at is None
    eve = browser('eve')
    queue = eve.get('/review')
    eve.post('/review/%d' % post.id, {'csrf_token': csrf_from(queue), 'action': 'publish',
                                      'version': str(post.version)}, status=303)
    saved = fresh_post(post.id)
    assert saved.status == PUBLISHED and saved.published_at == wanted and saved.is_scheduled


def test_a_stale_edit_merges_the_time_with_the_other_change(browser, people, make_post):
    alice = browser('alice')
    post = make_post(people['alice'], title='Plan', status=DRAFT)
    mine = editor_form(alice, '/posts/%d/edit' % post.id)
    theirs = editor_form(browser('root'), '/posts/%d/edit' % post.id, title='Plan B')
    theirs.submit(status=303)
    wanted = (utcnow() + HOUR).replace(second=0, microsecond=0)
    mine['publish_at'] = scheduling.format_local(wanted, 'UTC')
    assert mine.submit(status=303).location.endswith('notice=merged')
    saved = fresh_post(post.id)
    assert saved.title == 'Plan B' and saved.publish_at == wanted


# Hidden until its time ---------------------------------------------------------

PUBLIC = ['/', '/archive', '/feed.atom', '/sitemap.xml', '/tags/soon', '/authors/alice',
          '/authors', '/authors/alice/feed.atom', '/tags/soon/feed.atom', '/search?q=zeppelin']


@pytest.fixture
def scheduled(people, make_post):
    """Alice has a live post, and a later one scheduled an hour ahead; bob has one
    scheduled and nothing live."""
    live = make_post(people['alice'], title='Already out')
    ahead = utcnow() + HOUR
    later = make_post(people['alice'], title='Zeppelin arrives', body='zeppelin',
                      tags=['soon'], published_at=ahead, publish_at=ahead)
    bobs = make_post(people['bob'], title='Bob later', published_at=ahead)
    return live, later, bobs


@pytest.mark.parametrize('path', PUBLIC)
def test_a_scheduled_post_is_on_no_public_page(browser, scheduled, path):
    page = browser(None).get(path, status='*')
    assert 'Zeppelin arrives' not in page.text and 'Bob later' not in page.text
    assert '/posts/%d' % scheduled[1].id not in page.text


@pytest.mark.parametrize('who, status', [(None, 404), ('bob', 404), ('alice', 200),
                                         ('root', 200)])
def test_only_its_author_and_the_editors_read_it_before(browser, scheduled, who, status):
    read_post(browser(who), scheduled[1].id, status)


def test_the_homepage_shows_an_authors_latest_live_post_meanwhile(browser, scheduled,
                                                                  monkeypatch):
    first = browser(None).get('/')
    assert 'Already out' in first.text and 'Bob later' not in first.text
    # The deep-page path (the ordering table) agrees with the shortcut's window.
    with db.connection_context():
        window = home.homepage_entries(1)
        monkeypatch.setattr(home, 'ORDERED_WINDOW', 1)
        ordered = home.homepage_entries(1)
    assert window == ordered and [e['title'] for e in ordered[0]] == ['Already out']


def test_the_ordering_and_the_shortcut_agree_as_time_passes(people, make_post, make_user):
    base = utcnow()
    authors = [make_user('w%d' % k) for k in range(6)]
    for k, author in enumerate(authors):
        make_post(author, title='old %d' % k, published_at=base - (10 + k) * HOUR)
        make_post(author, title='new %d' % k, published_at=base + (k - 2) * HOUR)
    with db.connection_context():
        for hours in range(-1, 6):
            now = base + hours * HOUR
            window = [r.title for r in listings.homepage_posts(0, 50, now, base - 99 * HOUR)]
            ordered = [r.title for r in listings.ordered_homepage_posts(0, 50, now)]
            assert window == ordered, hours
            assert len(ordered) == 6
            assert all(title.startswith('new') == (k - 2 <= hours)
                       for k, title in sorted((int(t[-1]), t) for t in ordered)), ordered


def test_it_appears_at_its_moment_with_no_write_cached_pages_included(
        browser, people, make_post, site):
    anyone = browser(None)
    make_post(people['alice'], title='Out already')
    soon = utcnow() + datetime.timedelta(seconds=1.5)
    post = make_post(people['alice'], title='Right on time', body='punctual', tags=['soon'],
                     published_at=soon)
    for path in ('/', '/feed.atom', '/tags/soon', '/search?q=punctual'):
        assert 'Right on time' not in anyone.get(path, status='*').text
    count = generation_count()
    assert site.cache.generation()[1] == Post.published_at.db_value(soon)
    # Served from the cache meanwhile.
    assert anyone.get('/').headers['ETag'] == anyone.get('/').headers['ETag']
    time.sleep(max(0.0, (soon - utcnow()).total_seconds()) + 0.05)
    for path in ('/', '/feed.atom', '/tags/soon', '/archive', '/search?q=punctual'):
        assert 'Right on time' in anyone.get(path).text, path
    assert '/posts/%d' % post.id in anyone.get('/sitemap.xml').text
    read_post(anyone, post.id)
    assert generation_count() == count  # nothing was written to make it so
    assert site.cache.generation()[1] == NEVER


def test_the_cache_generation_carries_the_next_due_time(site, people, make_post):
    assert site.cache.generation()[1] == NEVER
    ahead = utcnow() + HOUR
    make_post(people['alice'], published_at=ahead)
    make_post(people['alice'], published_at=ahead + HOUR)
    make_post(people['alice'], status=DRAFT)
    generation = site.cache.generation()
    assert generation[1] == Post.published_at.db_value(ahead)
    assert site.cache.fresh_generation() == generation


def test_a_passed_due_time_is_read_again(site, people, make_post, monkeypatch):
    ahead = utcnow() + HOUR
    make_post(people['alice'], published_at=ahead)
    generation = site.cache.generation()
    assert site.cache.fresh_generation() == generation
    real = time.time
    monkeypatch.setattr(cache.time, 'time', lambda: real() + 2 * 3600)
    assert site.cache.fresh_generation() is None  # the front store must not answer
    assert cache._due(generation)
    assert cache.page_etag(('home', 1), generation).startswith('"%d.%x-' % generation)
    assert cache.page_etag(('home', 1), (5, NEVER)).startswith('"5-')


def test_the_next_due_lookup_reads_one_index_entry(dbconn):
    from blog.sqlite import _GENERATION
    plan = ' '.join(row[3] for row in dbconn.execute_sql('EXPLAIN QUERY PLAN ' + _GENERATION,
                                                        (0,)))
    assert re.search(r'USING COVERING INDEX post_published\w* \(published_at>\?\)', plan), plan
