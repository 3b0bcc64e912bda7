"""A tour of every page a person can reach, in a real browser against the real server,
on a site with a realistic mix of people and posts: each page at 1280x900 and 390x844,
in the light and the dark colour scheme, is checked by axe-core (WCAG 2.1 A/AA and
axe's best practices) and photographed whole (screenshots/<page>-<width>-<scheme>.png);
at 390 and 360 px nothing may be wider than the phone; the Nu Html Checker reads each
page's HTML once. Every problem found on the way is collected and the test fails once,
at the end, with all of them (also written to screenshots/tour-report.txt).

A page of the tour is one line of PAGES: (name, path, who). `path` is a GET (with
{placeholders} from the site built by the `site` fixture) or a function that brings the
browser to a page only a form answers (a 422, a preview, the conflict page, ...);
`who` is the username signed in (None: nobody).

Skips, with the reason, only when no browser can be installed on the machine.
"""

import datetime
import os
import re
import subprocess
import sys
import time
from collections import defaultdict
from typing import Any, NamedTuple

import pytest

from tests import browser, pictures
from tests.browser import fill, sign_in, submit
from tests.conftest import PASSWORD
from tests.server import ROOT, Browser, Server

REASON = browser.why_no_browser()
pytestmark = [pytest.mark.server, pytest.mark.skipif(REASON is not None, reason=REASON or '')]

WIDE, PHONE, NARROW = (1280, 900), (390, 844), (360, 800)
SCHEMES = ('light', 'dark')
AXE_EXTRA = ('best-practice',)
RUN_PY = os.path.join(ROOT, 'run.py')

SITE_NAME = 'Field Notes'
SITE_DESCRIPTION = 'Writing on code, craft and the outdoors from a small team of authors'

# A post with everything Markdown gives: headings, a quote, lists, a table, inline code,
# a link and a fenced code block whose lines are far wider than a phone.
RICH_BODY = """\
Write-ahead logging changes how SQLite commits, and with it what a busy web site can
expect from one database file. These are the notes I wish I had when I switched.

## Why WAL

In the default rollback journal, a writer locks out every reader while it commits. In
WAL mode, commits are appended to a separate `-wal` file and readers keep reading the
pages they started with. See [the SQLite documentation](https://sqlite.org/wal.html).

> Readers do not block writers and a writer does not block readers. Reading and
> writing can proceed concurrently.
>
> — sqlite.org, *Write-Ahead Logging*

### What changes on disk

1. Each commit appends its pages to `blog.db-wal`.
2. A checkpoint copies them back into `blog.db`, by default every 1000 pages.
3. Each reader sees the database as it was when its transaction began.

What you gain, and what you give up:

- far fewer `fsync` calls for each commit;
- readers that never wait for the writer;
- still only one writer at a time, so keep write transactions short;
- the database must live on a local disk, not a network share.

## The settings I use

| Pragma | Default | Mine | Why |
|---|---|---|---|
| `journal_mode` | `delete` | `wal` | readers and a writer at once |
| `synchronous` | `full` | `normal` | safe with WAL; one fsync a checkpoint |
| `busy_timeout` | `0` | `10000` | queue writers instead of failing |
| `wal_autocheckpoint` | `1000` | `1000` | pages in the WAL before a checkpoint |

### Opening the database

```python
def open_database(path, timeout=10.0, pragmas=(('journal_mode', 'wal'), ('synchronous', 'normal'))):
    connection = sqlite3.connect(path, timeout=timeout, isolation_level=None, uri=False)
    for name, value in pragmas:
        connection.execute('PRAGMA %s = %s' % (name, value))  # only journal_mode is kept
    return connection
```

## What I would do again

Measure first: `PRAGMA wal_checkpoint(TRUNCATE)` after a bulk load keeps the WAL small,
and `sqlite3_analyzer` tells you where the pages went.
"""

BREAD_BODY = """\
Six weeks of feeding a starter, baking every Saturday, and writing down what happened.

## Week one

The starter doubled in eight hours at 24 °C. The loaf was flat and sour, and that is
normal: give it time.

## Week four

- 75% hydration, 2% salt, 20% starter
- bulk ferment until it grows by half, not by the clock
- a cold night in the fridge makes shaping easy

> Bake by the dough, not by the recipe.
"""

NOTES_V1 = """\
Four hours on the ridge path from the village to the old fire tower.

## The route

The path climbs through beech woods, then opens onto the ridge.
"""
NOTES_V2 = NOTES_V1 + """
## What to bring

- two litres of water
- a windproof layer
"""
NOTES_V3 = NOTES_V2.replace('Four hours', 'Four and a half hours') + """
The tower is open on weekends from May to September.
"""

STYLE_BODY = """\
A few rules for everyone who writes here.

## Titles

Short, plain and specific. *Notes on bread* beats *Some thoughts*.

## Formatting

| Use | For |
|---|---|
| `## Headings` | sections, never more than three levels |
| `> quotes` | other people's words, with a source |
| fenced code | anything someone might copy |

Contributors: submit for review, and an editor will read it within a day or two.
"""

MEETING_BODY = """\
Agenda for the team call.

We meet on Tuesday at 10:00.

Bring one post idea each.
"""


class Page(NamedTuple):
    name: str
    path: Any  # a GET path (str.format with the site's places), or a function(tour)
    who: str | None  # the username signed in, None for nobody
    status: int = 200  # what a GET path answers


# --- Building the site: the command line, then the real forms over HTTP ----------------

def cli(db, *args, stdin=None):
    subprocess.run([sys.executable, RUN_PY, *args, '--db', db], input=stdin, text=True,
                   check=True, capture_output=True, cwd=ROOT)


def post_form(client, path, fields):
    """POST the editor form at `path` (multipart, as the browser sends it) with its
    csrf_token, version and form_id: the answer's Location."""
    token, version, page = client.form(path)
    data = {'csrf_token': token, **fields}
    if version:
        data.setdefault('version', version)
    form_id = re.search(r'name="form_id" value="([^"]+)"', page)
    if form_id:
        data['form_id'] = form_id.group(1)
    status, headers, text = client.request(path, data, multipart=True)
    assert status == 303, (path, status, text[:2000])
    return headers['Location']


def write(client, title, body, tags='', status='published', publish_at=''):
    """A new post through /posts/new: (its id, its address)."""
    location = post_form(client, '/posts/new', {
        'title': title, 'body': body, 'tags': tags, 'status': status,
        'publish_at': publish_at})
    post_id = int(re.search(r'/posts/(\d+)', location).group(1))
    return post_id, location.split('?')[0]


def upload(client, data, alt):
    """An image through /media: its content address."""
    status, headers, _ = client.request('/media', {
        'csrf_token': client.csrf('/media'), 'alt': alt, 'file': ('photo', data)},
        multipart=True)
    assert status == 303, status
    return re.search(r'/media/([0-9a-f]{32})\.', client.request(headers['Location'])[2]).group(1)


def edit(client, post_id, **fields):
    return post_form(client, '/posts/%d/edit' % post_id, fields)


def post_to(client, path, fields, form_path='/'):
    status, headers, text = client.request(path, {'csrf_token': client.csrf(form_path),
                                                  **fields})
    assert status == 303, (path, status, text[:2000])
    return headers['Location']


def set_profile(client, display_name, bio, email=''):
    token, version, _ = client.form('/settings')
    status, _, text = client.request('/settings', {
        'csrf_token': token, 'version': version, 'display_name': display_name,
        'email': email, 'bio': bio})
    assert status == 303, (status, text[:2000])


def invite(root, role, email):
    """A new invitation made at /admin/invitations: the token of its link."""
    location = post_to(root, '/admin/invitations', {'role': role, 'email': email},
                       '/admin/invitations')
    _, _, page = root.request(location)
    link = re.search(r'id="invite-link"[^>]*value="([^"]+)"', page).group(1)
    return re.search(r'invite=([^&"]+)', link).group(1)


def register(base, username, token):
    client = Browser(base)
    path = '/register?invite=' + token
    status, _, text = client.request('/register', {
        'username': username, 'password': PASSWORD, 'password_confirm': PASSWORD,
        'invite': token, 'csrf_token': client.csrf(path)})
    assert status == 303, (status, text[:2000])
    return client


def in_a_week():
    return (datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=7)).strftime(
        '%Y-%m-%dT09:30')


@pytest.fixture(scope='module')
def site(tmp_path_factory):
    """A site as people use it: an admin (root), an editor (eddie), authors (anna,
    dora), a contributor (carl) and demo authors enough for second pages; posts in
    every state; an unused invitation; a name and a description. `site.places` fills
    PAGES' {placeholders}; `site.clients` holds each person's HTTP session."""
    folder = tmp_path_factory.mktemp('tour')
    db = str(folder / 'blog.db')
    cli(db, 'create-admin', 'root', stdin=PASSWORD)
    cli(db, 'demo', '--authors', '24', '--posts', '80', '--seed', '7')
    cli(db, 'settings', 'site_name', SITE_NAME)
    cli(db, 'settings', 'site_description', SITE_DESCRIPTION)
    cli(db, 'settings', 'registration', 'invite')
    with Server(db, open_site=False) as server:
        root = Browser(server.url).sign_in('root')
        clients = {'root': root}
        used = {}
        for username, role in (('eddie', 'editor'), ('anna', 'author'), ('dora', 'author'),
                               ('carl', 'contributor')):
            used[username] = invite(root, role, username + '@example.org')
            clients[username] = register(server.url, username, used[username])
        set_profile(root, 'Rita Root', 'Keeps the lights on.')
        set_profile(clients['eddie'], 'Eddie Editor', 'Reads everything twice.')
        set_profile(clients['anna'], 'Anna Okafor',
                    'Writes about databases, bread and long walks. Lives near the hills.')
        set_profile(clients['dora'], 'Dora Novak', 'Occasional notes on maps.')
        anna, eddie, carl = clients['anna'], clients['eddie'], clients['carl']
        places = {'invite': invite(root, 'author', 'newcomer@example.org'),
                  'used_invite': used['eddie']}

        places['wal_id'], places['wal'] = write(
            anna, 'A field guide to SQLite’s WAL mode', RICH_BODY, 'sqlite, databases')
        write(anna, 'Sourdough, week by week', BREAD_BODY, 'bread, cooking')
        places['notes_id'], _ = write(anna, 'Notes from the ridge path', NOTES_V1,
                                      'walking, maps')
        edit(anna, places['notes_id'], title='Notes from the ridge path', body=NOTES_V2,
             tags='walking, maps', status='published')
        edit(anna, places['notes_id'], title='Notes from the ridge path', body=NOTES_V3,
             tags='walking, maps, travel', status='published')
        places['draft_id'], places['draft'] = write(
            anna, 'Half-written: on typography', 'Measure, leading and *why 66 characters*.',
            'typography', status='draft')
        write(anna, 'Ready for a second pair of eyes', 'Is this clear?\n\n- yes\n- no',
              'writing', status='pending')
        places['scheduled_id'], places['scheduled'] = write(
            anna, 'Coming next week: cycling the coast', 'Route, ferries and where to eat.',
            'cycling, travel', publish_at=in_a_week())
        trashed, _ = write(anna, 'An old announcement', 'No longer true.', 'news')
        post_to(anna, '/posts/%d/delete' % trashed, {})
        places['meeting_id'], _ = write(anna, 'Team call notes', MEETING_BODY, 'team',
                                        status='draft')
        write(eddie, 'Style guide for contributors', STYLE_BODY, 'writing, sqlite')
        write(clients['dora'], 'Old maps of the valley', 'Three maps, 1820 to 1910.', 'maps')
        write(carl, 'My first post: birds of the estuary',
              'Curlews, redshanks and one very loud oystercatcher.', 'birds', status='pending')
        write(carl, 'Ideas for later', 'A list.', status='draft')
        key = upload(anna, pictures.jpeg_with_gps(1800, 1200), 'Fishing boats in a small harbour')
        upload(anna, pictures.png(640, 480), 'A chart of the tides through one week')
        _, places['photos'] = write(anna, 'Harbour photos', (
            'The boats came in at noon.\n\n![Fishing boats in a small harbour](/media/%s.jpg)'
            '\n\nBy evening the tide had turned.' % key), 'travel')
        places['svg'] = str(folder / 'drawing.svg')
        with open(places['svg'], 'wb') as out:
            out.write(pictures.SVG)
        # A reset link for dora, made by an admin (no mail server: shown on the page).
        status, headers, _ = root.request('/admin/users/dora/reset', {
            'csrf_token': root.csrf('/admin/users/dora')})
        assert status == 303, status
        shown = root.request(headers['Location'])[2]
        places['reset'] = re.search(r'id="reset-link"[^>]*value="https?://[^/]+([^"]+)"',
                                    shown).group(1)
        server.places, server.clients = places, clients
        yield server


@pytest.fixture(scope='module')
def fresh_site(tmp_path_factory):
    """A site just made, with no admin yet, and its one-time setup link."""
    db = str(tmp_path_factory.mktemp('fresh') / 'blog.db')
    with Server(db, open_site=False) as server:
        match = re.search(r'/setup\?token=[A-Za-z0-9_-]+',
                          server.wait_for_output(r'/setup\?token=[A-Za-z0-9_-]+'))
        server.setup_path = match.group(0)
        yield server


@pytest.fixture(scope='module')
def driver():
    drv = browser.start_driver()
    yield drv
    drv.quit()


# --- Pages only a form answers ------------------------------------------------------------

def click(driver, selector):
    """Click `selector` (a submit button) and wait for the page it brings."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait
    driver.execute_script('window.__beforeSubmit = true;')
    driver.find_element(By.CSS_SELECTOR, selector).click()
    WebDriverWait(driver, 20).until(lambda d: d.execute_script(
        'return window.__beforeSubmit === undefined && document.readyState === "complete";'))


def set_value(driver, name, text):
    """Put a long text in a field at once (typing it takes seconds), as a paste would."""
    driver.execute_script(
        'const el = document.getElementsByName(arguments[0])[0]; el.value = arguments[1];'
        'el.dispatchEvent(new Event("input", {bubbles: true}));', name, text)


def expect(driver, *texts):
    source = browser.page_html(driver)
    missing = [text for text in texts if text not in source]
    assert not missing, 'not on the page: %r' % missing


def login_failed(tour):
    tour.get('/login')
    fill(tour.driver, {'username': 'anna', 'password': 'not the password at all'})
    submit(tour.driver)
    expect(tour.driver, 'form-error')


def forgot_sent(tour):
    tour.get('/password/forgot')
    fill(tour.driver, {'login': 'someone@example.org'})
    submit(tour.driver)
    expect(tour.driver, 'is on its way to that address')


def register_invalid(tour):
    tour.get('/register?invite={invite}')
    fill(tour.driver, {'username': 'newcomer', 'password': 'short',
                       'password_confirm': 'short'})
    submit(tour.driver)
    expect(tour.driver, 'aria-invalid')


def editor_invalid(tour):
    """The editor after a 422: no title."""
    tour.get('/posts/new')
    set_value(tour.driver, 'body', RICH_BODY)
    fill(tour.driver, {'tags': 'sqlite'})
    submit(tour.driver)
    expect(tour.driver, 'aria-invalid', 'id="f-title-error"')


def media_refused(tour):
    """The library after a refused upload (an SVG): 422, the reason beside the field."""
    from selenium.webdriver.common.by import By
    tour.get('/media')
    tour.driver.find_element(By.NAME, 'file').send_keys(tour.site.places['svg'])
    fill(tour.driver, {'alt': 'A drawing'})
    submit(tour.driver, form_selector='form.upload-form')
    expect(tour.driver, 'id="f-file-error"', 'SVG images are not accepted')


def editor_preview(tour):
    tour.get('/posts/new')
    fill(tour.driver, {'title': 'A preview of WAL mode', 'tags': 'sqlite, databases'})
    set_value(tour.driver, 'body', RICH_BODY)
    click(tour.driver, 'button[name=preview]')
    expect(tour.driver, 'preview-heading', 'open_database')


def conflict(tour):
    """Anna edits the team notes while Eddie saves the same line: the 409 page."""
    post_id = tour.places['meeting_id']
    tour.get('/posts/%d/edit' % post_id)
    edit(tour.clients['eddie'], post_id, title='Team call notes', status='draft',
         body=MEETING_BODY.replace('Tuesday at 10:00', 'Wednesday at 10:00'), tags='team')
    fill(tour.driver, {'body': MEETING_BODY.replace('Tuesday at 10:00', 'Thursday at 11:30')})
    submit(tour.driver)
    expect(tour.driver, 'Your changes were not saved yet', 'Wednesday', 'Thursday')


def session_ended(tour):
    """Anna's session ends while she types (401): her text in a sign-in form."""
    tour.get('/posts/{wal_id}/edit')
    fill(tour.driver, {'title': 'A field guide to WAL mode, revised'})
    tour.driver.delete_all_cookies()
    tour.who = None
    submit(tour.driver)
    expect(tour.driver, 'rescue-form', 'name="password"')


def session_resumed(tour):
    """Signing in on the 401 page: back to the text, ready to save."""
    session_ended(tour)
    fill(tour.driver, {'username': 'anna', 'password': PASSWORD})
    submit(tour.driver, '#rescue-form')
    tour.who = 'anna'
    expect(tour.driver, 'Back to your text', 'A field guide to WAL mode, revised')


def token_stale(tour):
    """Anna signs out and in again in another tab, then saves in the first (403)."""
    driver = tour.driver
    tour.get('/posts/{wal_id}/edit')
    fill(driver, {'title': 'A field guide to WAL mode, stale'})
    first = driver.current_window_handle
    driver.switch_to.new_window('tab')
    sign_in(driver, tour.site, 'anna')
    driver.close()
    driver.switch_to.window(first)
    submit(driver)
    expect(driver, 'rescue-form', 'A field guide to WAL mode, stale')


def invitation_made(tour):
    tour.get('/admin/invitations')
    fill(tour.driver, {'role': 'contributor', 'email': 'guest@example.org'})
    submit(tour.driver, '#invitation-form')
    expect(tour.driver, 'id="invite-link"')


def elsewhere(tour, path):
    """A page of the new site. Cookies do not tell ports apart: the new site's session
    cookie is dropped before the next page (whoever it is for) is visited."""
    tour.driver.delete_all_cookies()
    tour.who = 'the new site'
    tour.driver.get(tour.fresh.url + path)


def first_run(tour):
    elsewhere(tour, tour.fresh.setup_path)
    expect(tour.driver, 'name="password_confirm"')


def first_run_home(tour):
    elsewhere(tour, '/')
    expect(tour.driver, 'This site has no admin yet')


# Every page of the tour. Grouped by who is signed in, so that the browser signs in
# once for each group.
PAGES = [
    Page('home', '/', None),
    Page('home-page-2', '/?page=2', None),
    Page('post', '{wal}', None),
    Page('authors', '/authors', None),
    Page('authors-page-2', '/authors?page=2', None),
    Page('author', '/authors/anna', None),
    Page('archive', '/archive', None),
    Page('archive-page-2', '/archive?page=2', None),
    Page('tag', '/tags/sqlite', None),
    Page('search', '/search?q=sqlite', None),
    Page('search-no-results', '/search?q=xylophone', None),
    Page('search-empty', '/search', None),
    Page('login', '/login', None),
    Page('login-failed', login_failed, None),
    Page('password-forgot', '/password/forgot', None),
    Page('password-forgot-sent', forgot_sent, None),
    Page('password-reset', '{reset}', None),
    Page('email-confirm-invalid', '/email/confirm/not-a-real-link', None, 404),
    Page('register-closed', '/register', None, 403),
    Page('register-invited', '/register?invite={invite}', None),
    Page('register-invalid', register_invalid, None),
    Page('register-invitation-used', '/register?invite={used_invite}', None, 410),
    Page('not-found', '/no-such-page', None, 404),
    Page('post-not-found', '/posts/999999-gone', None, 404),
    Page('method-not-allowed', '/logout', None, 405),
    Page('setup', first_run, None),
    Page('home-new-site', first_run_home, None),

    Page('home-signed-in', '/', 'anna'),
    Page('post-own', '{wal}', 'anna'),
    Page('post-draft', '{draft}', 'anna'),
    Page('post-scheduled', '{scheduled}', 'anna'),
    Page('editor-new', '/posts/new', 'anna'),
    Page('editor-invalid', editor_invalid, 'anna'),
    Page('editor-preview', editor_preview, 'anna'),
    Page('editor-edit', '/posts/{wal_id}/edit', 'anna'),
    Page('history', '/posts/{notes_id}/history', 'anna'),
    Page('revision', '/posts/{notes_id}/revisions/1', 'anna'),
    Page('conflict', conflict, 'anna'),
    Page('my-posts-drafts', '/me/posts', 'anna'),
    Page('my-posts-in-review', '/me/posts?state=pending', 'anna'),
    Page('my-posts-scheduled', '/me/posts?state=scheduled', 'anna'),
    Page('my-posts-published', '/me/posts?state=published', 'anna'),
    Page('my-posts-trash', '/me/posts?state=trash', 'anna'),
    Page('trash', '/trash', 'anna'),
    Page('media-library', '/media', 'anna'),
    Page('media-refused', media_refused, 'anna'),
    Page('post-with-image', '{photos}', None),
    Page('settings-profile', '/settings', 'anna'),
    Page('settings-password', '/settings/password', 'anna'),
    Page('forbidden', '/admin/users', 'anna', 403),
    Page('rescue-session-ended', session_ended, 'anna'),
    Page('rescue-signed-in-again', session_resumed, 'anna'),
    Page('rescue-stale-form', token_stale, 'anna'),

    Page('editor-new-contributor', '/posts/new', 'carl'),
    Page('my-posts-empty', '/me/posts?state=scheduled', 'carl'),
    Page('media-empty', '/media', 'carl'),

    Page('review', '/review', 'eddie'),

    Page('admin-users', '/admin/users', 'root'),
    Page('admin-user', '/admin/users/anna', 'root'),
    Page('admin-settings', '/admin/settings', 'root'),
    Page('admin-invitations', '/admin/invitations', 'root'),
    Page('admin-invitation-made', invitation_made, 'root'),
    Page('trash-admin', '/trash', 'root'),
]


# --- The tour -------------------------------------------------------------------------------

class Tour:
    """One browser walking PAGES, and every problem found on the way."""

    def __init__(self, driver, site, fresh, folder):
        self.driver, self.site, self.fresh, self.folder = driver, site, fresh, folder
        self.places, self.clients = site.places, site.clients
        self.who = None
        self.failures = []
        self.html = {}  # page name -> its saved HTML file

    def get(self, path):
        self.driver.get(self.site.url + path.format(**self.places))

    def become(self, who):
        if who == self.who:
            return
        if who is None:
            self.driver.delete_all_cookies()
        else:
            sign_in(self.driver, self.site, who)
        self.who = who

    def fail(self, page, kind, rule, detail, width=None, scheme=None):
        self.failures.append({'page': page.name, 'kind': kind, 'rule': rule,
                              'detail': detail, 'width': width, 'scheme': scheme})

    def visit(self, page):
        """Bring the browser to `page`; save its HTML for the Nu checker (the server's
        own for a GET, the document as the browser holds it for a form's answer)."""
        browser.emulate(self.driver, *WIDE)
        self.become(page.who)
        if callable(page.path):
            page.path(self)
            html = browser.page_html(self.driver)
            if not html.lstrip().lower().startswith('<!doctype'):
                html = '<!DOCTYPE html>\n' + html
        else:
            self.get(page.path)
            status, html = self.driver.execute_async_script(
                'const done = arguments[arguments.length - 1];'
                'fetch(location.href, {credentials: "same-origin"})'
                '.then(r => r.text().then(t => done([r.status, t])))'
                '.catch(e => done([0, String(e)]));')
            if status != page.status:
                self.fail(page, 'tour', 'status', 'answered %s, expected %s'
                          % (status, page.status))
        path = os.path.join(self.folder, page.name + '.html')
        with open(path, 'w', encoding='utf-8') as fh:
            fh.write(html)
        self.html[page.name] = path

    def check(self, page):
        driver = self.driver
        for width, height in (WIDE, PHONE):
            for scheme in SCHEMES:
                browser.emulate(driver, width, height, scheme)
                for violation in browser.axe_violations(driver, AXE_EXTRA):
                    self.fail(page, 'axe', violation['id'], violation, width, scheme)
                if width < 600:
                    self.check_width(page, width, scheme)
                browser.full_page_screenshot(driver, '%s-%d-%s' % (page.name, width, scheme))
        browser.emulate(driver, *NARROW)
        self.check_width(page, NARROW[0], 'light')

    def check_width(self, page, width, scheme):
        found = browser.overflow(self.driver, width)
        if found:
            self.fail(page, 'overflow', 'wider than %d px' % width, found, width, scheme)

    def validate(self):
        """The Nu Html Checker on every page's HTML at once."""
        if not browser.vnu_jar():
            return
        names = {path: name for name, path in self.html.items()}
        pages = {page.name: page for page in PAGES}
        for message in browser.html_messages(list(names)):
            name = names.get(message.get('url', '').replace('file:', ''), '?')
            detail = {'message': message.get('message'), 'line': message.get('lastLine'),
                      'extract': message.get('extract', '')}
            self.fail(pages.get(name, Page(name, '', None)), 'html', message.get('message'),
                      detail)


def combos(rows):
    """'1280 light, 390 dark' for rows of one page."""
    seen = []
    for row in rows:
        if row['width'] and (row['width'], row['scheme']) not in seen:
            seen.append((row['width'], row['scheme']))
    return ', '.join('%d %s' % combo for combo in seen)


def axe_nodes(rows, most=4):
    """The lines for the nodes of one rule on one page: each node once, with the
    sizes and schemes it fails in when not all of the page's."""
    where, html = {}, {}
    for row in rows:
        detail = row['detail']
        for index, target in enumerate(detail['targets']):
            where.setdefault(target, []).append(row)
            if index < len(detail['nodes']):
                html.setdefault(target, detail['nodes'][index])
    lines = []
    for target, found in list(where.items())[:most]:
        combo = '' if len(found) == len(rows) else ' [%s]' % combos(found)
        lines.append('      %s%s: %s' % (target, combo,
                                         ' '.join(html.get(target, '').split())))
    if len(where) > most:
        lines.append('      ... %d nodes in all' % len(where))
    return lines


def report(failures):
    """The failures as text: grouped by kind and rule, then page, with a sample."""
    groups = defaultdict(lambda: defaultdict(list))
    for row in failures:
        groups[(row['kind'], row['rule'])][row['page']].append(row)
    lines = ['%d problems (%d distinct kind/rule), by rule and page:'
             % (len(failures), len(groups))]
    for (kind, rule), by_page in sorted(groups.items()):
        first = next(iter(by_page.values()))[0]['detail']
        title = ' (%s, %s)' % (first['help'], first['impact']) if kind == 'axe' else ''
        lines.append('')
        lines.append('%s: %s%s on %d pages' % (kind, rule, title, len(by_page)))
        for name, rows in by_page.items():
            detail = rows[0]['detail']
            where = combos(rows)
            lines.append('  - %s%s' % (name, ' [%s]' % where if where else ''))
            if kind == 'axe':
                lines.extend(axe_nodes(rows))
                summary = ' '.join(detail['summary'].split())
                if summary:
                    lines.append('      why: %s' % summary[:300])
            elif kind == 'overflow':
                for row in rows:
                    found = row['detail']
                    lines.append('      at %d %s: scrollWidth %s, innerWidth %s'
                                 % (row['width'], row['scheme'], found['scrollWidth'],
                                    found['innerWidth']))
                culprits = rows[0]['detail']['culprits']
                for culprit in culprits[:3]:
                    how = ('its content reaches %s px' if culprit['spills']
                           else 'its right edge at %s px') % culprit['right']
                    if culprit['position'] != 'static':
                        how += ', position: %s' % culprit['position']
                    lines.append('      %s (%s px wide; %s): %s'
                                 % (culprit['element'], culprit['width'], how,
                                    culprit['html']))
            elif kind == 'html':
                for row in rows[:3]:
                    lines.append('      line %s: %s' % (row['detail']['line'],
                                                        row['detail']['extract'].strip()))
            else:
                lines.append('      %s' % detail)
    return '\n'.join(lines)


def heading(driver):
    """The page's first heading, to say where the browser ended up."""
    try:
        return driver.execute_script(
            'const h = document.querySelector("h1"); return h ? h.textContent : "";').strip()
    except Exception as error:
        return repr(error)[:200]


def test_every_page_in_every_size_and_scheme(site, fresh_site, driver, tmp_path):
    started = time.monotonic()
    tour = Tour(driver, site, fresh_site, str(tmp_path))
    for page in PAGES:
        try:
            tour.visit(page)
        except Exception as error:  # the page could not be reached: say so, go on
            tour.fail(page, 'tour', 'could not reach the page', '%s (at %s: %s)' % (
                repr(error)[:500], driver.current_url, heading(driver)))
            tour.who = 'unknown'  # sign in afresh for the next page
            continue
        try:
            tour.check(page)
        except Exception as error:
            tour.fail(page, 'tour', 'could not check the page', repr(error)[:500])
    tour.validate()
    text = report(tour.failures)
    text += '\n\n%d pages, %.0f s' % (len(PAGES), time.monotonic() - started)
    os.makedirs(browser.SCREENSHOTS, exist_ok=True)
    with open(os.path.join(browser.SCREENSHOTS, 'tour-report.txt'), 'w',
              encoding='utf-8') as fh:
        fh.write(text + '\n')
    if tour.failures:
        pytest.fail(text, pytrace=False)
