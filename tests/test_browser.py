"""End to end in a real browser (Debian's headless Chromium via selenium) against the
real server: sign up, write a post in Markdown, see it on the homepage, the two-tab
conflict, an admin editing a profile. Every main page is checked with axe-core
(WCAG 2.1 A/AA) and the Nu Html Checker, and saved as a screenshot under screenshots/.

Skips, with the reason, only when no browser can be installed on the machine.
"""

import os
import subprocess
import sys

import pytest

from tests import browser
from tests.browser import check_page, fill, sign_in, submit, visit
from tests.conftest import PASSWORD, post_id_in
from tests.server import ROOT, Server

REASON = browser.why_no_browser()
PUBLISH = 'button[name=status][value=published]'  # the editor's Publish
pytestmark = [pytest.mark.server, pytest.mark.skipif(REASON is not None, reason=REASON or '')]


@pytest.fixture(scope='module')
def site(tmp_path_factory):
    folder = tmp_path_factory.mktemp('browser')
    db = str(folder / 'blog.db')
    subprocess.run([sys.executable, os.path.join(ROOT, 'run.py'), 'create-admin', 'root',
                    '--db', db], input=PASSWORD, text=True, check=True, capture_output=True)
    with Server(db) as server:
        yield server


@pytest.fixture(scope='module')
def driver():
    drv = browser.start_driver()
    yield drv
    drv.quit()


@pytest.fixture(scope='module')
def pages(tmp_path_factory):
    """HTML of every page visited, validated together at the end of the module."""
    yield from browser.collected_pages(tmp_path_factory, 'pages')


def test_sign_up_write_a_post_and_see_it_on_the_homepage(site, driver, pages):
    from selenium.webdriver.common.by import By
    visit(driver, site, '/')
    check_page(driver, pages, 'home-empty')
    visit(driver, site, '/register')
    check_page(driver, pages, 'register')
    fill(driver, {'username': 'alice', 'password': PASSWORD, 'password_confirm': PASSWORD})
    submit(driver)
    assert 'Signed in as' in browser.page_html(driver)

    visit(driver, site, '/posts/new')
    check_page(driver, pages, 'post-new')
    fill(driver, {'title': 'Hello from a browser',
                  'body': '# A heading\n\nSome *emphasis* and a [link](https://example.org).'
                          '\n\n- one\n- two\n\n<script>alert(1)</script>',
                  'tags': 'Browsers, Testing'})
    submit(driver, button=PUBLISH)
    heading = driver.find_element(By.CSS_SELECTOR, 'main h1').text
    assert heading == 'Hello from a browser'
    assert driver.find_element(By.CSS_SELECTOR, '.post-body em').text == 'emphasis'
    assert '<script>alert(1)</script>' not in browser.page_html(driver)
    check_page(driver, pages, 'post')

    body = visit(driver, site, '/')
    assert 'Hello from a browser' in body.text
    check_page(driver, pages, 'home')
    visit(driver, site, '/authors')
    check_page(driver, pages, 'authors')
    visit(driver, site, '/authors/alice')
    check_page(driver, pages, 'author')
    visit(driver, site, '/search?q=browser')
    assert 'Hello from a browser' in driver.find_element(By.TAG_NAME, 'main').text
    check_page(driver, pages, 'search')
    visit(driver, site, '/settings')
    check_page(driver, pages, 'settings')


def test_two_tabs_conflict_keeps_my_text(site, driver, pages):
    from selenium.webdriver.common.by import By
    sign_in(driver, site, 'alice')
    visit(driver, site, '/posts/new')
    fill(driver, {'title': 'Shared draft', 'body': 'first text'})
    submit(driver)  # the first button: Save draft
    edit_url = site.url + '/posts/%d/edit' % post_id_in(driver.current_url.split('?')[0])

    driver.get(edit_url)  # tab A
    tab_a = driver.current_window_handle
    driver.switch_to.new_window('tab')  # tab B
    driver.get(edit_url)
    fill(driver, {'body': 'text saved in tab B'})
    submit(driver)
    assert 'text saved in tab B' in browser.page_html(driver)

    driver.switch_to.window(tab_a)
    fill(driver, {'body': 'text typed in tab A'})
    submit(driver)
    assert 'Your changes were not saved yet' in browser.page_html(driver)
    textarea = driver.find_element(By.NAME, 'body')
    assert textarea.get_attribute('value') == 'text typed in tab A'
    assert 'text saved in tab B' in browser.page_html(driver)
    check_page(driver, pages, 'conflict')

    submit(driver)  # deliberate overwrite with the newest version
    assert 'text typed in tab A' in browser.page_html(driver)
    driver.switch_to.new_window('tab')
    driver.get(edit_url.replace('/edit', '/history'))
    assert 'Shared draft' in browser.page_html(driver)
    check_page(driver, pages, 'history')


def test_admin_edits_a_profile(site, driver, pages):
    from selenium.webdriver.common.by import By
    sign_in(driver, site, 'root')
    visit(driver, site, '/admin/users')
    check_page(driver, pages, 'admin-users')
    visit(driver, site, '/admin/users/alice')
    fill(driver, {'display_name': 'Alice Liddell', 'bio': 'Down the rabbit hole.'})
    submit(driver)
    assert 'Alice Liddell' in driver.find_element(By.TAG_NAME, 'main').text
    check_page(driver, pages, 'admin-user')
    visit(driver, site, '/authors/alice')
    assert 'Alice Liddell' in browser.page_html(driver)


def test_delete_lands_in_the_trash_and_undo_brings_the_post_back(site, driver, pages):
    from selenium.webdriver.common.by import By
    sign_in(driver, site, 'alice')
    visit(driver, site, '/posts/new')
    fill(driver, {'title': 'Soon in the trash', 'body': 'Not for long.'})
    submit(driver, button=PUBLISH)
    post_url = driver.current_url.split('?')[0]
    driver.find_element(By.CSS_SELECTOR, '.delete-post summary').click()
    submit(driver, '.delete-post form')
    assert '/trash' in driver.current_url
    main = driver.find_element(By.TAG_NAME, 'main').text
    assert 'moved to the trash' in main and 'Soon in the trash' in main
    check_page(driver, pages, 'trash')
    submit(driver, '.undo-form')
    assert driver.current_url.split('?')[0] == post_url
    assert driver.find_element(By.CSS_SELECTOR, 'main h1').text == 'Soon in the trash'
    check_page(driver, pages, 'trash-restored')


def test_buttons_take_their_kind_and_the_focus_ring_is_visible(site, driver, pages):
    from selenium.webdriver.common.by import By
    sign_in(driver, site, 'alice')
    visit(driver, site, '/posts/new')
    fill(driver, {'title': 'Buttons', 'body': 'Which colour is which.'})
    submit(driver, button=PUBLISH)
    driver.find_element(By.CSS_SELECTOR, '.delete-post summary').click()

    def background(selector):
        element = driver.find_element(By.CSS_SELECTOR, selector)
        return driver.execute_script(
            'return getComputedStyle(arguments[0]).backgroundColor', element)
    # Delete is the danger colour (--error), History the white secondary style; the
    # plain submit rule used to outrank both and paint them the accent blue.
    assert background('.delete-post button[type=submit]') == 'rgb(179, 38, 30)'
    assert background('a.button.secondary') == 'rgb(255, 255, 255)'
    visit(driver, site, '/posts/new')
    assert background('button[name=preview]') == 'rgb(255, 255, 255)'
    save = driver.find_element(By.CSS_SELECTOR, PUBLISH)
    assert driver.execute_script('return getComputedStyle(arguments[0]).backgroundColor',
                                 save) == 'rgb(11, 92, 173)'
    # The focus ring from the keyboard: #b35900, 4.8:1 on the white around it.
    driver.find_element(By.TAG_NAME, 'body').send_keys('\ue004')  # Tab
    ring = driver.execute_script(
        'var s = getComputedStyle(document.activeElement);'
        'return [s.outlineStyle, s.outlineColor, s.outlineWidth]')
    assert ring == ['solid', 'rgb(179, 89, 0)', '3px'], ring


DROP_AN_IMAGE = """
const done = arguments[arguments.length - 1];
const canvas = document.createElement('canvas');
canvas.width = 300; canvas.height = 200;
const paint = canvas.getContext('2d');
paint.fillStyle = '#c33'; paint.fillRect(0, 0, 300, 200);
canvas.toBlob((blob) => {
  const list = new DataTransfer();
  list.items.add(new File([blob], 'square.png', {type: 'image/png'}));
  const body = document.querySelector('textarea[name=body]');
  body.focus();
  body.setSelectionRange(6, 6);
  body.dispatchEvent(new DragEvent('drop', {dataTransfer: list, bubbles: true,
                                            cancelable: true}));
  done(document.querySelector('input[name=image]').files.length);
}, 'image/png');
"""


def test_an_image_dropped_on_the_body_lands_where_the_cursor_was(site, driver, pages):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait
    sign_in(driver, site, 'alice')
    visit(driver, site, '/posts/new')
    fill(driver, {'title': 'Dropped in', 'body': 'Start. End.'})
    assert driver.execute_async_script(DROP_AN_IMAGE) == 1  # the upload field has it
    status = driver.find_element(By.ID, 'image-upload-status')
    assert 'Describe “square.png”' in status.text
    fill(driver, {'image_alt': 'A red square'})
    driver.find_element(By.CSS_SELECTOR, 'button[name=action][value=upload]').click()
    WebDriverWait(driver, 20).until(lambda d: 'Added to the body' in status.text)
    body = driver.find_element(By.NAME, 'body').get_attribute('value')
    added = status.text.split('Added to the body: ', 1)[1]
    assert added.startswith('![A red square](/media/') and added.endswith('.png)')
    assert body == 'Start.\n\n%s\n\n End.' % added  # at the cursor, the rest untouched
    assert driver.find_element(By.NAME, 'image_alt').get_attribute('value') == ''
    check_page(driver, pages, 'editor-image-dropped')
    submit(driver, button=PUBLISH)
    image = driver.find_element(By.CSS_SELECTOR, '.post-body img')
    assert image.get_attribute('width') == '300' and image.get_attribute('srcset')
    # It loads (the CSP allows this site's images), from its srcset.
    loaded = driver.execute_script('return arguments[0].complete && arguments[0].naturalWidth '
                                   '> 0 && arguments[0].currentSrc', image)
    assert loaded and loaded.endswith('-300.webp')
    visit(driver, site, '/media')
    assert 'Dropped in' in driver.find_element(By.TAG_NAME, 'main').text
    check_page(driver, pages, 'media-library')
