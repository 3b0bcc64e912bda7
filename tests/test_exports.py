"""GET /settings/export and `python run.py import`: the zip format and a lossless
round trip through the command line."""

import datetime
import io
import os
import subprocess
import sys
import zipfile

import pytest
from webtest import TestApp

from blog.app import create_app
from blog.config import Config
from blog.db import db, hash_password
from blog.models import DRAFT, Post, User
from blog.zipformat import parse_markdown, post_to_markdown
from tests.conftest import PASSWORD, ROOT, TEST_COST, Auth


def run(*args):
    return subprocess.run([sys.executable, os.path.join(ROOT, 'run.py'), *args],
                          capture_output=True, text=True, cwd=ROOT, timeout=120)


def members(body):
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        return {name: archive.read(name).decode('utf-8') for name in archive.namelist()}


def when(day, micro=0):
    return datetime.datetime(2025, 6, day, 8, 30, 15, micro)


def set_times(post, **times):
    with db.connection_context():
        Post.update(**times).where(Post.id == post.id).execute()


@pytest.fixture
def site(make_user, make_post):
    """Authors and posts with everything an export has to carry."""
    root = make_user('root', role='admin')
    alice = make_user('alice', display_name='Alice "Al" Liddell ✓')
    bob = make_user('bob')
    posts = [
        make_post(alice, title='Hello, "world" & <friends> 😀', tags=['intro', 'café'],
                  body='First line\n\n---\n\ntitle: not front matter\n\n```\ncode\n```\n'),
        make_post(alice, title='Hello, "world" & <friends> 😀', body='Same title, same day.'),
        make_post(alice, title='A draft', status=DRAFT, body='  leading spaces, no newline'),
        make_post(alice, title='Was published\u2028', body='Then unpublished.\u2028Odd\u0085'),
        make_post(bob, title='日本語のタイトル', body='', tags=['japan']),
    ]
    set_times(posts[0], created_at=when(1, 1), updated_at=when(2, 2), published_at=when(1, 3))
    set_times(posts[1], created_at=when(1, 4), updated_at=when(1, 4), published_at=when(1, 5))
    set_times(posts[2], created_at=when(4), updated_at=when(4))
    set_times(posts[3], status=DRAFT, published_at=when(3, 6), created_at=when(3))
    set_times(posts[4], created_at=when(5), published_at=when(5))
    return root, alice, bob, posts


def with_authors():
    return Post.select(Post, User).join(User, on=(Post.author == User.id))


def everything():
    """Every stored field of every post, comparable across databases."""
    return sorted((p.author.username, p.title, p.slug, p.body, p.status, p.tags,
                   p.created_at, p.updated_at, p.published_at, p.html)
                  for p in with_authors())


def test_anonymous_is_sent_to_sign_in(client):
    response = client.get('/settings/export', status=303)
    assert response.headers['Location'] == '/login?next=/settings/export'


def test_author_exports_own_posts_drafts_included(client, auth, site):
    auth.login('alice')
    response = client.get('/settings/export')
    assert response.headers['Content-Type'] == 'application/zip'
    assert response.headers['Content-Disposition'].startswith(
        'attachment; filename="blog-export-alice-')
    files = members(response.body)
    assert sorted(files) == [
        'alice/2025-06-01-hello-world-friends-2.md',
        'alice/2025-06-01-hello-world-friends.md',
        'alice/2025-06-03-was-published.md',
        'alice/2025-06-04-a-draft.md',
    ]
    text = files['alice/2025-06-01-hello-world-friends.md']
    assert text.startswith('---\ntitle: "Hello, \\"world\\" & <friends> 😀"\n'
                           'slug: "hello-world-friends"\n'
                           'author: "alice"\nauthor_name: "Alice \\"Al\\" Liddell ✓"\n'
                           'status: "published"\ndate: "2025-06-01T08:30:15Z"\n'
                           'tags: ["intro", "café"]\n'
                           'created_at: "2025-06-01T08:30:15.000001Z"\n'
                           'updated_at: "2025-06-02T08:30:15.000002Z"\n'
                           'published_at: "2025-06-01T08:30:15.000003Z"\n---\n')
    meta, body = parse_markdown(text)
    assert body.startswith('First line\n\n---\n\ntitle: not front matter')
    unpublished = files['alice/2025-06-03-was-published.md']
    assert 'status: "draft"' in unpublished
    assert 'published_at: "2025-06-03T08:30:15.000006Z"' in unpublished
    assert 'title: "Was published\\u2028"' in unpublished  # YAML would read a line break
    assert unpublished.endswith('\n---\nThen unpublished.\u2028Odd\u0085')  # body as is


@pytest.mark.parametrize('user, all_param, status', [
    ('alice', '1', 403),
    ('bob', 'yes', 403),
    ('alice', '0', 200),
    ('root', '1', 200),
])
def test_only_admins_export_everything(client, auth, site, user, all_param, status):
    auth.login(user)
    response = client.get('/settings/export?all=' + all_param, status=status)
    if status == 200 and user == 'root':
        authors = {name.split('/')[0] for name in members(response.body)}
        assert authors == {'alice', 'bob'}


def test_round_trip_through_the_command_line(client, auth, site, tmp_path):
    auth.login('root')
    first = client.get('/settings/export?all=1').body
    path = tmp_path / 'export.zip'
    path.write_bytes(first)
    with db.connection_context():
        before = everything()

    fresh = str(tmp_path / 'fresh.db')
    result = run('import', str(path), '--db', fresh)
    assert result.returncode == 0, result.stderr
    assert 'Imported 5 posts' in result.stdout
    assert 'Created 2 deactivated authors' in result.stdout and 'alice, bob' in result.stdout

    again = run('import', str(path), '--db', fresh)  # idempotent
    assert again.returncode == 0, again.stderr
    assert 'Imported 0 posts' in again.stdout and 'Skipped 5' in again.stdout

    app = create_app(Config(db_path=fresh, hash_cost=TEST_COST, base_url='http://blog.test'))
    with app.config['blog.site'].activated(), db.connection_context():
        after = everything()
        imported = {u.username: u for u in User.select()}
        User.create(username='admin', password=hash_password(PASSWORD), role='admin')
    assert after == before
    assert imported['alice'].display_name == 'Alice "Al" Liddell ✓'
    assert not imported['alice'].is_active
    second_client = TestApp(app, extra_environ={'REMOTE_ADDR': '192.0.2.1'})
    Auth(second_client).login('alice', status=422)  # imported authors cannot sign in...
    Auth(second_client).login('admin')
    second = second_client.get('/settings/export?all=1').body
    assert members(second) == members(first)  # ...and nothing was lost
    with zipfile.ZipFile(io.BytesIO(second)) as a, zipfile.ZipFile(io.BytesIO(first)) as b:
        assert a.namelist() == b.namelist()


def test_import_attaches_posts_to_existing_authors(site, tmp_path, dbconn):
    root, alice, bob, posts = site
    path = tmp_path / 'one.zip'
    with zipfile.ZipFile(path, 'w') as archive:
        text = post_to_markdown(with_authors().where(Post.id == posts[4].id).get())
        archive.writestr('bob/x.md', text.replace('日本語のタイトル', 'Another one'))
        archive.writestr('notes.txt', 'not a post')
    dbconn.close()
    result = run('import', str(path), '--db', str(tmp_path / 'blog.db'))
    assert result.returncode == 0, result.stderr
    assert 'Imported 1 post' in result.stdout and 'Ignored 1 file' in result.stdout
    assert 'Created' not in result.stdout
    db.connect(reuse_if_open=True)
    assert Post.select().where((Post.author == bob.id) & (Post.title == 'Another one')).count() == 1
    assert User.get(User.username == 'bob').is_active


def test_hand_written_minimal_file_imports(tmp_path):
    path = tmp_path / 'mine.zip'
    with zipfile.ZipFile(path, 'w') as archive:
        archive.writestr('p.md', '---\r\ntitle: Plain title\r\nauthor: writer\r\n'
                                 'date: 2024-02-03T04:05:06+01:00\r\n---\r\nHello *there*\r\n')
    fresh = str(tmp_path / 'fresh.db')
    result = run('import', str(path), '--db', fresh)
    assert result.returncode == 0, result.stderr
    app = create_app(Config(db_path=fresh, hash_cost=TEST_COST))
    with app.config['blog.site'].activated(), db.connection_context():
        post = Post.get()
    assert post.title == 'Plain title' and post.status == 'published'
    assert post.published_at == post.created_at == datetime.datetime(2024, 2, 3, 3, 5, 6)
    assert post.body == 'Hello *there*\r\n' and '<em>there</em>' in post.html
    assert post.slug == 'plain-title'  # no slug in the file: made from the title


@pytest.mark.parametrize('line, slug', [
    ('slug: "my-own-words"\n', 'my-own-words'),
    ('slug: my-own-words\n', 'my-own-words'),
    ('slug: "My Own Words"\n', 'ca-va-tokyo'),  # not a slug as we make them
    ('slug: ""\n', 'ca-va-tokyo'),
    ('slug: 42\n', 'ca-va-tokyo'),
    ('slug: "%s"\n' % ('x' * 61), 'ca-va-tokyo'),
    ('', 'ca-va-tokyo'),
])
def test_import_takes_a_valid_slug_else_makes_one_from_the_title(tmp_path, line, slug):
    path = tmp_path / 'mine.zip'
    with zipfile.ZipFile(path, 'w') as archive:
        archive.writestr('p.md', '---\ntitle: "Ça va, Tokyo?"\n%sauthor: writer\n'
                                 'date: 2024-02-03T04:05:06Z\n---\nHello\n' % line)
    fresh = str(tmp_path / 'fresh.db')
    result = run('import', str(path), '--db', fresh)
    assert result.returncode == 0, result.stderr
    app = create_app(Config(db_path=fresh, hash_cost=TEST_COST))
    with app.config['blog.site'].activated(), db.connection_context():
        assert [p.slug for p in Post.select()] == [slug]


GOOD = ('---\ntitle: "T"\nauthor: "alice"\nstatus: "published"\ntags: ["a"]\n'
        'created_at: "2025-01-01T00:00:00.000000Z"\n---\nbody')


@pytest.mark.parametrize('content, message', [
    ('no front matter', 'front matter'),
    ('---\ntitle: "T"\nauthor: "alice"\n', 'closing'),
    (GOOD.replace('tags:', 'color: "red"\ntags:'), 'unknown front matter'),
    (GOOD.replace('"published"', '"secret"'), 'status'),
    (GOOD.replace('2025-01-01T00:00:00.000000Z', 'yesterday'), 'created_at'),
    (GOOD.replace('["a"]', '"a, b"'), 'tags'),
    (GOOD.replace('["a"]', '["Not Normal!"]'), 'tags'),
    (GOOD.replace('"alice"', '"Bad Name!"'), 'author'),
    (GOOD.replace('title: "T"', 'title: "%s"' % ('x' * 201)), 'title'),
    (GOOD.replace('title: "T"', 'title: ""'), 'title'),
    (GOOD.replace('title: "T"\n', ''), 'title'),
    (GOOD.replace('created_at: "2025-01-01T00:00:00.000000Z"\n', ''), 'date'),
    (GOOD.replace('title: "T"', 'title: "T"\ntitle: "U"'), 'twice'),
    (GOOD.encode('utf-16'), 'UTF-8'),
])
def test_bad_files_are_one_line_errors_and_write_nothing(tmp_path, content, message):
    path = tmp_path / 'bad.zip'
    with zipfile.ZipFile(path, 'w') as archive:
        archive.writestr('a/good.md', GOOD)
        archive.writestr('a/bad.md', content)
    fresh = tmp_path / 'fresh.db'
    result = run('import', str(path), '--db', str(fresh))
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert 'a/bad.md' in result.stderr and message in result.stderr
    assert 'Traceback' not in result.stderr
    assert not fresh.exists()  # checked before the database is even opened


@pytest.mark.parametrize('setup, message', [
    (lambda p: p.write_bytes(b'not a zip at all'), 'not a zip'),
    (lambda p: None, 'no such file'),
    (lambda p: zipfile.ZipFile(p, 'w').close(), 'no post files'),
    (lambda p: p.write_bytes(b'PK\x03\x04' + b'\x00' * 40), 'not a zip'),
])
def test_bad_zips_exit_2(tmp_path, setup, message):
    path = tmp_path / 'in.zip'
    setup(path)
    result = run('import', str(path), '--db', str(tmp_path / 'x.db'))
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1 and message in result.stderr


# --- malformed and hostile imports ----------------------------------------------

def zip_bytes(*members, compression=zipfile.ZIP_DEFLATED):
    out = io.BytesIO()
    with zipfile.ZipFile(out, 'w', compression=compression) as archive:
        for name, data in members:
            archive.writestr(name, data)
    return out.getvalue()


def corrupt_stream():
    data = bytearray(zip_bytes(('a/x.md', GOOD + 'y' * 5000)))
    start = data.find(b'a/x.md') + len('a/x.md')
    data[start + 10:start + 40] = b'\xff' * 30  # inside the deflate stream
    return bytes(data)


def stored_with(flag=0, method=0):
    """GOOD stored uncompressed, its headers then saying `flag` (1: encrypted) and
    compression `method` (99: one Python cannot read)."""
    data = bytearray(zip_bytes(('a/x.md', GOOD), compression=zipfile.ZIP_STORED))
    for signature, offset in ((b'PK\x03\x04', 6), (b'PK\x01\x02', 8)):
        at = data.find(signature) + offset
        data[at] |= flag
        data[at + 2] = method
    return bytes(data)


def front(line):
    return GOOD.replace('tags: ["a"]', line)


LATER = (datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=3)).strftime(
    '%Y-%m-%dT%H:%M:%SZ')


@pytest.mark.parametrize('data, message', [
    # Each of these gave a traceback before.
    (corrupt_stream(), 'a/x.md: Error -3 while decompressing'),
    (stored_with(flag=1), 'a/x.md: File'),  # ...is encrypted, password required
    (stored_with(method=99), 'a/x.md: That compression method is not supported'),
    (zip_bytes(('a/x.md', front('published_at: "0001-01-01T00:00:00+01:00"'))),
     '"published_at" is not a date'),
    (zip_bytes(('a/x.md', front('updated_at: "9999-12-31T23:59:59-01:00"'))),
     '"updated_at" is not a date'),
    (zip_bytes(('a/x.md', GOOD.replace('"T"', '[' * 3000 + ']' * 3000))), 'nested too deeply'),
    # Each of these was imported before, and broke the export or the homepage.
    (zip_bytes(('a/x.md', GOOD.replace('2025-01-01', '2107-01-01'))), '"created_at" 2107'),
    (zip_bytes(('a/x.md', front('updated_at: "2108-01-01T00:00:00Z"'))), '"updated_at" 2108'),
    (zip_bytes(('a/x.md', front('published_at: "%s"' % LATER))), 'a day from now'),
    (zip_bytes(('a/x.md', GOOD.replace('2025-01-01', '1969-12-31'))), 'between 1970'),
    (zip_bytes(('a/x.md', GOOD.replace('"T"', '"T\\ud800"'))), 'lone surrogate'),
    (zip_bytes(('a/x.md', GOOD.replace('body', 'bo\\ud800dy'))), None),  # plain text: kept
    (zip_bytes(('a/x.md', GOOD.replace('"T"', '"T\\u0007"'))), 'control characters'),
    (zip_bytes(('a/x.md', GOOD.replace('"T"', '"T\\nU"'))), 'control characters'),
    (zip_bytes(('a/x.md', GOOD.replace('"T"', '"%s"' % ('x' * 201)))), 'at most 200'),
    (zip_bytes(('a/x.md', GOOD + 'b' * 600_001)), '"body": The body can be at most 600000'),
    (zip_bytes(('a/x.md', front('tags: [%s]' % ','.join('"t%d"' % i for i in range(11))))),
     'at most 10 tags'),
    (zip_bytes(('a/x.md', front('author_name: "Al\\u0000"'))), 'control characters'),
    (zip_bytes(('a/x.md', front('author_name: ["Al"]'))), '"author_name" must be'),
    (zip_bytes(('a/x.md', front('tags: [["a"]]'))), '"tags" must be'),
    (zip_bytes(('a/x.md', front('tags: null'))), '"tags" must be'),
    (zip_bytes(('a/x.md', GOOD.replace('"T"', '12345678901234567890123'))), '"title" must'),
    (zip_bytes(('a/x.md', GOOD.replace('"T"', 'null'))), '"title" must'),
    (zip_bytes(('a/x.md', GOOD.replace('"published"', '["published"]'))), '"status"'),
    (zip_bytes(('a/x.md', GOOD.replace('"published"', '{"a": 1}'))), '"status"'),
    (zip_bytes(('a/x.md', GOOD.replace('"2025-01-01T00:00:00.000000Z"', '9' * 5000))),
     '"created_at" is not a date'),
    (zip_bytes(('a/x.md', '---\n')), 'no closing'),
    (zip_bytes(('a/x\n.md', 'no front matter')), 'a/x?.md: it does not start'),
])
def test_malformed_members_are_one_line_errors(tmp_path, data, message):
    from blog.zipformat import ExportError, read_zip

    path = tmp_path / 'in.zip'
    path.write_bytes(data)
    if message is None:  # the body's "\ud800" is six plain characters, not an escape
        records, _ = read_zip(str(path))
        assert records[0]['body'] == 'bo\\ud800dy'
        return
    with pytest.raises(ExportError) as caught:
        read_zip(str(path))
    assert message in str(caught.value) and '\n' not in str(caught.value)


def test_odd_but_valid_members_import(tmp_path):
    from blog.zipformat import read_zip

    path = tmp_path / 'in.zip'
    with pytest.warns(UserWarning, match='Duplicate name'):
        data = zip_bytes(
        ('a/bom.md', '\ufeff' + GOOD),  # a BOM: dropped (refused before)
        ('a/crlf.md', GOOD.replace('\n', '\r\n')),
        ('a/crlf.md', GOOD),  # the same name twice: two members
        ('a/dir.md/', ''),  # a directory named like a post: ignored
        ('a/NAME.md', GOOD),
        )
    path.write_bytes(data.replace(b'NAME', b'\xff\xfe\n\x80'))  # not UTF-8, a newline
    records, ignored = read_zip(str(path))
    assert len(records) == 4 and ignored == 1
    assert {r['title'] for r in records} == {'T'}


def test_total_uncompressed_size_is_bounded(tmp_path, monkeypatch):
    from blog import zipformat

    monkeypatch.setattr(zipformat, 'MAX_TOTAL_BYTES', 3 * len(GOOD))
    path = tmp_path / 'in.zip'
    path.write_bytes(zip_bytes(*[('a/%d.md' % i, GOOD) for i in range(4)]))
    opened = []
    monkeypatch.setattr(zipformat.zipfile.ZipFile, 'open',
                        lambda self, *a, **k: opened.append(a) or None)
    with pytest.raises(zipformat.ExportError, match='more than 0 MiB in all'):
        zipformat.read_zip(str(path))
    assert opened == []  # refused before any member was decompressed


def test_corrupt_zip_on_the_command_line_is_one_line(tmp_path):
    path = tmp_path / 'in.zip'
    path.write_bytes(corrupt_stream())
    result = run('import', str(path), '--db', str(tmp_path / 'x.db'))
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip().splitlines() == [
        'run.py: error: a/x.md: Error -3 while decompressing data: invalid bit length repeat']


def test_imported_posts_export_again(tmp_path):
    """Whatever import accepts, the export writes back: import, export, import."""
    from blog.zipformat import import_posts, read_zip, write_zip

    edge = '1970-01-01T00:00:00.000000Z'
    path = tmp_path / 'in.zip'
    path.write_bytes(zip_bytes(
        ('a/1.md', '\ufeff' + GOOD.replace('2025-01-01T00:00:00.000000Z', edge)),
        ('a/2.md', front('tags: [%s]' % ','.join('"t%d"' % i for i in range(10)))
         .replace('"T"', '"%s"' % ('é' * 200)) + '\u2028\x01'),
        ('a/3.md', front('updated_at: "%s"' % (datetime.datetime.now(datetime.UTC)
                                                + datetime.timedelta(hours=20))
                         .strftime('%Y-%m-%dT%H:%M:%SZ'))),
    ))
    records, _ = read_zip(str(path))
    app = create_app(Config(db_path=str(tmp_path / 'a.db'), hash_cost=TEST_COST))
    with app.config['blog.site'].activated(), db.connection_context():
        assert import_posts(records)[0] == 3
        again = tmp_path / 'again.zip'
        with open(again, 'wb') as out:
            assert write_zip(out) == 3
    second, _ = read_zip(str(again))
    assert second == records


def test_a_body_the_editor_would_refuse_is_a_one_line_error(tmp_path):
    wide = '|'.join('c%d' % i for i in range(65))
    table = '|%s|\n|%s|\n' % (wide, '|'.join('-' * 3 for _ in range(65)))
    path = tmp_path / 'in.zip'
    with zipfile.ZipFile(path, 'w') as archive:
        archive.writestr('a/good.md', GOOD)
        archive.writestr('a/wide.md', GOOD.replace('\nbody', '\n' + table))
    fresh = tmp_path / 'fresh.db'
    result = run('import', str(path), '--db', str(fresh))
    assert result.returncode == 2, result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith('run.py: error: a/wide.md: A table in the body has 65 columns')
    assert not fresh.exists()


def test_an_import_renders_every_body_under_the_editors_bounds(tmp_path, spinning_renderer):
    from blog.zipformat import ExportError, read_zip
    path = tmp_path / 'in.zip'
    path.write_bytes(zip_bytes(('a/slow.md', GOOD)))
    with pytest.raises(ExportError, match=r'^a/slow.md: The body takes too long'):
        read_zip(str(path))
