"""Slugged post addresses: `/posts/<id>-<slug>` (blog.slugs), what a save does to a
slug, and the redirects to it."""

import datetime

import pytest

from blog.slugs import FALLBACK, SLUG_MAX, is_slug, slug_for, slugify

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


def test_a_new_post_takes_the_slug_field_or_else_its_title():
    assert slug_for({'title': 'First post'}) == 'first-post'
    assert slug_for({'title': 'First post', 'slug': None}) == 'first-post'
    assert slug_for({'title': 'First post', 'slug': ''}) == 'first-post'
    assert slug_for({'title': 'First post', 'slug': '   '}) == 'first-post'
    assert slug_for({'title': 'First post', 'slug': 'My Own Words'}) == 'my-own-words'
    assert slug_for({'title': '!!!', 'slug': None}) == 'post'


def test_a_draft_follows_its_title():
    draft = stored('Old title', 'old-title')
    assert slug_for({'title': 'New title'}, draft) == 'new-title'
    # The editor sends the stored slug back unchanged: still the title's.
    assert slug_for({'title': 'New title', 'slug': 'old-title'}, draft) == 'new-title'
    # So does a post in review.
    pending = stored('Old title', 'old-title', status='pending')
    assert slug_for({'title': 'New title', 'slug': 'old-title'}, pending) == 'new-title'


def test_a_published_post_keeps_its_slug():
    post = stored('Old title', 'old-title', 'published', WHEN)
    assert slug_for({'title': 'New title'}, post) == 'old-title'
    assert slug_for({'title': 'New title', 'slug': 'old-title'}, post) == 'old-title'
    assert slug_for({'title': 'New title', 'slug': 'Old Title'}, post) == 'old-title'
    # Taken back to a draft (it keeps its date): a draft follows its title again.
    back = stored('Old title', 'old-title', 'draft', WHEN)
    assert slug_for({'title': 'New title'}, back) == 'new-title'


def test_a_slug_chosen_by_hand_stays_on_a_draft():
    draft = stored('Old title', 'my-words')
    assert slug_for({'title': 'New title'}, draft) == 'my-words'
    assert slug_for({'title': 'New title', 'slug': 'my-words'}, draft) == 'my-words'


def test_the_author_can_change_it_or_clear_it():
    post = stored('Old title', 'old-title', 'published', WHEN)
    assert slug_for({'title': 'Old title', 'slug': 'Better words'}, post) == 'better-words'
    assert slug_for({'title': 'New title', 'slug': ''}, post) == 'new-title'
    assert slug_for({'title': 'New title', 'slug': '  '}, post) == 'new-title'
    custom = stored('Old title', 'my-words')
    assert slug_for({'title': 'New title', 'slug': ''}, custom) == 'new-title'


def test_a_stored_empty_slug_is_never_kept():
    post = stored('Title', '', 'published', WHEN)
    assert slug_for({'title': 'Title'}, post) == 'title'
