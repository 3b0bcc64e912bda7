"""Shared fixtures: an app on a temp-file database, a WebTest client, an `auth`
helper that signs in through the real forms, and factories for users and posts."""

import json
import logging
import os
import re
import shlex
import sys

import pytest
from webtest import TestApp
from webtest.forms import Form

from blog import passwords
from blog.app import create_app
from blog.config import Config
from blog.db import db, hash_password
from blog.models import DRAFT, PUBLISHED, Post, Revision, SiteSettings, User, utcnow
from blog.site import APP_KEY
from blog.sqlite import version as sqlite_version

# Hashing at the production cost takes ~0.3 s; tests use a tiny cost except where
# the cost itself is under test (tests/test_passwords.py).
TEST_COST = passwords.Cost(4, 8, 1)
PASSWORD = 'correct horse battery'


def pytest_report_header(config):
    return 'SQLite %s' % sqlite_version()


@pytest.fixture
def restore_logging():
    """For tests that call `blog.logs.configure()` (serve does): the process's logging
    is put back afterwards."""
    root = logging.getLogger()
    names = ('waitress.queue', 'peewee.migrations')
    handlers, level = list(root.handlers), root.level
    levels = {name: logging.getLogger(name).level for name in names}
    yield
    for handler in root.handlers[:]:
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()  # a QueuedWriter stops its thread and its access lines
    root.setLevel(level)
    for name, saved in levels.items():
        logging.getLogger(name).setLevel(saved)


@pytest.fixture
def config(tmp_path):
    return Config(db_path=str(tmp_path / 'blog.db'), hash_cost=TEST_COST,
                  base_url='http://blog.test')


@pytest.fixture
def app(config):
    """A fresh app on a temp database; its site is this (the test's) thread's, so
    the test can query the models directly, as every request does."""
    application = create_app(config)
    site = application.config[APP_KEY]
    with site.activated():
        open_site(application)
        yield application
        site.close()


def open_site(application):
    """Most tests register freely and publish: an open site whose new accounts are
    authors. (A new site is invite-only with contributors: test_site_settings.)"""
    with application.config[APP_KEY].activated(), db.connection_context():
        SiteSettings.update(registration='open', default_role='author').execute()


@pytest.fixture
def site(app):
    """The app's Site (its backend, cache, throttle and settings)."""
    return app.config[APP_KEY]


@pytest.fixture
def client(app):
    return TestApp(app, extra_environ={'REMOTE_ADDR': '192.0.2.1'})


@pytest.fixture
def dbconn(app):
    """The app's database, connected for direct checks from the test."""
    db.connect(reuse_if_open=True)
    yield db
    if not db.is_closed():
        db.close()


def csrf_from(response):
    """The csrf_token value of the first form on a page."""
    match = re.search(r'name="csrf_token" value="([^"]+)"', response.text)
    assert match, 'no csrf_token on the page'
    return match.group(1)


class Auth:
    """Signs in and out through the real forms."""

    def __init__(self, client):
        self.client = client

    def login(self, username='alice', password=PASSWORD, status=303):
        page = self.client.get('/login')
        form = page.forms['login-form']
        form['username'] = username
        form['password'] = password
        return form.submit(status=status)

    def logout(self):
        page = self.client.get('/')
        return self.client.post('/logout', {'csrf_token': csrf_from(page)}, status=303)

    def csrf(self):
        return csrf_from(self.client.get('/login'))


@pytest.fixture
def auth(client):
    return Auth(client)


@pytest.fixture
def client_for(app):
    """client_for('alice') -> a new browser (own cookie jar) signed in as alice;
    client_for() -> an anonymous one."""
    def factory(username=None):
        client = TestApp(app, extra_environ={'REMOTE_ADDR': '192.0.2.9'})
        if username:
            Auth(client).login(username)
        return client
    return factory


@pytest.fixture
def people(make_user):
    """alice writes, bob is another author, root is an admin."""
    return {'alice': make_user('alice', display_name='Alice Liddell'),
            'bob': make_user('bob'),
            'root': make_user('root', role='admin', display_name='The Admin')}


@pytest.fixture
def browser(client_for, people):
    """browser('alice') -> a fresh client signed in as alice (None: anonymous); the
    `people` exist first."""
    return client_for


def fresh_post(post_id):
    """The post as the database has it now."""
    with db.connection_context():
        return Post.get_by_id(post_id)


def post_path(post, **query):
    """The address of a post's page (a Post or an id), its slug as stored now: what
    every link to it is, built by the app's own url() (the site of this test)."""
    from blog.urls import url

    post_id = getattr(post, 'id', post)
    return url('post', post_id=post_id, slug=fresh_post(post_id).slug, **query)


POST_LINK = re.compile(r'^(?:https?://[^/]+)?/posts/([0-9]+)-[a-z0-9-]+$')


def save_as(form, state, **kwargs):
    """Submit the post editor with the save button for `state` (Publish, Save draft,
    Submit for review...); a state no button offers is sent as a field, as a hand-made
    request would."""
    if any(field.value == state for field in form.fields.get('status', [])):
        return Form.submit(form, 'status', value=state, **kwargs)
    fields = form.submit_fields() + [('status', state)]
    return form.response.test_app.post(form.action, fields, **kwargs)


def fill_editor(form, fields):
    """Set the post editor's fields; a 'status' among them chooses the save button,
    which the form's submit() then presses."""
    fields = dict(fields)
    state = fields.pop('status', None)
    for name, value in fields.items():
        form[name] = value
    if state is not None:
        form.submit = lambda **kwargs: save_as(form, state, **kwargs)
    return form


def post_id_in(href):
    """The id of the post a link goes to; it must be the post's slugged address."""
    match = POST_LINK.match(href)
    assert match, 'not the address of a post: %r' % href
    return int(match.group(1))


def post_revisions(post_id):
    """The post's saved revisions, oldest first."""
    with db.connection_context():
        return list(Revision.select().where(Revision.post == post_id).order_by(Revision.version))


@pytest.fixture
def make_user(app):
    """Factory: make_user('alice', role='admin', ...) -> User (password PASSWORD)."""
    cache = {}

    def factory(username='alice', password=PASSWORD, **fields):
        with db.connection_context():
            if password not in cache:
                cache[password] = hash_password(password)
            user = User.create(username=username, password=cache[password], **fields)
        return user
    return factory


@pytest.fixture
def make_post(app):
    """Factory: make_post(author, title=..., body=..., status=..., tags=[...]) -> Post
    (its slug from its title unless given, as the editor makes it)."""
    from blog.markdown import render_markdown
    from blog.slugs import slugify

    def factory(author, title='A post', body='Some *text*.', status=PUBLISHED, tags=(),
                published_at=None, **fields):
        now = utcnow()
        if status == PUBLISHED and published_at is None:
            published_at = now
        fields.setdefault('slug', slugify(title))
        with db.connection_context():
            return Post.create(author=author, title=title, body=body,
                               html=render_markdown(body), status=status, tags=list(tags),
                               created_at=now, updated_at=now, updated_by=author,
                               published_at=published_at if status == PUBLISHED else None,
                               **fields)
    return factory


# The renderer child's own code (blog.markdown._child_main sets its CPU, core-dump
# and memory limits), with the renderer swapped for a loop that never ends: the
# kernel's CPU limit stops it, as it stops a pathological body, without needing a
# body slow enough for the machine the tests run on. Before spinning it writes down
# the limits it runs under and the CPU it had used, for tests to check.
_SPINNING_CHILD = """\
import json
import resource
import sys

from blog import markdown


def spin(source, max_chars):
    usage = resource.getrusage(resource.RUSAGE_SELF)
    with open(%(record)r, 'w') as fh:
        json.dump({'cpu': resource.getrlimit(resource.RLIMIT_CPU),
                   'spent': usage.ru_utime + usage.ru_stime,
                   'core': resource.getrlimit(resource.RLIMIT_CORE),
                   'chars': len(source), 'max_chars': max_chars}, fh)
    while True:
        pass


markdown.render_checked = spin
markdown._child_main(sys.argv[3:])  # after '-m blog.markdown': BYTES
"""


class SpinningRenderer:
    """What the stand-in child recorded (None until one ran)."""

    def __init__(self, record):
        self.record = record

    def limits(self):
        if not self.record.exists():
            return None
        return json.loads(self.record.read_text())


@pytest.fixture
def spinning_renderer(tmp_path, monkeypatch):
    """Bodies go to a renderer child that uses CPU until its limit (1 s) stops it:
    every save of a new body is refused as too slow, in about a second."""
    from blog import markdown

    record = tmp_path / 'spinning-child.json'
    script = tmp_path / 'spinning_child.py'
    script.write_text(_SPINNING_CHILD % {'record': str(record)})
    # markdown.PYTHON is run as `PYTHON -m blog.markdown BYTES`; a shell
    # script in its place runs the stand-in with those arguments instead.
    python = tmp_path / 'python'
    python.write_text('#!/bin/sh\nexec %s %s "$@"\n'
                      % (shlex.quote(sys.executable), shlex.quote(str(script))))
    python.chmod(0o755)
    monkeypatch.setattr(markdown, 'PYTHON', str(python))
    monkeypatch.setattr(markdown, 'RENDER_SECONDS', 1)
    yield SpinningRenderer(record)
    markdown.stop_workers()  # none of its children outlives the test


# Longer than markdown.INLINE_CHARS (so it goes to the child) and quick to render for
# real: only the stand-in makes it too slow.
LONG_BODY = 'Plain prose, quick to turn into HTML. ' * 1000

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
__all__ = ['PASSWORD', 'TEST_COST', 'csrf_from', 'DRAFT', 'PUBLISHED', 'ROOT']
