"""The generation-keyed cache: entries live exactly as long as their generation."""

import threading

import pytest

from blog import cache
from blog.cache import Cache


def test_get_and_put_at_one_generation():
    c = Cache()
    assert c.get('k', 1) is None
    c.put('k', 1, 'value')
    assert c.get('k', 1) == 'value'
    assert len(c) == 1


def test_a_newer_generation_drops_everything():
    c = Cache()
    c.put('a', 1, 'one')
    c.put('b', 1, 'two')
    assert c.get('a', 2) is None
    assert len(c) == 0 and c.bytes == 0
    assert c.get('b', 1) is None  # an older generation is never served again


def test_a_value_from_an_older_generation_is_not_stored():
    c = Cache()
    c.put('a', 5, 'new')
    c.put('b', 4, 'late result of a slow request')
    assert c.get('b', 4) is None and c.get('b', 5) is None
    assert c.get('a', 5) == 'new'


def test_least_recently_used_goes_first():
    c = Cache(max_entries=2)
    c.put('a', 1, 'A')
    c.put('b', 1, 'B')
    c.get('a', 1)
    c.put('c', 1, 'C')
    assert c.get('a', 1) == 'A' and c.get('b', 1) is None and c.get('c', 1) == 'C'


def test_bounded_by_bytes():
    c = Cache(max_bytes=3000)
    for n in range(5):
        c.put(n, 1, 'x' * 1000)
    assert c.bytes <= 3000
    assert c.get(4, 1) is not None and c.get(0, 1) is None
    c.put('huge', 1, 'x' * 5000)  # larger than the whole cache: not kept
    assert c.get('huge', 1) is None and c.get(4, 1) is not None


def test_replacing_a_key_keeps_the_byte_count_right():
    c = Cache()
    c.put('k', 1, 'x' * 100)
    c.put('k', 1, 'x' * 10)
    assert c.bytes == cache._size('x' * 10)


def test_sizes_of_structured_values():
    assert cache._size('abc') == 67
    assert cache._size(([{'title': 'abc'}], True)) == 64 + (64 + 64 + 67) + cache.ITEM_BYTES


def test_threads_share_it_safely():
    c = Cache(max_entries=50)
    errors = []

    def work(offset):
        try:
            for n in range(2000):
                c.put((offset, n % 80), 1 + n // 500, n)
                c.get((offset, n % 80), 1 + n // 500)
        except Exception as exc:  # pragma: no cover - the assertion below reports it
            errors.append(exc)
    threads = [threading.Thread(target=work, args=(t,)) for t in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors and len(c) <= 50


def test_etags_name_the_generation_and_the_page():
    assert cache.page_etag(('home', 1), 7).startswith('"7-')
    assert cache.page_etag(('home', 1), 7) != cache.page_etag(('home', 2), 7)
    assert cache.page_etag(('home', 1), 7) != cache.page_etag(('home', 1), 8)


@pytest.mark.parametrize('header, matches', [
    ('"1-abc"', True), ('W/"1-abc"', True), ('"x", "1-abc"', True), ('*', True),
    ('"1-abcd"', False), ('', False), ('1-abc', False),
])
def test_if_none_match(header, matches):
    assert cache._etag_matches(header, '"1-abc"') is matches


def test_cached_counts_one_database_read_per_request(client, app, make_user, make_post,
                                                     monkeypatch):
    make_post(make_user('alice'))
    reads = []
    real = cache.current_generation
    monkeypatch.setattr(cache, 'current_generation', lambda: reads.append(1) or real())
    client.get('/')
    client.get('/authors')
    assert len(reads) == 2
