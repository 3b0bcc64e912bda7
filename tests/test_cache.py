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


@pytest.fixture
def reads(site, monkeypatch):
    """Counts the cache's reads of the generation from SQLite."""
    seen = []
    real = site.backend.generation
    monkeypatch.setattr(site.backend, 'generation', lambda: seen.append(1) or real())
    return seen


def test_pages_are_served_without_sqlite_until_a_write(client, make_user, make_post,
                                                       reads, monkeypatch):
    monkeypatch.setattr(cache, 'RECHECK_SECONDS', 3600)
    alice = make_user('alice')
    make_post(alice, title='First')
    client.get('/')
    client.get('/authors')
    client.get('/')
    assert len(reads) == 1
    make_post(alice, title='Second')  # a commit in this process: read again, at once
    assert 'Second' in client.get('/authors').text
    assert len(reads) == 2
    client.get('/')
    assert len(reads) == 2


def test_the_generation_is_read_again_after_the_interval(client, make_user, make_post,
                                                         reads, monkeypatch):
    make_post(make_user('alice'))
    monkeypatch.setattr(cache, 'RECHECK_SECONDS', 0)
    client.get('/')
    client.get('/')
    assert len(reads) == 2


def test_another_process_write_shows_after_the_interval(app, config, client, make_user,
                                                        make_post, monkeypatch):
    from peewee import sqlite3
    monkeypatch.setattr(cache, 'RECHECK_SECONDS', 3600)
    make_post(make_user('alice'), title='Old title')
    assert 'Old title' in client.get('/').text
    # Another process (the command line, a second server) writes: db.writes here
    # does not move, so only the interval brings the change in.
    other = sqlite3.connect(config.db_path, isolation_level=None)
    other.execute("UPDATE post SET title = 'New title'")
    other.close()
    assert 'Old title' in client.get('/').text
    monkeypatch.setattr(cache, 'RECHECK_SECONDS', 0)
    assert 'New title' in client.get('/').text


def test_db_writes_moves_on_every_commit_and_only_then(dbconn, make_user):
    from blog.models import User
    alice = make_user('alice')
    before = dbconn.writes
    User.select().count()
    dbconn.execute_sql('SELECT 1')
    dbconn.execute_sql('WITH one(n) AS (SELECT 1) SELECT n FROM one')  # a read, too
    User.update(display_name='A').where(User.id == -1).execute()  # changes nothing
    assert dbconn.writes == before
    User.update(display_name='A').where(User.id == alice.id).execute()  # autocommit
    after_update = dbconn.writes
    assert after_update != before
    with dbconn.atomic():
        User.update(display_name='B').where(User.id == alice.id).execute()
        assert dbconn.writes == after_update  # not committed yet
    assert dbconn.writes != after_update
    committed = dbconn.writes
    with pytest.raises(RuntimeError):
        with dbconn.atomic():
            User.update(display_name='C').where(User.id == alice.id).execute()
            raise RuntimeError
    assert dbconn.writes == committed  # rolled back: nothing to see


def test_threads_always_see_their_own_committed_writes(app, make_user, monkeypatch):
    """Read-your-writes under races: after a thread commits a bump of the
    generation, the cache's generation() is at least that value."""
    db = app.config['blog.site'].backend.database
    monkeypatch.setattr(cache, 'RECHECK_SECONDS', 3600)
    make_user('alice')
    c = app.config['blog.site'].cache
    errors = []

    def writer():
        with db.connection_context():
            for _ in range(40):
                with db.atomic():
                    db.execute_sql('UPDATE user SET display_name = display_name || ? ', ('x',))
                    committed = c.backend.generation()
                seen = c.generation()
                if seen < committed:
                    errors.append((seen, committed))
    threads = [threading.Thread(target=writer) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors


class PausedRead:
    """Starts `cache.generation()` in a thread whose SQLite read is held, after the
    query and before the value is stored, until `resume()`."""

    def __init__(self, monkeypatch, c):
        db = c.backend.database
        real = c.backend.generation
        self.read_done, self.go_on = threading.Event(), threading.Event()

        def paused_read():
            value = real()
            if threading.current_thread() is self.thread:
                self.read_done.set()
                self.go_on.wait(5)
            return value
        monkeypatch.setattr(c.backend, 'generation', paused_read)

        def run():
            with db.connection_context():
                c.generation()
        self.thread = threading.Thread(target=run)
        self.thread.start()
        self.read_done.wait(5)

    def resume(self):
        self.go_on.set()
        self.thread.join()


def test_a_read_racing_a_commit_is_not_trusted(app, make_user, monkeypatch):
    """Deterministic: a generation read that began before another thread's commit
    must not be stored with the db.writes value of that commit (db.writes is read
    before the query, not after)."""
    db = app.config['blog.site'].backend.database
    monkeypatch.setattr(cache, 'RECHECK_SECONDS', 3600)
    make_user('alice')
    c = app.config['blog.site'].cache
    real = c.backend.generation
    paused = PausedRead(monkeypatch, c)
    with db.connection_context():
        with db.atomic():
            db.execute_sql("UPDATE user SET display_name = 'x'")
        committed = real()
    paused.resume()
    with db.connection_context():
        assert c.generation() >= committed


def test_a_commit_is_counted_only_once_it_has_landed(app, make_user, monkeypatch):
    """Deterministic: a reader running while COMMIT is still to come must not see
    db.writes already moved (it would store the old generation as current)."""
    from playhouse.pool import PooledSqliteDatabase

    db = app.config['blog.site'].backend.database
    monkeypatch.setattr(cache, 'RECHECK_SECONDS', 3600)
    make_user('alice')
    c = app.config['blog.site'].cache
    real_commit = PooledSqliteDatabase.commit

    def commit_with_a_reader_first(self):
        def reader():
            with db.connection_context():
                c.generation()
        thread = threading.Thread(target=reader)
        thread.start()
        thread.join()
        return real_commit(self)
    monkeypatch.setattr(PooledSqliteDatabase, 'commit', commit_with_a_reader_first)
    with db.connection_context():
        c.generation()
        with db.atomic():
            db.execute_sql("UPDATE user SET display_name = 'y'")
        assert c.generation() >= c.backend.generation()


def test_the_generation_never_steps_back(app, config, make_user, monkeypatch):
    """A slow read that began before another process's write finishes after a
    read that saw it: the newer value stays."""
    from peewee import sqlite3

    db = app.config['blog.site'].backend.database
    monkeypatch.setattr(cache, 'RECHECK_SECONDS', 0)  # every call reads
    make_user('alice')
    c = app.config['blog.site'].cache
    paused = PausedRead(monkeypatch, c)
    other = sqlite3.connect(config.db_path, isolation_level=None)
    other.execute("UPDATE user SET display_name = 'z'")  # another process's write
    other.close()
    with db.connection_context():
        newer = c.generation()
    paused.resume()
    monkeypatch.setattr(cache, 'RECHECK_SECONDS', 3600)
    assert c.generation() == newer
