"""Full-text search: correctness, hostile input, escaping, index consistency."""

import json
import os
import re
import subprocess
import sys
import urllib.request
import zipfile
from urllib.parse import urlencode

import pytest

from blog.db import db
from blog.models import DRAFT, PUBLISHED, Post, utcnow
from blog.search import mark_up
from tests import browser
from tests.conftest import PASSWORD, ROOT, csrf_from, post_path
from tests.server import Server


def search(client, q, status=200, **params):
    return client.get('/search?' + urlencode(dict(params, q=q)), status=status)


def found(client, q):
    """Titles of the results for `q` (highlight markup removed)."""
    page = search(client, q)
    titles = re.findall(r'<h2><a href="/posts/\d+-[a-z0-9-]+">(.*?)</a></h2>', page.text)
    return [re.sub(r'</?mark>', '', title) for title in titles]


@pytest.fixture
def alice(make_user):
    return make_user('alice')


def test_empty_query_shows_the_form(client):
    page = search(client, '')
    assert page.status_int == 200
    assert 'id="search-form"' in page.text and 'name="q"' in page.text
    assert 'search-results' not in page.text
    assert client.get('/search').status_int == 200


def test_one_search_box_and_landmark_a_page(client):
    # The search page's own box replaces the header's; every other page has the header's.
    assert search(client, 'anything').text.count('role="search"') == 1
    assert 'id="site-search"' not in search(client, 'anything').text
    home = client.get('/')
    assert home.text.count('role="search"') == 1 and 'id="site-search"' in home.text


def test_finds_words_in_title_body_and_tags(client, alice, make_post):
    make_post(alice, title='Gardening notes', body='Tomatoes need sun.')
    make_post(alice, title='Weekend', body='We went sailing on the lake.')
    make_post(alice, title='Untitled thoughts', body='Nothing here.', tags=['photography'])
    assert found(client, 'gardening') == ['Gardening notes']
    assert found(client, 'sailing') == ['Weekend']
    assert found(client, 'photography') == ['Untitled thoughts']
    assert found(client, 'GARDENING') == ['Gardening notes']  # case-insensitive
    assert found(client, 'nonexistentword') == []


def test_stemming_and_diacritics(client, alice, make_post):
    make_post(alice, title='Running', body='She runs every morning.')
    make_post(alice, title='Café culture', body='Un café crème.')
    assert found(client, 'run') == ['Running']
    assert found(client, 'runner runs') == []  # both words must match
    assert found(client, 'cafe') == ['Café culture']


def test_query_syntax(client, alice, make_post):
    make_post(alice, title='Apples and pears', body='fruit salad')
    make_post(alice, title='Apples only', body='fruit')
    make_post(alice, title='Bananas', body='yellow fruit')
    assert sorted(found(client, 'apples -pears')) == ['Apples only']
    assert sorted(found(client, 'pears OR bananas')) == ['Apples and pears', 'Bananas']
    assert found(client, '"fruit salad"') == ['Apples and pears']
    assert found(client, 'title:bananas') == ['Bananas']
    assert sorted(found(client, 'appl*')) == ['Apples and pears', 'Apples only']


def test_title_matches_rank_first(client, alice, make_post):
    make_post(alice, title='A day out', body='We talked about kayaks for a while.')
    make_post(alice, title='Kayaks', body='All about boats.')
    assert found(client, 'kayaks') == ['Kayaks', 'A day out']


def test_drafts_and_deleted_posts_are_not_found(client, alice, make_post):
    make_post(alice, title='Public zebra')
    make_post(alice, title='Draft zebra', status=DRAFT)
    gone = make_post(alice, title='Deleted zebra')
    with db.connection_context():
        gone.delete_instance()
    assert found(client, 'zebra') == ['Public zebra']


def test_reflects_edits_and_unpublishing(client, alice, make_post):
    post = make_post(alice, title='Old words', body='aardvark', tags=['mammal'])
    assert found(client, 'aardvark') == ['Old words']
    with db.connection_context():
        saved = Post.get_by_id(post.id)
        saved.title, saved.body, saved.tags = 'New words', 'okapi', ['ruminant']
        saved.save_optimistic()
    assert found(client, 'aardvark') == [] and found(client, 'mammal') == []
    assert found(client, 'okapi') == ['New words'] and found(client, 'ruminant') == ['New words']
    with db.connection_context():
        saved.status = DRAFT
        saved.save_optimistic()
    assert found(client, 'okapi') == []
    with db.connection_context():
        saved.status = PUBLISHED
        saved.save_optimistic()
    assert found(client, 'okapi') == ['New words']


def test_pagination(client, alice, make_post):
    for i in range(25):
        make_post(alice, title='Walrus %02d' % i)
    first = search(client, 'walrus')
    assert first.text.count('<h2><a href="/posts/') == 10
    assert 'href="/search?q=walrus&amp;page=2"' in first.text
    second = search(client, 'walrus', page=2)
    assert second.text.count('<h2><a href="/posts/') == 10
    third = search(client, 'walrus', page=3)
    assert third.text.count('<h2><a href="/posts/') == 5
    assert 'rel="next"' not in third.text
    titles = [re.findall(r'Walrus \d\d', page.text.replace('<mark>', '').replace('</mark>', ''))
              for page in (first, second, third)]
    assert sorted(sum(titles, [])) == ['Walrus %02d' % i for i in range(25)]  # each once
    beyond = search(client, 'walrus', page=9)
    assert 'No more results' in beyond.text
    search(client, 'walrus', status=404, page='abc')
    search(client, 'walrus', status=404, page='0')


HOSTILE = [
    '"', '""', '"""', '-', '--', '- -', 'OR', 'AND', 'NOT', 'a OR', 'OR b', 'a AND NOT',
    'NOT a', '*', 'a*', '**', '(', ')', '(()', ')(', 'a (b', '^', '^a', ':', 'title:',
    ':title', 'nope:x', '{title body}:word', '{', '}', 'NEAR', 'NEAR(a b)', 'NEAR(a b, 2)',
    'a + b', '\'', '\\', '\\"', '%', '_', ';', 'DROP TABLE post;--', "' OR 1=1 --",
    '日本語', '😀', 'ünïcödé', '\ue000', '\ue001 \ue000', '\u202e', 'zero\u200bwidth',
    'a' * 200, '"' * 200, '(' * 200, '-a ' * 66, 'x ' * 100,
]


@pytest.mark.parametrize('q', HOSTILE)
def test_hostile_queries_never_fail(client, alice, make_post, q):
    make_post(alice, title='Ordinary post', body='a b word title body', tags=['a'])
    page = search(client, q)
    assert page.status_int == 200
    assert 'id="search-form"' in page.text


@pytest.mark.parametrize('q', ['a' * 201, 'word ' * 100, '"' * 500, '\u00e9' * 500])
def test_oversized_query_is_a_friendly_page(client, q):
    page = search(client, q, status=422)
    assert 'at most 200' in page.text
    assert 'id="search-form"' in page.text


@pytest.mark.parametrize('raw', ['q=%00', 'q=a%00b', 'q=%ff%fe', 'q=%', 'q=%zz', 'q=a&q=b'])
def test_undecodable_or_nul_queries(client, raw):
    assert client.get('/search?' + raw).status_int == 200


def test_snippets_are_escaped_with_only_mark_markup(client, alice, make_post):
    make_post(alice, title='<b>Bold</b> & <script>alert(1)</script> ferret',
              body='Here is <script>alert("x")</script> about a ferret <img src=x onerror=y>.')
    page = search(client, 'ferret')
    assert '<script>' not in page.text.split('<main', 1)[1]
    assert '&lt;script&gt;' in page.text
    assert '<b>Bold' not in page.text
    main = page.text.split('<main', 1)[1].split('</main>')[0]
    results = main.split('class="post-list search-results">', 1)[1].split('</ol>')[0]
    tags = set(re.findall(r'</?([a-z0-9]+)', results))
    assert tags <= {'li', 'h2', 'a', 'p', 'mark', 'time'}
    assert '<mark>ferret</mark>' in results


def test_markers_in_a_post_cannot_unbalance_markup(client, alice, make_post):
    make_post(alice, title='\ue001Stray\ue000 markers \ue000', body='marmot \ue001\ue001 end')
    page = search(client, 'marmot')
    main = page.text.split('<main', 1)[1]
    assert main.count('<mark>') == main.count('</mark>')


@pytest.mark.parametrize('text, html', [
    ('plain', 'plain'),
    ('<b>&\ue000hit\ue001', '&lt;b&gt;&amp;<mark>hit</mark>'),
    ('\ue001\ue000a\ue000b', '<mark>ab</mark>'),
    ('\ue000a<\ue001 & \ue000b\ue001', '<mark>a&lt;</mark> &amp; <mark>b</mark>'),
    ('\ue000\ue000a\ue001\ue001', '<mark>a</mark>'),
    ('a\x00b\x07c', 'abc'),
    ('', ''),
    (None, ''),
])
def test_mark_up(text, html):
    assert str(mark_up(text)) == html


def _index_ok():
    """FTS5's own check that the index matches the `post` table exactly."""
    with db.connection_context():
        db.execute_sql("INSERT INTO post_search (post_search, rank) VALUES ('integrity-check', 1)")
        return {row[0] for row in db.execute_sql(
            "SELECT rowid FROM post_search WHERE post_search MATCH 'capybara'")}


def test_index_follows_every_kind_of_write_through_the_forms(client, alice, auth):
    auth.login('alice', PASSWORD)
    token = csrf_from(client.get('/posts/new'))
    created = client.post('/posts/new', {'title': 'Capybara facts', 'body': 'big rodent',
                                         'status': 'published', 'tags': 'animals',
                                         'csrf_token': token}, status=303)
    post_id = int(re.search(r'/posts/(\d+)', created.headers['Location']).group(1))
    assert _index_ok() == {post_id}
    assert found(client, 'capybara') == ['Capybara facts']

    def edit(**values):
        page = client.get('/posts/%d/edit' % post_id)
        form = {'title': 'Capybara facts', 'body': 'big rodent', 'status': 'published',
                'tags': 'animals', 'csrf_token': csrf_from(page),
                'version': re.search(r'name="version" value="(\d+)"', page.text).group(1)}
        form.update(values)
        client.post('/posts/%d/edit' % post_id, form, status=303)

    edit(title='Rodent facts', tags='capybara, rodents')  # the word moves to the tags
    assert _index_ok() == {post_id}
    assert found(client, 'capybara') == ['Rodent facts']
    assert found(client, 'rodents') == ['Rodent facts']
    edit(title='Rodent facts', tags='rodents')
    assert _index_ok() == set() and found(client, 'capybara') == []
    edit(title='Capybara again', tags='rodents', status='draft')
    assert _index_ok() == {post_id}  # the index holds drafts...
    assert found(client, 'capybara') == []  # ...the search never shows them
    edit(title='Capybara again', tags='rodents', status='published')
    assert found(client, 'capybara') == ['Capybara again']
    page = client.get(post_path(post_id))
    client.post('/posts/%d/delete' % post_id, {'csrf_token': csrf_from(page)}, status=303)
    assert _index_ok() == {post_id}  # the trash keeps the row and its index entry...
    assert found(client, 'capybara') == []  # ...and the search never shows it
    client.post('/trash/%d/restore' % post_id, {'csrf_token': csrf_from(page)}, status=303)
    assert found(client, 'capybara') == ['Capybara again']
    client.post('/posts/%d/delete' % post_id, {'csrf_token': csrf_from(page)}, status=303)
    client.post('/trash/%d/purge' % post_id, {'csrf_token': csrf_from(page)}, status=303)
    assert _index_ok() == set() and found(client, 'capybara') == []


def test_results_link_posts_and_authors(client, make_user, make_post):
    bob = make_user('bob', display_name='Bob <B>')
    post = make_post(bob, title='Heron', body='a grey heron')
    page = search(client, 'heron')
    assert 'href="%s"' % post_path(post) in page.text
    assert 'href="/authors/bob">Bob &lt;B&gt;</a>' in page.text
    assert '<time datetime="' in page.text
    assert 'noindex' in page.text
    assert '<link rel="canonical" href="http://blog.test/search?q=heron">' in page.text


@pytest.mark.server
@pytest.mark.skipif(browser.why_no_browser() is not None, reason=browser.why_no_browser() or '')
def test_a_reader_searches_browses_a_tag_and_subscribes_in_a_browser(tmp_path):
    """Real server, real Chromium: the header search box, highlighted results, a tag
    page and its feed; every page passes axe-core (WCAG 2.1 AA) and the Nu checker."""
    import feedparser
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    archive_path = tmp_path / 'posts.zip'
    with zipfile.ZipFile(archive_path, 'w') as archive:
        for i, (title, tags, status) in enumerate([
                ('Walrus <spotting> & more', '["sea", "animals"]', 'published'),
                ('Seals and a walrus', '["sea"]', 'published'),
                ('Secret walrus draft', '["sea"]', 'draft')]):
            archive.writestr('writer/%d.md' % i, (
                '---\ntitle: %s\nauthor: "writer"\nstatus: "%s"\ntags: %s\n'
                'created_at: "2026-01-0%dT10:00:00Z"\n---\nA <script>x</script> walrus body %d.'
                % (json.dumps(title), status, tags, i + 1, i)))
    db_path = str(tmp_path / 'blog.db')
    imported = subprocess.run([sys.executable, os.path.join(ROOT, 'run.py'), 'import',
                               str(archive_path), '--db', db_path],
                              capture_output=True, text=True, timeout=120)
    assert imported.returncode == 0, imported.stderr

    saved = []

    def check(name):
        violations = browser.axe_violations(driver)
        assert violations == [], violations
        path = str(tmp_path / (name + '.html'))
        with open(path, 'w', encoding='utf-8') as fh:
            fh.write('<!DOCTYPE html>\n' + browser.page_html(driver))
        saved.append(path)
        browser.screenshot(driver, name)

    with Server(db_path) as server:
        driver = browser.start_driver()
        try:
            driver.get(server.url + '/')
            box = driver.find_element(By.ID, 'site-search')
            box.send_keys('walrus' + Keys.ENTER)
            WebDriverWait(driver, 20).until(
                lambda d: d.current_url.endswith('/search?q=walrus')
                and d.execute_script('return document.readyState') == 'complete')
            titles = [el.text for el in driver.find_elements(By.CSS_SELECTOR, 'main h2 a')]
            assert sorted(titles) == ['Seals and a walrus', 'Walrus <spotting> & more']
            marks = driver.find_elements(By.CSS_SELECTOR, 'main mark')
            assert marks and all(m.text.lower() == 'walrus' for m in marks)
            assert not driver.find_elements(By.CSS_SELECTOR, 'main script')
            check('search-results')

            driver.get(server.url + '/search?q=%22%28-')
            assert 'Type one or more words' in browser.page_html(driver)
            check('search-nothing-to-search')

            driver.get(server.url + '/tags/Sea')  # redirected to the normalised tag
            assert driver.current_url.endswith('/tags/sea')
            titles = [el.text for el in driver.find_elements(By.CSS_SELECTOR, 'main h2 a')]
            assert titles == ['Seals and a walrus', 'Walrus <spotting> & more']
            feed_link = driver.find_element(
                By.CSS_SELECTOR, 'head link[rel=alternate][href="/tags/sea/feed.atom"]')
            assert feed_link.get_attribute('type') == 'application/atom+xml'
            check('tag-page')
        finally:
            driver.quit()
        with urllib.request.urlopen(server.url + '/tags/sea/feed.atom', timeout=10) as resp:
            feed = feedparser.parse(resp.read())
    assert not feed.bozo and len(feed.entries) == 2
    if browser.vnu_jar():
        assert browser.html_errors(saved) == []


def test_a_query_sqlite_rejects_is_a_friendly_page(client, alice, make_post, monkeypatch):
    from peewee import OperationalError

    from blog.queries import readers as queries

    def broken(match, candidates, offset, limit):
        raise OperationalError('fts5: syntax error near "x"')
    monkeypatch.setattr(queries, 'search_ranked', broken)
    make_post(alice, title='Anything')
    page = search(client, 'anything')
    assert page.status_int == 200
    assert "couldn&#39;t understand that search" in page.text
    assert 'fts5' not in page.text


@pytest.fixture
def expressions(monkeypatch):
    """The expressions handed to the backend for ranking, in order."""
    from blog.queries import readers as queries
    seen = []
    real = queries.search_ranked

    def recording(match, candidates, offset, limit):
        seen.append((match, candidates))
        return real(match, candidates, offset, limit)
    monkeypatch.setattr(queries, 'search_ranked', recording)
    return seen


def test_many_prefix_terms_get_a_bounded_expression(client, alice, make_post, expressions):
    make_post(alice, title='Aardvarks', body='a b c')
    page = search(client, ' '.join(['a*'] * 66))  # 198 characters: under the limit
    match = expressions[-1][0]
    assert len(re.findall(r'"[^"]*"', match)) == 8 and '*' not in match
    assert 'Only the first 8 words' in page.text and '3 or more letters' in page.text


def test_prefix_terms_are_few_and_long_enough(client, alice, make_post, expressions):
    make_post(alice, title='Apples and bananas', body='cherries, dates')
    assert found(client, 'appl* bana*') == ['Apples and bananas']
    search(client, 'appl* bana* cher* date*')
    assert expressions[-1][0].count('*') == 2
    page = search(client, 'ap*')
    assert '*' not in expressions[-1][0] and 'A * finds word beginnings' in page.text
    assert 'nly the first' not in page.text
    search(client, '"one two three four five six seven eight nine ten" more')
    assert expressions[-1][0] == '"one two three four five six seven eight"'


def test_ranking_happens_within_the_newest_candidates(client, alice, make_post, monkeypatch,
                                                      expressions):
    from blog import search as search_module
    monkeypatch.setattr(search_module, 'CANDIDATES', 3)
    make_post(alice, title='Kayaks', body='boats')  # the best match, but the oldest
    for i in range(4):
        make_post(alice, title='Trip %d' % i, body='We paddled kayaks.')
    make_post(alice, title='Draft kayaks', status=DRAFT)  # takes a candidate place
    page = search(client, 'kayaks')
    assert expressions[-1][1] == 3
    assert found(client, 'kayaks') == ['Trip 3', 'Trip 2']
    assert 'Results stop at the newest 3 matches' in page.text
    assert 'rel="next"' not in page.text
    monkeypatch.setattr(search_module, 'CANDIDATES', 10)
    assert found(client, 'kayaks')[0] == 'Kayaks'  # title matches still rank first
    assert 'Results stop' not in search(client, 'kayaks').text


def test_ranking_never_counts_or_bm25_ranks_every_match(client, alice, make_post):
    from blog.db import backend
    make_post(alice, title='Kayaks', body='boats')
    statements = []
    with db.connection_context():
        conn = db.connection()
        conn.set_trace_callback(statements.append)
        try:
            ranked, more = backend().search_ranked('"kayaks"', 50, 0, 21, utcnow())
        finally:
            conn.set_trace_callback(None)
    assert [score for _, score in ranked] == [11] and not more
    sql = ' '.join(statements).lower()
    assert 'count(' not in sql and 'bm25(' not in sql and 'limit 50' in sql


def test_a_repeated_search_is_answered_from_its_cache_until_a_write(
        client, alice, make_post, expressions, site):
    make_post(alice, title='Kayaks one', body='paddle')
    assert found(client, 'paddle') == ['Kayaks one']
    assert found(client, 'paddle') == ['Kayaks one']
    assert len(expressions) == 1  # ranked once: the second page came from the cache
    assert len(site.search_cache) == 1 and len(site.cache) > 0
    make_post(alice, title='Kayaks two', body='paddle')  # a public write
    assert found(client, 'paddle') == ['Kayaks two', 'Kayaks one']
    assert len(expressions) == 2


def test_searches_only_push_out_each_other(client, alice, make_post, site, monkeypatch):
    from blog import cache as cache_module
    make_post(alice, title='Kept page', body='words')
    client.get('/')
    kept = len(site.cache)
    small = cache_module.Cache(site.backend, max_entries=3)
    monkeypatch.setattr(site, 'search_cache', small)
    for k in range(20):
        search(client, 'word%d' % k)
    assert len(small) == 3 and len(site.cache) == kept
