"""/authors (every author with their 3 latest posts) and /authors/<username>
(profile and published posts), checked against brute force."""

import datetime

import pytest
from bs4 import BeautifulSoup

from blog import authors
from blog.db import db
from blog.models import DRAFT, PUBLISHED, Post, User, utcnow
from tests.conftest import post_id_in
from tests.test_home import BASE, random_site


def listed(response):
    """[(username, [post ids])] from an /authors page."""
    soup = BeautifulSoup(response.text, 'html.parser')
    listing = soup.find('ul', class_='author-list')
    if listing is None:
        return []
    result = []
    for li in listing.find_all('li', recursive=False):
        username = li.h2.a['href'].rsplit('/', 1)[1]
        ids = [post_id_in(a['href']) for a in li.find('ul').find_all('a')]
        result.append((username, ids))
    return result


def expected_authors():
    """Brute force: users with a published post, by name (case-insensitive) then
    username, each with their 3 latest published posts by (published_at, id)."""
    with db.connection_context():
        posts = list(Post.select().where(Post.status == PUBLISHED))
        users = {user.id: user for user in User.select()}
    by_author = {}
    for post in posts:
        by_author.setdefault(post.author_id, []).append(post)
    result = []
    for author_id, theirs in by_author.items():
        user = users[author_id]
        theirs.sort(key=lambda p: (p.published_at, p.id), reverse=True)
        result.append(((user.name.lower(), user.username), user.username,
                       [p.id for p in theirs[:3]]))
    return [(username, ids) for _, username, ids in sorted(result)]


@pytest.mark.parametrize('seed', [1, 2, 3])
def test_authors_matches_brute_force(client, monkeypatch, seed):
    monkeypatch.setattr(authors, 'PER_PAGE', 7)
    random_site(seed)
    expected = expected_authors()
    got, page = [], 1
    while True:
        response = client.get('/authors' if page == 1 else '/authors?page=%d' % page)
        got.extend(listed(response))
        if 'rel="next"' not in response.text:
            break
        page += 1
    assert got == expected
    assert page == -(-len(expected) // 7)
    client.get('/authors?page=%d' % (page + 1), status=404)


def test_authors_page_shows_names_counts_and_latest_three(client, make_user, make_post):
    zed = make_user('zed', display_name='Zed')
    amy = make_user('amy', display_name='amy <b>')
    make_user('quiet')  # never published: not an author
    for n in range(5):
        make_post(zed, title='Zed %d' % n, published_at=BASE + datetime.timedelta(hours=n))
    make_post(zed, title='Zed draft', status=DRAFT)
    make_post(amy, title='Amy only', published_at=BASE)
    response = client.get('/authors')
    assert [username for username, _ in listed(response)] == ['amy', 'zed']
    assert 'amy &lt;b&gt;' in response.text
    assert 'Zed 4' in response.text and 'Zed 2' in response.text and 'Zed 1' not in response.text
    assert 'Zed draft' not in response.text and 'quiet' not in response.text
    assert '5 posts' in response.text and '1 post<' in response.text


def test_empty_authors_page(client):
    assert 'Nobody has published a post yet' in client.get('/authors').text
    client.get('/authors?page=2', status=404)


@pytest.mark.parametrize('query', ['abc', '0', '-3', '9999999'])
def test_authors_bad_pages_are_404(client, make_user, make_post, query):
    make_post(make_user('alice'))
    client.get('/authors?page=' + query, status=404)


def test_authors_cache_follows_a_rename(client, make_user, make_post, dbconn):
    make_post(make_user('alice', display_name='Alice'))
    make_post(make_user('bob', display_name='Bob'))
    assert [u for u, _ in listed(client.get('/authors'))] == ['alice', 'bob']
    User.update(display_name='Aaron').where(User.username == 'bob').execute()
    assert [u for u, _ in listed(client.get('/authors'))] == ['bob', 'alice']


# --- /authors/<username> ---

def test_profile_shows_bio_as_escaped_text_and_published_posts(client, make_user, make_post):
    alice = make_user('alice', display_name='Alice L.',
                      bio='Line one <script>x</script>\nLine two & more')
    make_post(alice, title='Public', body='Hello **world**', published_at=BASE)
    make_post(alice, title='Secret draft', status=DRAFT)
    make_post(make_user('bob'), title='Not hers')
    response = client.get('/authors/alice')
    soup = BeautifulSoup(response.text, 'html.parser')
    assert soup.h1.text == 'Alice L.'
    assert ('<p class="bio">Line one &lt;script&gt;x&lt;/script&gt;<br>Line two &amp; more</p>'
            in response.text)
    assert 'Public' in response.text and 'Hello world' in response.text
    assert 'Secret draft' not in response.text and 'Not hers' not in response.text
    assert '1 published post ' in response.text
    feed = soup.find('link', rel='alternate', href='/authors/alice/feed.atom')
    assert feed['type'] == 'application/atom+xml'
    assert soup.find('link', rel='canonical')['href'] == 'http://blog.test/authors/alice'


def test_profile_pagination_newest_first_with_ties(client, make_user, make_post):
    alice = make_user('alice')
    made = [make_post(alice, title='P%d' % n,
                      published_at=BASE + datetime.timedelta(seconds=n // 3))
            for n in range(45)]
    expected = [p.id for p in sorted(made, key=lambda p: (p.published_at, p.id), reverse=True)]
    got = []
    for page in (1, 2, 3):
        response = client.get('/authors/alice' + ('?page=%d' % page if page > 1 else ''))
        soup = BeautifulSoup(response.text, 'html.parser')
        got.extend(post_id_in(li.h2.a['href'])
                   for li in soup.find('ol', class_='post-list').find_all('li'))
        assert ('rel="next"' in response.text) == (page < 3)
    assert got == expected
    client.get('/authors/alice?page=4', status=404)
    client.get('/authors/alice?page=x', status=404)


def test_profile_of_someone_who_never_published(client, make_user):
    make_user('quiet', is_active=False)
    response = client.get('/authors/quiet')
    assert 'has not published anything yet' in response.text
    client.get('/authors/quiet?page=2', status=404)


@pytest.mark.parametrize('path', ['/authors/nobody', '/authors/Bob', '/authors/a',
                                  '/authors/' + 'a' * 31, '/authors/al%20ice', '/authors/A'])
def test_unknown_authors_are_404(client, make_user, path):
    make_user('alice')
    client.get(path, status=404)
    client.get(path, headers={'If-None-Match': '*'}, status=404)  # not a 304


def test_capitals_redirect_to_the_lower_case_profile(client, make_user):
    make_user('alice')
    response = client.get('/authors/Alice?page=2', status=301)
    assert response.headers['Location'] == '/authors/alice?page=2'


def test_profile_cache_follows_writes(client, make_user, make_post, dbconn):
    alice = make_user('alice', bio='Old bio')
    post = make_post(alice, title='First')
    etag = client.get('/authors/alice').headers['ETag']
    client.get('/authors/alice', headers={'If-None-Match': etag}, status=304)
    User.update(bio='New bio').where(User.id == alice.id).execute()
    response = client.get('/authors/alice', headers={'If-None-Match': etag}, status=200)
    assert 'New bio' in response.text
    Post.update(status=DRAFT).where(Post.id == post.id).execute()
    assert 'First' not in client.get('/authors/alice').text
    Post.create(author=alice, title='Second', body='b', html='<p>b</p>', status=PUBLISHED,
                published_at=utcnow())
    assert 'Second' in client.get('/authors/alice').text


def test_authors_page_walks_the_name_index(dbconn):
    """The ORDER BY must match the expression index exactly (no parameters in it),
    or SQLite sorts every user for each page."""
    from blog.queries import listings as queries
    sql, params = queries.authors_page(0, 21).sql()
    plan = ' '.join(row[3] for row in dbconn.execute_sql('EXPLAIN QUERY PLAN ' + sql, params))
    assert 'USING INDEX user_listed_name' in plan and 'TEMP B-TREE' not in plan

