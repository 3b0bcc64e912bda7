"""Nothing typed is lost, through the real server: ended sessions, stale tokens,
deactivation, long non-Latin bodies, a form sent twice, and stale edits merged."""

import re
import sqlite3
import time

import pytest

from blog import cache
from tests.conftest import PASSWORD
from tests.server import Browser, Server

pytestmark = pytest.mark.server

TEXT = 'Written with care, über alles ✓.\n\nA second paragraph.'


@pytest.fixture(scope='module')
def site(tmp_path_factory):
    path = tmp_path_factory.mktemp('keep') / 'blog.db'
    with Server(path) as server:
        yield server, str(path)


def outside_write_seen():
    """Wait until the server sees a session or user change made by another process
    (blog.sessions keeps the rows it read for up to blog.cache.RECHECK_SECONDS)."""
    time.sleep(cache.RECHECK_SECONDS + 0.05)


def db(path, sql, args=()):
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute(sql, args).fetchall()
        conn.commit()
        return rows
    finally:
        conn.close()


def author(server, name):
    browser = Browser(server.url)
    assert browser.register(name) == 303
    return browser


def new_post(browser, title='A post', body='Saved body.'):
    token, _, page = browser.form('/posts/new')
    form_id = re.search(r'name="form_id" value="([^"]+)"', page).group(1)
    status, headers, _ = browser.request('/posts/new', {
        'csrf_token': token, 'form_id': form_id, 'title': title, 'body': body,
        'status': 'published', 'tags': ''}, multipart=True)
    assert status == 303
    return int(re.search(r'/posts/(\d+)', headers['Location']).group(1))


def edit(browser, post_id, token, version, **fields):
    data = {'csrf_token': token, 'version': version, 'title': 'Edited', 'body': TEXT,
            'status': 'published', 'tags': ''}
    data.update(fields)
    return browser.request('/posts/%d/edit' % post_id, data, multipart=True)


def fields_of(page, form_id='rescue-form'):
    """name -> value of the text fields and textareas of a form on `page`."""
    form = re.search(r'<form id="%s".*?</form>' % form_id, page, re.S).group(0)
    values = dict(re.findall(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', form))
    values.update(re.findall(r'<textarea[^>]*name="([^"]+)"[^>]*>(.*?)</textarea>', form, re.S))
    return values


def test_signed_out_in_another_tab_then_save_and_sign_in_again(site):
    server, path = site
    ann = author(server, 'ann')
    post_id = new_post(ann)
    token, version, _ = ann.form('/posts/%d/edit' % post_id)
    ann.request('/logout', {'csrf_token': ann.csrf('/')})  # the other tab
    status, _, page = edit(ann, post_id, token, version)
    assert status == 401
    kept = fields_of(page)
    assert kept['keep:body'] == TEXT and kept['keep:version'] == version
    assert db(path, 'SELECT body FROM post WHERE id = ?', (post_id,)) == [('Saved body.',)]
    data = {key: value for key, value in kept.items()}
    data.update({'username': 'ann', 'password': PASSWORD})
    status, _, page = ann.request('/login', data, multipart=True)
    assert status == 200 and 'Back to your text' in page
    again = fields_of(page)
    assert again['body'] == TEXT
    status, _, _ = ann.request('/posts/%d/edit' % post_id, again, multipart=True)
    assert status == 303
    assert db(path, 'SELECT body FROM post WHERE id = ?', (post_id,)) == [(TEXT,)]


def test_an_expired_session_keeps_the_text(site):
    server, path = site
    bea = author(server, 'bea')
    post_id = new_post(bea)
    token, version, _ = bea.form('/posts/%d/edit' % post_id)
    db(path, "UPDATE session SET expires_at = 0 WHERE user_id = "
             "(SELECT id FROM user WHERE username = 'bea')")
    outside_write_seen()
    status, _, page = edit(bea, post_id, token, version)
    assert status == 401 and TEXT.split('\n')[0] in page


def test_signed_out_and_in_again_elsewhere_gets_a_fresh_form(site):
    server, path = site
    cat = author(server, 'cat')
    post_id = new_post(cat)
    token, version, _ = cat.form('/posts/%d/edit' % post_id)
    cat.request('/logout', {'csrf_token': cat.csrf('/')})
    cat.sign_in('cat')
    status, _, page = edit(cat, post_id, token, version)
    assert status == 403
    again = fields_of(page)
    assert again['csrf_token'] != token and again['body'] == TEXT
    assert cat.request('/posts/%d/edit' % post_id, again, multipart=True)[0] == 303
    assert db(path, 'SELECT body FROM post WHERE id = ?', (post_id,)) == [(TEXT,)]


def test_a_deactivated_author_sees_the_text_to_copy(site):
    server, path = site
    dan = author(server, 'dan')
    post_id = new_post(dan)
    token, version, _ = dan.form('/posts/%d/edit' % post_id)
    db(path, "UPDATE user SET is_active = 0 WHERE username = 'dan'")
    outside_write_seen()
    status, _, page = edit(dan, post_id, token, version)
    assert status == 401 and 'deactivated' in page and 'name="password"' not in page
    assert 'A second paragraph.' in page


def test_a_long_chinese_body_saves_and_a_longer_one_comes_back(site):
    server, path = site
    eve = author(server, 'eve')
    token, _, _ = eve.form('/posts/new')
    body = '长文' * 175_000  # 350,000 characters, 1 MB as UTF-8
    status, headers, _ = eve.request('/posts/new', {
        'csrf_token': token, 'title': 'Long', 'body': body, 'status': 'draft', 'tags': ''},
        multipart=True)
    assert status == 303
    assert db(path, "SELECT length(body) FROM post WHERE title = 'Long'") == [(350_000,)]
    status, _, page = eve.request('/posts/new', {
        'csrf_token': token, 'title': 'Longer', 'body': '字' * 600_001, 'status': 'draft',
        'tags': ''}, multipart=True)
    assert status == 422 and 'at most 600000 characters' in page
    assert page.count('字') >= 600_001  # the text is back in the editor


def test_back_then_save_again_makes_one_post(site):
    server, path = site
    fay = author(server, 'fay')
    token, _, page = fay.form('/posts/new')
    form_id = re.search(r'name="form_id" value="([^"]+)"', page).group(1)
    data = {'csrf_token': token, 'form_id': form_id, 'title': 'Twice', 'body': 'Once.',
            'status': 'published', 'tags': ''}
    first = fay.request('/posts/new', data, multipart=True)
    second = fay.request('/posts/new', data, multipart=True)
    assert first[0] == second[0] == 303
    assert db(path, "SELECT count(*) FROM post WHERE title = 'Twice'") == [(1,)]


def test_edits_that_do_not_overlap_are_merged(site):
    server, path = site
    gus, hal = author(server, 'gus'), author(server, 'hal')
    db(path, "UPDATE user SET role = 'admin' WHERE username = 'hal'")
    post_id = new_post(gus, body='One.\n\nTwo.\n\nThree.')
    gus_form = gus.form('/posts/%d/edit' % post_id)
    hal_form = hal.form('/posts/%d/edit' % post_id)
    assert edit(hal, post_id, hal_form[0], hal_form[1], title='A post',
                body='One, by hal.\n\nTwo.\n\nThree.')[0] == 303
    status, headers, _ = edit(gus, post_id, gus_form[0], gus_form[1], title='A post',
                              body='One.\n\nTwo.\n\nThree, by gus.')
    assert status == 303 and headers['Location'].endswith('notice=merged')
    assert db(path, 'SELECT body, version FROM post WHERE id = ?', (post_id,)) == [
        ('One, by hal.\n\nTwo.\n\nThree, by gus.', 3)]
