"""Lighthouse audits of the blog's pages: accessibility, best practices and SEO.

An optional check, not part of CI or pytest. From the repository root:

    python benchmarks/lighthouse.py [--out DIR] [--form-factors mobile,desktop]
        [--chrome PATH] [--timeout SECONDS]

1. Installs the pinned npm `lighthouse` (benchmarks/lighthouse/package.json and
   package-lock.json) with `npm ci` when benchmarks/lighthouse/node_modules is
   missing; stops with a clear message when node or npm is not installed.
2. Makes a temporary site: a fresh database, an admin made with
   `run.py create-admin` (a random password on stdin), demo posts from
   `run.py demo --authors 3 --posts 20`, and the real server (`run.py serve`) on
   a free loopback port. Signs the admin in through the real form (GET /login for
   the CSRF token and session cookie, POST /login) for the editor.
3. Runs Lighthouse (categories accessibility, best-practices and seo) with
   Debian's Chromium, headless, on:
   - the homepage `/` (anonymous),
   - a post page `/posts/<id>-<slug>`, the first one linked from the homepage
     (anonymous),
   - the editor `/posts/new`, signed in (the session cookie is given to
     Lighthouse with `--extra-headers`),
   once per form factor (mobile and desktop by default).
4. Prints a table of scores (0-100) per page, form factor and category, then
   every failed audit: its id, title and the offending items (the element's
   selector and HTML, axe's explanation, the URL or text in question). The JSON
   and HTML reports go to --out (default benchmarks/out/lighthouse/, gitignored),
   one pair per page and form factor, e.g. `editor-mobile.report.json`.

The editor has `<meta name="robots" content="noindex">` on purpose (drafts and
forms are not for search engines), which Lighthouse's SEO audit `is-crawlable`
fails by design. For the editor only, that audit is skipped
(`--skip-audits=is-crawlable`, so it is not in its SEO score), and the script
checks instead that the editor really carries the noindex it is skipped for;
the table says so. The homepage and the post page are audited in full.

Exit status: 0 when every score of every page and form factor is 100; 1 when
any score is below 100 (or a category could not be scored); 2 when the audits
could not run (no node/npm, Chromium missing, the site or Lighthouse failed).

Chromium runs with `--headless=new --no-sandbox --disable-gpu --disable-quic
--no-first-run --disable-background-networking --disable-component-update
--disable-sync --disable-dev-shm-usage`: on a machine without outside network,
Chromium otherwise hangs on its own outgoing connections.
"""

import argparse
import http.client
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess  # nosec B404  # runs fixed commands only (npm, node, run.py), no shell
import sys
import tempfile
import time
from urllib.parse import urlencode

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NODE_DIR = os.path.join(ROOT, 'benchmarks', 'lighthouse')
LIGHTHOUSE_CLI = os.path.join(NODE_DIR, 'node_modules', 'lighthouse', 'cli', 'index.js')
DEFAULT_OUT = os.path.join(ROOT, 'benchmarks', 'out', 'lighthouse')
DEFAULT_CHROME = '/usr/bin/chromium'
CATEGORIES = ('accessibility', 'best-practices', 'seo')
FORM_FACTORS = ('mobile', 'desktop')
CHROME_FLAGS = ('--headless=new', '--no-sandbox', '--disable-gpu', '--disable-quic',
                '--no-first-run', '--disable-background-networking',
                '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage')
ADMIN = 'lighthouse'
COOKIE_NAME = 'blog_session'  # blog.sessions.COOKIE_NAME
NOINDEX = re.compile(r'<meta\s+name="robots"\s+content="[^"]*\bnoindex\b', re.I)
# Audits skipped per page, with the reason printed beside the table.
SKIPPED = {'editor': {'is-crawlable': 'the editor is noindex on purpose'}}
ITEMS_SHOWN = 8  # offending items listed per failed audit
SUB_ITEM_NAMES = {'relatedNode': 'related element'}


class Failure(Exception):
    """The audits could not run (exit status 2)."""


# --- npm ----------------------------------------------------------------------

def ensure_lighthouse():
    """The node executable, after `npm ci` in benchmarks/lighthouse/ if needed."""
    node = shutil.which('node')
    if node is None:
        raise Failure('node is not installed (or not on PATH): Lighthouse needs Node.js '
                      '18.16 or newer and npm (e.g. apt-get install nodejs npm)')
    if not os.path.exists(LIGHTHOUSE_CLI):
        npm = shutil.which('npm')
        if npm is None:
            raise Failure('npm is not available (not on PATH), so the pinned lighthouse '
                          'cannot be installed into %s: install npm (e.g. apt-get install '
                          'npm) and run again' % NODE_DIR)
        print('Installing the pinned lighthouse: npm ci in %s' % NODE_DIR, flush=True)
        started = time.monotonic()
        done = subprocess.run(  # nosec B603  # fixed argv (npm ci), no shell
            [npm, 'ci', '--no-audit', '--no-fund'], cwd=NODE_DIR, check=False)
        if done.returncode != 0 or not os.path.exists(LIGHTHOUSE_CLI):
            raise Failure('npm ci in %s failed (status %d)' % (NODE_DIR, done.returncode))
        print('npm ci took %.0f s' % (time.monotonic() - started), flush=True)
    return node


def lighthouse_version(node):
    with open(os.path.join(NODE_DIR, 'node_modules', 'lighthouse', 'package.json')) as fh:
        version = json.load(fh)['version']
    done = subprocess.run(  # nosec B603  # fixed argv (node --version), no shell
        [node, '--version'], capture_output=True, text=True, check=False)
    return version, done.stdout.strip()


# --- the temporary site ---------------------------------------------------------

def free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def run_py(*args, stdin=None):
    """Run `python run.py ARGS` in the repository; stops on failure."""
    done = subprocess.run(  # nosec B603  # fixed argv: this Python, run.py, our own arguments
        [sys.executable, os.path.join(ROOT, 'run.py'), *args], cwd=ROOT, input=stdin,
        capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise Failure('run.py %s failed (status %d):\n%s%s' % (
            ' '.join(args[:1]), done.returncode, done.stdout, done.stderr))
    return done.stdout


def make_site(folder):
    """(database path, admin password): a fresh database with an admin and demo posts."""
    db = os.path.join(folder, 'blog.db')
    password = secrets.token_urlsafe(18)
    run_py('create-admin', ADMIN, '--db', db, stdin=password + '\n')
    run_py('demo', '--db', db, '--authors', '3', '--posts', '20')
    return db, password


class Server:
    """`python run.py serve` on a free loopback port; a context manager."""

    def __init__(self, db, folder):
        self.port = free_port()
        self.base = 'http://127.0.0.1:%d' % self.port
        self.db = db
        self.log_path = os.path.join(folder, 'server.log')
        self.proc = self.log = None

    def __enter__(self):
        self.log = open(self.log_path, 'wb')  # closed in __exit__
        self.proc = subprocess.Popen(  # nosec B603  # fixed argv: this Python, run.py serve
            [sys.executable, os.path.join(ROOT, 'run.py'), 'serve', '--db', self.db,
             '--host', '127.0.0.1', '--port', str(self.port), '--base-url', self.base],
            cwd=ROOT, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise Failure('the server exited (status %s):\n%s'
                              % (self.proc.returncode, self.output()))
            try:
                status, _, body = get(self.base, '/healthz')
                if status == 200 and body == 'ok':
                    return self
            except OSError:
                pass
            time.sleep(0.1)
        raise Failure('the server did not answer /healthz:\n%s' % self.output())

    def output(self):
        self.log.flush()
        with open(self.log_path, 'rb') as fh:
            return fh.read().decode('utf-8', 'replace')[-4000:]

    def __exit__(self, *exc):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.log.close()


def request(base, method, path, body=None, headers=None):
    """(status, response headers, text) of one request to the site."""
    port = int(base.rsplit(':', 1)[1])
    conn = http.client.HTTPConnection('127.0.0.1', port, timeout=30)
    try:
        conn.request(method, path, body, headers or {})
        resp = conn.getresponse()
        return resp.status, resp.headers, resp.read().decode('utf-8', 'replace')
    finally:
        conn.close()


def get(base, path, cookie=None):
    return request(base, 'GET', path, headers={'Cookie': cookie} if cookie else None)


def session_cookie(headers):
    """'blog_session=<token>' from a response's Set-Cookie headers, or None."""
    for header in headers.get_all('Set-Cookie') or ():
        name, _, rest = header.partition('=')
        value = rest.split(';', 1)[0]
        if name.strip() == COOKIE_NAME and value.strip('"'):
            return '%s=%s' % (COOKIE_NAME, value)
    return None


def sign_in(base, username, password):
    """Sign in through the real form; the Cookie header value of the session."""
    status, headers, page = get(base, '/login')
    cookie = session_cookie(headers)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)
    if status != 200 or cookie is None or token is None:
        raise Failure('GET /login answered %d without a session cookie or CSRF token'
                      % status)
    form = urlencode({'csrf_token': token.group(1), 'username': username,
                      'password': password, 'next': '/'})
    status, headers, _ = request(base, 'POST', '/login', form, {
        'Cookie': cookie, 'Content-Type': 'application/x-www-form-urlencoded'})
    if status != 303:
        raise Failure('signing in as %s answered %d, not 303' % (username, status))
    return session_cookie(headers) or cookie


def pages_to_audit(base, cookie):
    """[(name, path, cookie or None)], each checked to answer 200 first."""
    status, _, home = get(base, '/')
    post = re.search(r'href="(?:%s)?(/posts/\d+-[^"?#]+)"' % re.escape(base), home)
    if status != 200 or post is None:
        raise Failure('the homepage answered %d with no link to a post' % status)
    pages = [('home', '/', None), ('post', post.group(1), None), ('editor', '/posts/new', cookie)]
    for name, path, page_cookie in pages:
        status, _, body = get(base, path, page_cookie)
        if status != 200:
            raise Failure('%s (%s) answered %d' % (name, path, status))
        if page_cookie and 'Sign out' not in body:
            raise Failure('%s (%s) is not signed in with the session cookie' % (name, path))
    return pages


# --- Lighthouse -----------------------------------------------------------------

def run_lighthouse(node, args, url, out_base, headers_file, skip, form_factor):
    """Run Lighthouse once; the parsed JSON report (also left at out_base.report.json)."""
    argv = [node, LIGHTHOUSE_CLI, url,
            '--only-categories=' + ','.join(CATEGORIES),
            '--output=json', '--output=html', '--output-path=' + out_base,
            '--chrome-path=' + args.chrome,
            '--chrome-flags=' + ' '.join(CHROME_FLAGS),
            '--quiet', '--no-enable-error-reporting', '--disable-full-page-screenshot']
    if form_factor == 'desktop':
        argv.append('--preset=desktop')
    if headers_file:
        argv.append('--extra-headers=' + headers_file)
    if skip:
        argv.append('--skip-audits=' + ','.join(sorted(skip)))
    json_path = out_base + '.report.json'
    if os.path.exists(json_path):
        os.remove(json_path)
    proc = subprocess.Popen(  # nosec B603  # fixed argv: node, the pinned CLI, our options
        argv, cwd=NODE_DIR, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        output, _ = proc.communicate(timeout=args.timeout)
    except subprocess.TimeoutExpired:
        # SIGINT: chrome-launcher then kills the Chromium it started (its own process
        # group, which killing node alone would leave running).
        proc.send_signal(signal.SIGINT)
        try:
            proc.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
        raise Failure('lighthouse on %s took longer than %d s' % (url, args.timeout)) from None
    if proc.returncode != 0 or not os.path.exists(json_path):
        raise Failure('lighthouse on %s failed (status %d):\n%s'
                      % (url, proc.returncode, output.decode('utf-8', 'replace')[-4000:]))
    with open(json_path, encoding='utf-8') as fh:
        return json.load(fh)


def score_text(score):
    return '-' if score is None else '%d' % round(score * 100)


def value_text(value, kind=None):
    """One cell of an audit's details table, as short text."""
    if isinstance(value, dict):
        kind = value.get('type', kind)
        if kind == 'node':
            text = value.get('selector') or value.get('path') or ''
            if value.get('snippet'):
                text += ' ' + value['snippet']
            label = ' '.join((value.get('nodeLabel') or '').split())
            if label and label not in text:
                text += ' "%s"' % (label if len(label) <= 80 else label[:77] + '...')
            return text.strip()
        if kind == 'source-location':
            return '%s:%s:%s' % (value.get('url', ''), value.get('line', 0) + 1,
                                 value.get('column', 0) + 1)
        if kind in ('url', 'code', 'text', 'link'):
            return str(value.get('value', value.get('text', '')))
        return json.dumps(value, ensure_ascii=False)[:200]
    if isinstance(value, float):
        return '%.4g' % value
    return str(value)


def item_lines(item, headings):
    """Text lines describing one offending item of a table or list."""
    keys = [heading.get('key') for heading in headings if heading.get('key')]
    kinds = {heading.get('key'): heading.get('valueType') for heading in headings}
    parts = []
    for key in keys or sorted(item):
        if key in item and key != 'subItems' and item[key] not in (None, ''):
            parts.append(value_text(item[key], kinds.get(key)))
    lines = ['; '.join(parts) or json.dumps(item, ensure_ascii=False)[:300]]
    node = item.get('node') if isinstance(item.get('node'), dict) else None
    if node and node.get('explanation'):
        lines += ['    ' + line for line in node['explanation'].splitlines() if line.strip()]
    sub_kinds = {heading['subItemsHeading'].get('key'): heading['subItemsHeading']
                 for heading in headings if heading.get('subItemsHeading')}
    for sub in (item.get('subItems') or {}).get('items', [])[:ITEMS_SHOWN]:
        parts = []
        for key, value in sub.items():
            if value not in (None, ''):
                kind = sub_kinds.get(key, {}).get('valueType')
                parts.append('%s: %s' % (SUB_ITEM_NAMES.get(key, key), value_text(value, kind)))
        lines.append('    ' + '; '.join(parts))
    return lines


def failed_audits(report):
    """[(audit, weight, category ids)] of the audits that did not pass."""
    weights = {}
    for category in report['categories'].values():
        for ref in category['auditRefs']:
            weights.setdefault(ref['id'], [0, []])
            weights[ref['id']][0] += ref.get('weight', 0)
            weights[ref['id']][1].append(category['id'])
    failed = []
    for audit_id, (weight, categories) in weights.items():
        audit = report['audits'].get(audit_id)
        if audit is None:
            continue
        mode = audit.get('scoreDisplayMode')
        if mode == 'error' or (mode in ('binary', 'numeric', 'metricSavings', 'informative')
                               and audit.get('score') is not None and audit['score'] < 1):
            failed.append((audit, weight, categories))
    return sorted(failed, key=lambda row: (-row[1], row[0]['id']))


def describe_failure(audit, weight, categories):
    """The lines printed for one failed audit."""
    head = '  %s (%s) %s: %s' % (audit['id'], ', '.join(categories),
                                 'ERROR' if audit.get('scoreDisplayMode') == 'error'
                                 else 'score %s' % score_text(audit.get('score')),
                                 audit.get('title', ''))
    if audit.get('scoreDisplayMode') == 'informative':
        head += ' [informative: not scored]'
    elif not weight:
        head += ' [weight 0: does not lower the score]'
    lines = [head]
    for extra in ('displayValue', 'explanation', 'errorMessage'):
        if audit.get(extra):
            lines.append('    %s: %s' % (extra, audit[extra]))
    details = audit.get('details') or {}
    tables = details.get('items') if details.get('type') == 'list' else [details]
    items = [(row, table.get('headings') or []) for table in tables or ()
             if isinstance(table, dict) for row in table.get('items') or ()]
    for item, headings in items[:ITEMS_SHOWN]:
        first, *rest = item_lines(item, headings) if isinstance(item, dict) else [str(item)]
        lines.append('    - ' + first)
        lines += ['    ' + line for line in rest]
    if len(items) > ITEMS_SHOWN:
        lines.append('    ... and %d more (see the JSON report)' % (len(items) - ITEMS_SHOWN))
    return lines


def print_table(results):
    names = ['page', 'form factor', *CATEGORIES]
    rows = [[label, form_factor, *(score_text(scores.get(c)) for c in CATEGORIES)]
            for label, form_factor, scores in results]
    widths = [max(len(str(row[i])) for row in [names, *rows]) for i in range(len(names))]
    line = ' | '.join('%-*s' % (w, n) if i < 2 else '%*s' % (w, n)
                      for i, (w, n) in enumerate(zip(widths, names, strict=True)))
    print(line)
    print('-+-'.join('-' * w for w in widths))
    for row in rows:
        print(' | '.join('%-*s' % (w, v) if i < 2 else '%*s' % (w, v)
                         for i, (w, v) in enumerate(zip(widths, row, strict=True))))


def audit_all(node, args, out_dir, folder):
    """Run everything; the exit status."""
    db, password = make_site(folder)
    with Server(db, folder) as server:
        cookie = sign_in(server.base, ADMIN, password)
        headers_file = os.path.join(folder, 'extra-headers.json')
        with open(headers_file, 'w', encoding='utf-8') as fh:
            json.dump({'Cookie': cookie}, fh)
        pages = pages_to_audit(server.base, cookie)
        notes = []
        for name, skipped in SKIPPED.items():
            for audit_id, reason in skipped.items():
                notes.append('%s: %s not run (%s)' % (name, audit_id, reason))
        if NOINDEX.search(get(server.base, '/posts/new', cookie)[2]):
            notes.append('editor: checked, it has <meta name="robots" content="noindex">')
        else:
            notes.append('editor: is-crawlable is skipped for its noindex, but the editor '
                         'has no <meta name="robots" content="noindex"> any more: intended?')
        results, failures, timings = [], [], []
        for name, path, page_cookie in pages:
            for form_factor in args.form_factors:
                label = '%s %s' % (name, path)
                started = time.monotonic()
                print('lighthouse %s (%s)%s ...' % (path, form_factor,
                                                   ', signed in' if page_cookie else ''),
                      end=' ', flush=True)
                report = run_lighthouse(node, args, server.base + path,
                                        os.path.join(out_dir, '%s-%s' % (name, form_factor)),
                                        headers_file if page_cookie else None,
                                        SKIPPED.get(name, {}), form_factor)
                took = time.monotonic() - started
                timings.append(took)
                print('%.1f s' % took, flush=True)
                if report.get('runtimeError'):
                    raise Failure('lighthouse on %s: %s' % (path, report['runtimeError']))
                for warning in report.get('runWarnings') or ():
                    if 'performance score' in warning:
                        continue  # the slow-CPU warning: performance is not audited here
                    notes.append('%s (%s): Lighthouse warned: %s' % (name, form_factor, warning))
                scores = {c: report['categories'].get(c, {}).get('score') for c in CATEGORIES}
                results.append((label, form_factor, scores))
                failures.append((label, form_factor, failed_audits(report)))
                version = report.get('lighthouseVersion')
                browser = report.get('environment', {}).get('hostUserAgent', '')
    print()
    print('Lighthouse %s, %s; categories %s' % (version, browser, ', '.join(CATEGORIES)))
    print()
    print_table(results)
    for note in notes:
        print('Note: ' + note)
    print()
    print('Failed audits:' if any(rows for _, _, rows in failures) else 'No failed audits.')
    for label, form_factor, rows in failures:
        if rows:
            print('%s (%s):' % (label, form_factor))
            for audit, weight, categories in rows:
                print('\n'.join(describe_failure(audit, weight, categories)))
    print()
    print('Reports: %s; %d Lighthouse runs, %.0f s of them (%.1f s each on average)'
          % (out_dir, len(timings), sum(timings), sum(timings) / len(timings)))
    below = ['%s (%s) %s %s' % (label, form_factor, category, score_text(score))
             for label, form_factor, scores in results
             for category, score in scores.items() if score is None or score < 1]
    if below:
        print('Below 100: ' + '; '.join(below))
        return 1
    print('Every score is 100.')
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--out', default=DEFAULT_OUT,
                        help='folder for the JSON and HTML reports (default %(default)s)')
    parser.add_argument('--form-factors', default=','.join(FORM_FACTORS),
                        help='comma-separated, of mobile and desktop (default %(default)s)')
    parser.add_argument('--chrome', default=os.environ.get('CHROME_PATH', DEFAULT_CHROME),
                        help='the Chromium to run (default $CHROME_PATH or %s)' % DEFAULT_CHROME)
    parser.add_argument('--timeout', type=int, default=180,
                        help='seconds one Lighthouse run may take (default %(default)s)')
    args = parser.parse_args(argv)
    args.form_factors = [f for f in args.form_factors.split(',') if f]
    if not args.form_factors or set(args.form_factors) - set(FORM_FACTORS):
        parser.error('--form-factors takes a comma-separated list of: mobile, desktop')
    started = time.monotonic()
    try:
        if not os.access(args.chrome, os.X_OK):
            raise Failure('no Chromium at %s (apt-get install chromium, or --chrome PATH)'
                          % args.chrome)
        node = ensure_lighthouse()
        version, node_version = lighthouse_version(node)
        print('lighthouse %s (pinned in %s), node %s, %s'
              % (version, os.path.relpath(NODE_DIR, ROOT), node_version, args.chrome),
              flush=True)
        out_dir = os.path.abspath(args.out)
        os.makedirs(out_dir, exist_ok=True)
        with tempfile.TemporaryDirectory(prefix='blog-lighthouse-') as folder:
            status = audit_all(node, args, out_dir, folder)
    except Failure as failure:
        print('lighthouse.py: %s' % failure, file=sys.stderr)
        return 2
    print('Took %.0f s in all.' % (time.monotonic() - started))
    return status


if __name__ == '__main__':
    sys.exit(main())
