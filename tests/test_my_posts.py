"""/me/posts: one's own posts by state, with counts."""

import datetime

import pytest

from blog.db import db
from blog.models import DRAFT, PENDING, utcnow
from blog.queries import trash


@pytest.fixture
def mine(people, make_post):
    alice = people['alice']
    posts = {
        'draft': make_post(alice, title='A draft', status=DRAFT),
        'pending': make_post(alice, title='In review', status=PENDING),
        'published': make_post(alice, title='Out there'),
        'scheduled': make_post(alice, title='Coming soon',
                               published_at=utcnow() + datetime.timedelta(hours=2)),
        'trash': make_post(alice, title='Thrown away'),
    }
    make_post(people['bob'], title='Not hers', status=DRAFT)
    with db.connection_context():
        trash.trash(posts['trash'].id, alice.id, utcnow())
    return posts


@pytest.mark.parametrize('state, title', [('draft', 'A draft'), ('pending', 'In review'),
                                          ('scheduled', 'Coming soon'),
                                          ('published', 'Out there'),
                                          ('trash', 'Thrown away')])
def test_each_state_lists_only_my_posts_in_it_with_counts(browser, mine, state, title):
    page = browser('alice').get('/me/posts?state=%s' % state)
    main = page.html.find('main')
    titles = [a.text for a in main.select('.my-posts .title')]
    assert titles == [title]
    assert 'Not hers' not in page.text
    tabs = {a.get_text(' ', strip=True) for a in main.select('.tabs a')}
    assert tabs == {'Drafts (1)', 'In review (1)', 'Scheduled (1)', 'Published (1)',
                    'Trash (1)'}
    current = main.select_one('.tabs a[aria-current="page"]')
    assert current['href'] == '/me/posts?state=%s' % state


def test_drafts_are_the_default_and_the_header_links_here(browser, mine):
    page = browser('alice').get('/me/posts')
    assert [a.text for a in page.html.select('.my-posts .title')] == ['A draft']
    assert page.html.find('nav').find('a', href='/me/posts').text == 'My posts'


def test_signed_out_visitors_sign_in_first_and_bad_states_are_404(browser, mine):
    response = browser(None).get('/me/posts', status=303)
    assert response.headers['Location'] == '/login?next=/me/posts'
    browser('alice').get('/me/posts?state=everything', status=404)
    browser('alice').get('/me/posts?state=draft&page=2', status=404)


def test_an_empty_list_says_so(browser, people):
    page = browser('bob').get('/me/posts?state=published')
    assert 'Nothing published yet.' in page.text
