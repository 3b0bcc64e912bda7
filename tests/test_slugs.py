"""Slugged post addresses: `/posts/<id>-<slug>` (blog.slugs), what a save does to a
slug, and the redirects to it."""

import datetime
import re

import pytest

from blog.editing import PUBLISHED_TEXT, publish_errors
from blog.slugs import FALLBACK, SLUG_MAX, is_slug, slug_for, slugify
from tests.conftest import csrf_from
from tests.conftest import fresh_post as fresh
from tests.conftest import post_revisions as revisions

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
    for name, value in values.items():
        form[name] = value
    response = form.submit(status=303)
    return int(re.match(r'^/posts/(\d+)', response.location).group(1))


def edit(client, post_id, expect=303, **fields):
    form = client.get('/posts/%d/edit' % post_id).forms['post-form']
    for name, value in fields.items():
        form[name] = value
    return form.submit(status=expect)


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
    assert response.location.endswith('notice=saved')
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
