"""benchmarks/load.py's planning and parsing (no load is run here)."""

import importlib.util
import os

from tests.conftest import ROOT

_spec = importlib.util.spec_from_file_location('bench_load',
                                               os.path.join(ROOT, 'benchmarks', 'load.py'))
load = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(load)

TARGETS = {'post_id': 7, 'slug': 'notes-on-coffee', 'username': 'ada-abbott-1', 'tag': 'coffee',
           'tag_page': 5, 'home_page': 400, 'rare_word': 'stubborn'}
WRK = """Running 1s test @ http://127.0.0.1:1/
  Latency Distribution
     50%    5.21ms
     75%    7.00ms
     90%    9.00ms
     99%    1.20s
  3000 requests in 1.00s, 1.00MB read
  Non-2xx or 3xx responses: 12
Requests/sec:   2967.50
"""


def test_parse_wrk_reads_rate_latencies_and_errors():
    assert load.parse_wrk(WRK) == (2967.5, 5.21, 1200.0, 12)


def test_last_page_counts_twenty_a_page():
    assert [load.last_page(n) for n in (0, 1, 20, 21, 8000)] == [1, 1, 1, 2, 400]


def test_plan_builds_every_group_with_its_bar():
    pages = load.plan('http://h', TARGETS, set(load.GROUPS), 'blog_session=x')
    bars = {page.label: page.bar for page in pages}
    assert bars['/'] == 'ratio' and bars['/archive'] == 'lists_ratio'
    assert bars['/authors/<name>/feed.atom (signed in)'] == 'signed_in_ratio'
    assert bars['/search?q=stubborn'] == 'search_p99_ms'
    signed_in = [page for page in pages if page.headers]
    assert len(signed_in) == len(load.PAGES)
    assert all(page.headers == (('Cookie', 'blog_session=x'),) for page in signed_in)
    assert 'http://h/authors/ada-abbott-1/feed.atom' in {page.url for page in pages}
    assert 'http://h/posts/7-notes-on-coffee' in {page.url for page in pages}
    assert len(pages) == load.planned_pages(set(load.GROUPS))


def test_only_chosen_groups_are_planned_and_estimated():
    pages = load.plan('http://h', TARGETS, {'search'}, '')
    assert [page.label for page in pages] == [
        '/search?q=the', '/search?q=the -zq<n> (uncached)', '/search?q=stubborn',
        '/search?q=stubborn -zq<n> (uncached)']
    assert pages[1].url == 'http://h/search?q=the%20-zq{n}'
    assert load.estimate_seconds({'cold'}, 3, 5, 20) > 0
    assert load.estimate_seconds({'search'}, 2, 5, 20) < load.estimate_seconds(
        {'search', 'anonymous'}, 2, 5, 20)


def test_last_access_ms_reads_the_next_access_line(tmp_path):
    log = tmp_path / 'server.log'
    log.write_text('2026-12-03 19:11:55 INFO blog.access GET / 200 11804 B 18.9 ms\n'
                   '2026-12-03 19:11:55 INFO blog started\n'
                   '2026-12-03 19:11:56 INFO blog.access GET /tags/x 200 904 B 7.25 ms\n')
    first, offset = load.last_access_ms(str(log), 0)
    assert first == 18.9
    assert load.last_access_ms(str(log), offset) == (7.25, log.stat().st_size)
