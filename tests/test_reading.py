"""Reading a post and writing one: word counts and reading time (blog.reading), the
editor's save buttons, the post page's author box and next/previous posts, times in
the site's time zone (blog.render), and the error summary of a form that came back."""

import datetime
import re

import pytest

from blog import reading, render, site_settings
from blog.db import db
from blog.editing import editor_actions
from blog.models import DRAFT, PENDING, PUBLISHED, Post, utcnow
from tests.conftest import post_path, save_as

MINUTE = datetime.timedelta(minutes=1)


@pytest.mark.parametrize('text, words', [
    ('', 0),
    ('One', 1),
    ("Don't stop: well-kept words, 3 of them.", 7),
    ('# A heading\n\n* a **bold** list item\n> quoted', 7),
    ('Ünïcödé – and Ελληνικά', 3),
    ('漢字かな and カタカナ', 9),  # no spaces between words: each character counts
    ('字' * 600, 600),
    ('snake_case is two', 4),
    ('[a link](https://example.com/page)', 6),
])
def test_words_are_runs_of_letters_and_digits(text, words):
    assert reading.word_count(text) == words


@pytest.mark.parametrize('words, minutes', [(0, 0), (1, 1), (230, 1), (231, 2), (2300, 10)])
def test_reading_time_is_whole_minutes_at_230_words(words, minutes):
    assert reading.reading_minutes(words) == minutes


def test_describe_says_words_and_minutes():
    assert reading.describe(reading.reading_stats('word ' * 1204)) == '1,204 words · 6 min read'
    assert reading.describe(reading.reading_stats('word')) == '1 word · 1 min read'


# --- the editor -------------------------------------------------------------------

def buttons(page):
    return [(b.text.strip(), b.get('value')) for b in
            page.html.select('#post-form button[name=status]')]


@pytest.mark.parametrize('role, state, expected', [
    ('contributor', None, [('Save draft', DRAFT), ('Submit for review', PENDING)]),
    ('author', None, [('Save draft', DRAFT), ('Publish', PUBLISHED)]),
    ('author', DRAFT, [('Save draft', DRAFT), ('Publish', PUBLISHED)]),
    ('author', PUBLISHED, [('Update', PUBLISHED), ('Unpublish (back to draft)', DRAFT)]),
    ('contributor', PENDING, [('Save (stays in review)', PENDING), ('Back to draft', DRAFT)]),
    ('editor', PENDING, [('Save (stays in review)', PENDING), ('Publish', PUBLISHED),
                         ('Back to draft', DRAFT)]),
    ('contributor', PUBLISHED, []),
])
def test_the_editor_offers_the_buttons_of_the_post_s_state(client_for, make_user, make_post,
                                                          role, state, expected):
    writer = make_user('writer', role=role)
    if state is None:
        page = client_for('writer').get('/posts/new')
    else:
        post = make_post(writer, status=state)
        page = client_for('writer').get('/posts/%d/edit' % post.id)
    assert buttons(page) == expected
    # The first submit button is what Enter in a field does: never more than saving.
    first = page.html.select_one('#post-form button[type=submit]')
    assert first.get('value') != PUBLISHED or state == PUBLISHED
    assert 'Preview' in [b.text for b in page.html.select('#post-form button')]


def test_a_scheduled_post_is_updated_as_a_schedule(people, make_post):
    post = make_post(people['alice'], published_at=utcnow() + 60 * MINUTE)
    assert editor_actions(post, True)[0] == ('Update schedule', PUBLISHED, '')


def test_the_buttons_save_the_state_they_name(browser, people):
    alice = browser('alice')
    form = alice.get('/posts/new').forms['post-form']
    form['title'], form['body'] = 'Buttons', 'Words here.'
    created = save_as(form, DRAFT, status=303)
    post_id = int(re.match(r'/posts/(\d+)', created.location).group(1))
    with db.connection_context():
        assert Post.get_by_id(post_id).status == DRAFT
    form = alice.get('/posts/%d/edit' % post_id).forms['post-form']
    save_as(form, PUBLISHED, status=303)
    with db.connection_context():
        assert Post.get_by_id(post_id).status == PUBLISHED
    # Preview carries no state: the post keeps its own, and nothing is saved.
    form = alice.get('/posts/%d/edit' % post_id).forms['post-form']
    form['body'] = 'Changed, only previewed.'
    page = form.submit('preview', status=200)
    assert 'Changed, only previewed.' in page.html.select_one('.preview').text
    with db.connection_context():
        post = Post.get_by_id(post_id)
        assert (post.status, post.body, post.version) == (PUBLISHED, 'Words here.', 2)


def test_the_editor_counts_words_and_shows_no_version_number(browser, people, make_post):
    post = make_post(people['alice'], body='word ' * 460)
    page = browser('alice').get('/posts/%d/edit' % post.id)
    assert page.html.select_one('#writing-stats').text == '460 words · 2 min read'
    assert page.forms['post-form']['version'].value == '1'  # hidden, for the version check
    assert not re.search(r'version \d', page.html.select_one('main').text, re.I)
    form = page.forms['post-form']
    form['body'] = 'Just three words.'
    preview = form.submit('preview', status=200)
    assert '3 words · 1 min read' in preview.html.select_one('#preview-heading').text
    assert preview.html.select_one('#writing-stats').text == '3 words · 1 min read'


def test_a_form_that_comes_back_summarises_its_errors_and_focuses_the_first(browser):
    alice = browser('alice')
    form = alice.get('/posts/new').forms['post-form']
    form['title'], form['body'], form['tags'] = '', '', ', '.join('abcdefghijk')
    page = save_as(form, DRAFT, status=422)
    assert page.html.title.text.startswith('Error: New post')
    summary = page.html.select_one('.error-summary[role=alert]')
    links = [(a['href'], a.text) for a in summary.select('a')]
    assert [href for href, _ in links] == ['#f-title', '#f-body', '#f-tags']
    assert summary.h2.text == 'There are 3 problems'
    focused = page.html.select('[autofocus]')
    assert [element['id'] for element in focused] == ['f-title']
    # Each link's target exists and carries the error beside it.
    for href, text in links:
        field = page.html.select_one(href)
        assert field['aria-invalid'] == 'true'
        assert page.html.select_one(href + '-error').text == text
    # The settings holding an invalid field are open.
    assert page.html.select_one('details.post-settings').has_attr('open')


def test_a_good_page_has_no_error_title_or_summary(browser):
    page = browser('alice').get('/posts/new')
    assert not page.html.title.text.startswith('Error')
    assert page.html.select('.error-summary, [autofocus]') == []


# --- the post page ----------------------------------------------------------------

def test_a_post_shows_reading_time_and_its_author(browser, people, make_user):
    bio_writer = make_user('writer', display_name='W. Riter', bio='Writes.\nOften.')
    post_id = None
    with db.connection_context():
        post_id = Post.create(author=bio_writer, title='Long', body='word ' * 700, html='<p>x</p>',
                              status=PUBLISHED, slug='long', created_at=utcnow(),
                              updated_at=utcnow(), published_at=utcnow()).id
    page = browser(None).get(post_path(post_id))
    assert '4 min read' in page.html.select_one('.post-header .meta').text
    box = page.html.select_one('aside.author-box')
    assert box.h2.text == 'About W. Riter'
    assert 'Writes.' in box.text and box.select_one('br') is not None
    assert box.select_one('a')['href'] == '/authors/writer'


def test_next_and_previous_are_the_same_author_s_live_posts(browser, people, make_post):
    alice, bob = people['alice'], people['bob']
    now = utcnow()
    first = make_post(alice, title='First', published_at=now - 50 * MINUTE)
    make_post(bob, title='Someone else', published_at=now - 40 * MINUTE)
    make_post(alice, title='A draft', status=DRAFT)
    # Two posts of the same moment: the later id comes after.
    tie_a = make_post(alice, title='Tie A', published_at=now - 30 * MINUTE)
    tie_b = make_post(alice, title='Tie B', published_at=now - 30 * MINUTE)
    binned = make_post(alice, title='Binned', published_at=now - 20 * MINUTE)
    with db.connection_context():
        (Post
         .update(status='trashed', trashed_status=PUBLISHED, deleted_at=now)
         .where(Post.id == binned.id)
         .execute())
    last = make_post(alice, title='Last', published_at=now - 10 * MINUTE)
    make_post(alice, title='Later', published_at=now + 60 * MINUTE)  # scheduled
    reader = browser(None)

    def neighbours(post):
        nav = reader.get(post_path(post.id)).html.select_one('nav.post-nav')
        if nav is None:
            return None, None
        prev, nxt = nav.select_one('a[rel=prev]'), nav.select_one('a[rel=next]')
        return (prev.select_one('.title').text if prev else None,
                nxt.select_one('.title').text if nxt else None)

    assert neighbours(first) == (None, 'Tie A')
    assert neighbours(tie_a) == ('First', 'Tie B')
    assert neighbours(tie_b) == ('Tie A', 'Last')
    assert neighbours(last) == ('Tie B', None)


def test_a_draft_s_page_points_to_the_latest_live_post_only(browser, people, make_post):
    alice = people['alice']
    make_post(alice, title='Out', published_at=utcnow() - MINUTE)
    draft = make_post(alice, title='Not yet', status=DRAFT)
    nav = browser('alice').get(post_path(draft.id)).html.select_one('nav.post-nav')
    assert [a.select_one('.title').text for a in nav.select('a')] == ['Out']
    assert nav.select_one('a')['rel'] == ['prev']


# --- times --------------------------------------------------------------------------

NOW = datetime.datetime(2026, 12, 4, 12, 0, 0)


@pytest.mark.parametrize('then, said', [
    (NOW - datetime.timedelta(seconds=20), 'just now'),
    (NOW - MINUTE, '1 minute ago'),
    (NOW - 59 * MINUTE, '59 minutes ago'),
    (NOW - 60 * MINUTE, '1 hour ago'),
    (NOW - datetime.timedelta(hours=23), '23 hours ago'),
    (NOW - datetime.timedelta(days=1), 'yesterday'),
    (NOW - datetime.timedelta(days=6), '6 days ago'),
    (NOW - datetime.timedelta(days=7), 'on 27 Nov 2026'),
    (NOW + datetime.timedelta(days=30), 'on 3 Jan 2027'),
    (NOW + 5 * MINUTE, 'in 5 minutes'),
    (NOW + datetime.timedelta(days=1, hours=2), 'tomorrow'),
    (NOW + datetime.timedelta(days=3), 'in 3 days'),
])
def test_relative_times(app, then, said):
    with db.connection_context():  # a date past a week is in the site's time zone
        assert render.relative_time(then, NOW) == said


def test_dates_are_in_the_site_s_time_zone(app, browser, people, make_post):
    # 23:30 UTC on 3 Dec is already 4 Dec in Tokyo.
    late = datetime.datetime(2026, 12, 3, 23, 30)
    post = make_post(people['alice'], title='Late', published_at=late)
    reader = browser(None)
    assert '3 Dec 2026' in reader.get(post_path(post.id)).html.select_one('.post-header').text
    with db.connection_context():
        site_settings.set_one('timezone', 'Asia/Tokyo')
    header = reader.get(post_path(post.id)).html.select_one('.post-header')
    assert '4 Dec 2026' in header.text and '3 Dec' not in header.text
    assert header.select_one('time')['datetime'] == '2026-12-03T23:30:00Z'


def test_signed_in_pages_say_how_long_ago(browser, people, make_post):
    make_post(people['alice'], title='Mine', status=DRAFT)
    page = browser('alice').get('/me/posts?state=draft')
    stamp = page.html.select_one('main time[title]')
    assert stamp.text == 'just now'
    assert re.match(r'\d+ \w{3} \d{4}, \d\d:\d\d UTC$', stamp['title'])
