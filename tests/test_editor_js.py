"""static/editor.js in a real browser (Debian's headless Chromium via selenium) against
the real server: what is typed into an editor is kept in the browser's localStorage,
offered back after the browser or the tab was closed, kept after a rejected save and
dropped after a successful one; leaving with unsaved changes asks first; a copy typed
over an older version is offered with a warning and goes through the version check.
Pages showing the script's notice are checked with axe-core and the Nu Html Checker
like every browser-tested page.

Skips, with the reason, exactly when tests/test_browser.py does.
"""

import json
import os
import subprocess
import sys

import pytest

from tests import browser
from tests.browser import check_page, fill, sign_in, submit, visit
from tests.conftest import PASSWORD, post_id_in
from tests.server import ROOT, Server

REASON = browser.why_no_browser()
pytestmark = [pytest.mark.server, pytest.mark.skipif(REASON is not None, reason=REASON or '')]


@pytest.fixture(scope='module')
def site(tmp_path_factory):
    folder = tmp_path_factory.mktemp('editor-js')
    db = str(folder / 'blog.db')
    for name in ('root', 'bob'):
        subprocess.run([sys.executable, os.path.join(ROOT, 'run.py'), 'create-admin', name,
                        '--db', db], input=PASSWORD, text=True, check=True,
                       capture_output=True)
    with Server(db) as server:
        yield server


class Chromium:
    """One browser at a time on one profile folder, so that what a page keeps in
    localStorage is still there after `restart()` (the browser closed and opened
    again); its pages' beforeunload prompts wait for the test (`prompts`)."""

    def __init__(self, profile):
        self.profile = profile
        self.start()

    def start(self):
        self.driver = browser.start_driver(self.profile, prompts=True)
        self.prompts = browser.Prompts(self.driver)

    def restart(self):
        self.driver.quit()
        self.start()


@pytest.fixture(scope='module')
def chromium(tmp_path_factory):
    holder = Chromium(tmp_path_factory.mktemp('profile'))
    yield holder
    holder.driver.quit()


@pytest.fixture
def driver(chromium, site):
    """The browser on a blank page of the site with nothing kept from earlier tests."""
    from selenium.common.exceptions import WebDriverException
    try:
        visit(chromium.driver, site, '/authors')
        chromium.driver.execute_script('localStorage.clear(); sessionStorage.clear();')
    except WebDriverException:  # a failed test left a page asking to stay: start afresh
        chromium.restart()
        visit(chromium.driver, site, '/authors')
        chromium.driver.execute_script('localStorage.clear(); sessionStorage.clear();')
    return chromium.driver


@pytest.fixture(scope='module')
def pages(tmp_path_factory):
    """HTML of every page checked, validated together at the end of the module."""
    yield from browser.collected_pages(tmp_path_factory, 'editor-js-pages')


def copies(driver):
    """Every copy editor.js keeps in localStorage, by key."""
    raw = driver.execute_script(
        'return Object.fromEntries(Object.entries(localStorage)'
        '.filter(([key]) => key.startsWith("autosave:")));')
    return {key: json.loads(value) for key, value in raw.items()}


def wait_for_copy(driver, key, name, value):
    """The copy under `key` once its field `name` holds `value` (it is written when
    typing pauses)."""
    from selenium.webdriver.support.ui import WebDriverWait

    def ready(drv):
        copy = copies(drv).get('autosave:' + key)
        return copy if copy and copy['fields'].get(name) == value else None
    return WebDriverWait(driver, 10).until(ready)


def wait_for_offer(driver):
    """The notice offering a kept copy, once its buttons are there."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait
    WebDriverWait(driver, 10).until(lambda d: d.find_elements(
        By.CSS_SELECTOR, '.autosave-notice button'))
    return driver.find_element(By.CSS_SELECTOR, '.autosave-notice')


def press(driver, text):
    """Click the button labelled `text`."""
    from selenium.webdriver.common.by import By
    driver.find_element(By.XPATH, '//button[normalize-space()="%s"]' % text).click()


def send(driver, button):
    """Submit with the button labelled `button` and wait for the next page (see
    tests.browser.submit)."""
    from selenium.webdriver.support.ui import WebDriverWait
    driver.execute_script('window.__beforeSubmit = true;')
    press(driver, button)
    WebDriverWait(driver, 20).until(lambda d: d.execute_script(
        'return window.__beforeSubmit === undefined && document.readyState === "complete";'))


def value(driver, name):
    from selenium.webdriver.common.by import By
    return driver.find_element(By.NAME, name).get_attribute('value')


def select_role(driver, role):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select
    Select(driver.find_element(By.NAME, 'role')).select_by_value(role)


def click_link(driver, text):
    from selenium.webdriver.common.by import By
    driver.execute_script('window.__beforeLeaving = true;')
    driver.find_element(By.CSS_SELECTOR, 'header').find_element(By.LINK_TEXT, text).click()


def wait_until_left(driver):
    from selenium.webdriver.support.ui import WebDriverWait
    WebDriverWait(driver, 20).until(lambda d: d.execute_script(
        'return window.__beforeLeaving === undefined && document.readyState === "complete";'))


def path_of(driver):
    return driver.execute_script('return location.pathname;')


def saved_marker(driver):
    from selenium.webdriver.common.by import By
    return driver.find_element(By.TAG_NAME, 'body').get_attribute('data-saved')


def test_text_typed_in_the_editor_survives_closing_the_browser(site, chromium, driver, pages):
    from selenium.webdriver.common.by import By
    sign_in(driver, site, 'root')
    visit(driver, site, '/posts/new')
    fill(driver, {'title': 'Kept in the browser', 'body': 'The saved text.'})
    new_copy = wait_for_copy(driver, 'root:/posts/new', 'body', 'The saved text.')
    assert new_copy['version'] is None and new_copy['sent'] is False
    submit(driver)
    edit_path = '/posts/%d/edit' % post_id_in(path_of(driver))
    assert saved_marker(driver) == 'root:%s' % edit_path
    assert copies(driver) == {}  # the new post's copy went with its save
    check_page(driver, pages, 'post-after-save')

    edit_url = site.url + edit_path
    driver.get(edit_url)
    fill(driver, {'body': 'Typed, never saved.'})
    copy = wait_for_copy(driver, 'root:%s' % edit_path, 'body', 'Typed, never saved.')
    assert copy['version'] == 1
    # No token, nothing hidden, no file (an image's description is typed text: kept).
    assert set(copy['fields']) == {'title', 'slug', 'body', 'tags', 'publish_at', 'image_alt'}

    chromium.restart()  # the browser closes with the text unsaved
    driver = chromium.driver
    sign_in(driver, site, 'root')
    driver.get(edit_url)
    notice = wait_for_offer(driver)
    assert notice.get_attribute('role') == 'status'
    assert 'You have unsaved text from' in notice.text
    assert 'older version' not in notice.text and 'saved since' not in notice.text
    assert value(driver, 'body') == 'The saved text.'  # nothing changes until asked
    check_page(driver, pages, 'editor-restore-offer')
    press(driver, 'Restore it')
    assert value(driver, 'body') == 'Typed, never saved.'
    assert 'back in the form' in driver.find_element(By.CSS_SELECTOR, '.autosave-notice').text
    seen = len(chromium.prompts.opened)
    submit(driver)
    assert len(chromium.prompts.opened) == seen  # submitting never asks
    assert driver.find_element(By.CSS_SELECTOR, '.post-body').text == 'Typed, never saved.'
    assert copies(driver) == {}


def test_leaving_with_unsaved_changes_asks_first(site, chromium, driver):
    prompts = chromium.prompts
    sign_in(driver, site, 'root')
    visit(driver, site, '/posts/new')
    seen = len(prompts.opened)
    click_link(driver, 'Authors')  # nothing typed: nothing to ask about
    wait_until_left(driver)
    assert path_of(driver) == '/authors' and len(prompts.opened) == seen

    visit(driver, site, '/posts/new')
    fill(driver, {'title': 'Not saved yet'})
    click_link(driver, 'Authors')
    prompts.answer(prompts.wait_for_one(seen), leave=False)
    assert path_of(driver) == '/posts/new' and value(driver, 'title') == 'Not saved yet'

    click_link(driver, 'Authors')
    prompts.answer(prompts.wait_for_one(seen + 1), leave=True)
    wait_until_left(driver)
    assert path_of(driver) == '/authors'
    assert copies(driver)['autosave:root:/posts/new']['fields']['title'] == 'Not saved yet'

    visit(driver, site, '/posts/new')
    wait_for_offer(driver)
    press(driver, 'Discard it')
    assert copies(driver) == {}
    assert value(driver, 'title') == ''
    fill(driver, {'title': 'Saved at once', 'body': 'Nothing to ask about.'})
    wait_for_copy(driver, 'root:/posts/new', 'body', 'Nothing to ask about.')
    submit(driver)
    assert len(prompts.opened) == seen + 2
    assert copies(driver) == {}


def test_a_rejected_save_keeps_the_copy(site, chromium, driver, pages):
    from selenium.webdriver.common.by import By
    prompts = chromium.prompts
    sign_in(driver, site, 'root')
    visit(driver, site, '/posts/new')
    fill(driver, {'body': 'A body with no title yet.'})
    submit(driver)
    assert 'Give the post a title.' in driver.find_element(By.TAG_NAME, 'main').text  # 422
    copy = copies(driver)['autosave:root:/posts/new']
    assert copy['fields']['body'] == 'A body with no title yet.' and copy['sent'] is False
    assert saved_marker(driver) is None
    assert driver.find_elements(By.CSS_SELECTOR, '.autosave-notice') == []  # it is on the page
    check_page(driver, pages, 'editor-rejected')

    seen = len(prompts.opened)
    click_link(driver, 'Authors')  # the page shows text that was never saved
    prompts.answer(prompts.wait_for_one(seen), leave=False)
    fill(driver, {'title': 'Now with a title'})
    submit(driver)
    assert driver.find_element(By.CSS_SELECTOR, 'main h1').text == 'Now with a title Draft'
    assert copies(driver) == {}


def test_a_copy_typed_over_an_older_version_is_offered_with_a_warning(site, driver, pages):
    from selenium.webdriver.common.by import By
    sign_in(driver, site, 'root')
    visit(driver, site, '/posts/new')
    fill(driver, {'title': 'Two tabs', 'body': 'The first text.'})
    submit(driver)
    edit_path = '/posts/%d/edit' % post_id_in(path_of(driver))
    key = 'root:%s' % edit_path
    edit_url = site.url + edit_path

    driver.get(edit_url)  # tab A opens the editor at version 1
    tab_a = driver.current_window_handle
    driver.switch_to.new_window('tab')  # tab B saves version 2 meanwhile
    driver.get(edit_url)
    fill(driver, {'body': 'Saved in tab B.'})
    submit(driver)
    tab_b = driver.current_window_handle
    assert copies(driver) == {}

    driver.switch_to.window(tab_a)
    fill(driver, {'body': 'Typed in tab A over version 1.'})
    assert wait_for_copy(driver, key, 'body', 'Typed in tab A over version 1.')['version'] == 1
    driver.close()  # tab A closes with its text unsaved
    driver.switch_to.window(tab_b)

    driver.get(edit_url)
    notice = wait_for_offer(driver)
    assert 'typed over an older copy: someone has saved this since' in notice.text
    check_page(driver, pages, 'editor-older-copy')
    press(driver, 'Restore it')
    assert value(driver, 'body') == 'Typed in tab A over version 1.'
    assert value(driver, 'version') == '1'  # so the save is checked against version 2

    submit(driver, '#post-form')
    assert 'Your changes were not saved yet' in browser.page_html(driver)  # the 409 page
    assert value(driver, 'body') == 'Typed in tab A over version 1.'
    assert copies(driver)['autosave:' + key]['fields']['body'] == 'Typed in tab A over version 1.'
    check_page(driver, pages, 'conflict-with-copy')
    send(driver, 'Save mine, replacing theirs')
    assert saved_marker(driver) == key
    assert driver.find_element(By.CSS_SELECTOR, '.post-body').text == (
        'Typed in tab A over version 1.')
    assert copies(driver) == {}


def test_settings_keep_a_copy_until_saved(site, driver, pages):
    from selenium.webdriver.common.by import By
    sign_in(driver, site, 'root')
    visit(driver, site, '/settings')
    fill(driver, {'bio': 'A bio typed, then the tab closed.'})
    wait_for_copy(driver, 'root:/settings', 'bio', 'A bio typed, then the tab closed.')
    closing = driver.current_window_handle
    driver.switch_to.new_window('tab')
    opened = driver.current_window_handle
    driver.switch_to.window(closing)
    driver.close()
    driver.switch_to.window(opened)

    visit(driver, site, '/settings')
    wait_for_offer(driver)
    assert value(driver, 'bio') == ''
    check_page(driver, pages, 'settings-restore-offer')
    press(driver, 'Restore it')
    assert value(driver, 'bio') == 'A bio typed, then the tab closed.'
    submit(driver, '#settings-form')
    assert saved_marker(driver) == 'root:/settings'
    assert driver.find_element(By.CSS_SELECTOR, 'main .notice').text == 'Saved.'
    assert value(driver, 'bio') == 'A bio typed, then the tab closed.'
    assert copies(driver) == {}


def test_an_older_profile_copy_goes_back_with_the_values_it_was_typed_over(site, driver):
    from selenium.webdriver.common.by import By
    sign_in(driver, site, 'root')
    visit(driver, site, '/settings')  # tab A
    tab_a, version = driver.current_window_handle, int(value(driver, 'version'))
    driver.switch_to.new_window('tab')  # tab B saves a bio meanwhile
    visit(driver, site, '/settings')
    fill(driver, {'bio': 'Bio saved in tab B.'})
    submit(driver, '#settings-form')
    tab_b = driver.current_window_handle

    driver.switch_to.window(tab_a)
    fill(driver, {'bio': 'Bio typed in tab A.'})
    copy = wait_for_copy(driver, 'root:/settings', 'bio', 'Bio typed in tab A.')
    assert copy['version'] == version and 'csrf_token' not in copy['hidden']
    driver.close()
    driver.switch_to.window(tab_b)

    visit(driver, site, '/settings')
    notice = wait_for_offer(driver)
    assert 'typed over an older copy: someone has saved this since' in notice.text
    press(driver, 'Restore it')
    assert value(driver, 'version') == str(version)
    # The profile form merges a late save from the values it was loaded with: those
    # come back too, or tab A's bio would silently replace tab B's.
    assert value(driver, 'base:bio') == copy['hidden']['base:bio'] != 'Bio saved in tab B.'
    submit(driver, '#settings-form')
    assert 'Your changes were not saved yet' in browser.page_html(driver)  # both changed the bio
    assert value(driver, 'bio') == 'Bio typed in tab A.'
    send(driver, 'Save mine, replacing theirs')
    assert driver.find_element(By.CSS_SELECTOR, 'main .notice').text == 'Saved.'
    assert copies(driver) == {}


def test_an_admin_page_keeps_a_copy_with_its_select_and_checkbox(site, chromium, driver, pages):
    from selenium.webdriver.common.by import By
    sign_in(driver, site, 'root')
    visit(driver, site, '/admin/users/bob')
    fill(driver, {'display_name': 'Robert'})
    select_role(driver, 'editor')  # bob is an admin: make him an editor
    copy = wait_for_copy(driver, 'root:/admin/users/bob', 'role', 'editor')
    assert copy['fields']['display_name'] == 'Robert' and copy['fields']['is_active'] is True

    chromium.restart()
    driver = chromium.driver
    sign_in(driver, site, 'root')
    visit(driver, site, '/admin/users/bob')
    wait_for_offer(driver)
    assert value(driver, 'role') == 'admin'
    check_page(driver, pages, 'admin-user-restore-offer')
    press(driver, 'Restore it')
    assert value(driver, 'display_name') == 'Robert'
    assert value(driver, 'role') == 'editor'
    submit(driver, '#user-form')
    assert saved_marker(driver) == 'root:/admin/users/bob'
    assert 'Editor, active' in driver.find_element(By.TAG_NAME, 'main').text
    assert copies(driver) == {}


def test_the_live_word_count_counts_as_the_server_does(site, driver):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    from blog import reading
    sign_in(driver, site, 'root')
    visit(driver, site, '/posts/new')
    stats = driver.find_element(By.ID, 'writing-stats')
    assert stats.text == '0 words · 0 min read'  # what the server said
    text = ("Don't stop: well-kept words, 3 of them. Ünïcödé – Ελληνικά, snake_case, "
            '漢字かな and [a link](https://example.com/page)\n\n' + 'word ' * 500)
    # Typed as a person types (send_keys), so the script hears every input event.
    driver.find_element(By.NAME, 'body').send_keys(text)
    expected = reading.describe(reading.reading_stats(text))
    assert expected == '522 words · 3 min read'
    WebDriverWait(driver, 10).until(lambda d: stats.text == expected)
