"""The quality-bar benchmark: the blog's pages against a hello-world Bottle app.

1. Builds the database with `python run.py demo` (10,000 authors, 1,000,000 posts
   by default; `--reuse` keeps an existing file).
2. Starts the real server (`python run.py serve`) and `benchmarks/hello.py` with the
   same waitress settings and thread count, on loopback. Signs in once through the
   real form (GET /login for the CSRF token and cookie, then POST) as a demo author,
   and checks with one request per page that the cookie really is signed in.
3. Loads each URL with wrk (Debian package `wrk`; a Python load generator when it
   is missing) and prints requests/s, p50/p99 latency and the ratio to hello-world,
   which is measured before and after every page (the mean of the two runs beside
   a page is its baseline, so drift in the machine's load cancels out). The whole
   sequence runs `--rounds` times (3 by default); each page's ratio, and each
   search's p99, is the median of its rounds. Groups (`--only`): `anonymous` (/,
   a post, /authors, an author; a big tag, the site and author feeds, /archive),
   `signed-in` (the same pages with the session cookie), `search` (`the` and a
   rarer word, each as one repeated search, which the cache of recent searches
   answers after the first, and as a new search on every request, `-zq<n>` leaving
   out a word no post has), `cold`.
4. Times cold pages: a post is published (a real INSERT through the schema's
   triggers, which bumps the cache generation), then the page is fetched once. The
   INSERT comes from this process, which the server notices within
   `blog.cache.RECHECK_SECONDS`, so the fetch waits that long; the ETag it gets
   must name the new generation (proof that the page was rendered afresh). Deep
   pages: `/?page=400` (the last page on a smaller site) and the last page of the
   biggest tag. A cold bar holds only if every run is under it. Beside the times
   seen here, the table gives the server's own time for the same fetches (its
   access log, kept in `<db>.server.log`): a slow fetch the server was quick for
   was lost outside the app.
5. Samples the server's resident memory during all of it.

    python benchmarks/load.py --db /tmp/bench/blog.db [--reuse] [--duration 5] [--rounds 3]
        [--only anonymous,signed-in,search,cold]

Bars (design.md, "Quality bars"): /, /posts/<id>, /authors, /authors/<name> >= 0.8 x
hello-world requests/s; tag page, feeds, /archive >= 0.5 x; all of them signed in
>= 0.3 x; search p99 < 100 ms; deep pages cold < 50 ms; cold homepage < 100 ms; server
RSS < 150 MB.
"""

import argparse
import collections
import http.client
import itertools
import json
import os
import platform
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from urllib.parse import quote, urlencode, urlsplit

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from peewee import sqlite3  # noqa: E402 - the driver the app uses (pysqlite3 when present)

from blog.cache import RECHECK_SECONDS  # noqa: E402
from blog.demo import DEMO_PASSWORD  # noqa: E402
from blog.sessions import COOKIE_NAME  # noqa: E402

BARS = {'ratio': 0.8, 'lists_ratio': 0.5, 'signed_in_ratio': 0.3, 'search_p99_ms': 100,
        'deep_cold_ms': 50, 'cold_ms': 100, 'rss_mb': 150}
GROUPS = ('anonymous', 'signed-in', 'search', 'cold')
# (label, path template, bar key): formatted with the targets pick_targets() finds.
PAGES = (('/', '/', 'ratio'), ('/posts/<id>', '/posts/{post_id}-{slug}', 'ratio'),
         ('/authors', '/authors', 'ratio'), ('/authors/<name>', '/authors/{username}', 'ratio'),
         ('/tags/<tag>', '/tags/{tag}', 'lists_ratio'), ('/feed.atom', '/feed.atom', 'lists_ratio'),
         ('/authors/<name>/feed.atom', '/authors/{username}/feed.atom', 'lists_ratio'),
         ('/archive', '/archive', 'lists_ratio'))
COLD = (('/', '/', 'cold_ms'), ('/posts/<id>', '/posts/{post_id}-{slug}', None),
        ('/authors', '/authors', None), ('/authors/<name>', '/authors/{username}', None),
        ('/?page={home_page}', '/?page={home_page}', 'deep_cold_ms'),
        ('/tags/<tag>?page={tag_page}', '/tags/{tag}?page={tag_page}', 'deep_cold_ms'))
DEEP_HOME_PAGE = 400
PER_PAGE = 20  # blog.home.PER_PAGE, blog.tags.PER_PAGE
WARM_SECONDS = 2
Page = collections.namedtuple('Page', 'label url headers bar')


def free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def wait_ready(url, proc, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit('server exited with status %s' % proc.returncode)
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:
                resp.read()
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit('no answer from %s' % url)


def start(cmd, url, log=None):
    # Not a pipe: nobody reads it, and the blog's access lines would fill it and stall
    # the server. `log` (a file) keeps them, for the server's own time of a cold fetch.
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=log if log is not None else subprocess.DEVNULL)
    wait_ready(url, proc)
    return proc


_ACCESS_MS = re.compile(r' GET \S+ \d{3} \S+ B ([\d.]+) ms$')


def last_access_ms(log_path, offset):
    """(server ms of the first access line written after `offset`, new offset): the
    blog's own time for a request, from its access log (written by a queue, so
    this waits a little for it); None when no line came."""
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline:
        with open(log_path, 'rb') as fh:
            fh.seek(offset)
            for raw in fh:
                match = _ACCESS_MS.search(raw.decode('utf-8', 'replace').rstrip())
                if match:
                    return float(match.group(1)), fh.tell()
        time.sleep(0.02)
    return None, offset


def stop(proc):
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


def rss_mb(pid):
    with open('/proc/%d/status' % pid) as fh:
        for line in fh:
            if line.startswith('VmRSS:'):
                return int(line.split()[1]) / 1024
    return 0.0


class RssSampler(threading.Thread):
    """Samples a process's VmRSS every 0.2 s; `peak` is the largest seen."""

    def __init__(self, pid):
        super().__init__(daemon=True)
        self.pid, self.peak, self.running = pid, 0.0, True

    def run(self):
        while self.running:
            try:
                self.peak = max(self.peak, rss_mb(self.pid))
            except OSError:
                return
            time.sleep(0.2)


UNITS = {'us': 0.001, 'ms': 1.0, 's': 1000.0}


def _ms(text):
    match = re.fullmatch(r'([\d.]+)(us|ms|s)', text)
    return float(match.group(1)) * UNITS[match.group(2)]


# A URL holding UNIQUE asks for a new number in its place on every request (a search
# no cache has seen: wrk runs this script, each thread counting from its own base).
UNIQUE = '{n}'
UNIQUE_SCRIPT = '''
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("base", threads * 100000000)
end
local n = 0
function request()
  n = n + 1
  return wrk.format(nil, (PATH:gsub("{n}", tostring(base + n))))
end
'''


def wrk(url, duration, connections, threads, headers=()):
    """(requests/s, p50 ms, p99 ms, non-2xx/3xx count) from one wrk run."""
    extra = [arg for header in headers for arg in ('-H', '%s: %s' % header)]
    with tempfile.NamedTemporaryFile('w', suffix='.lua') as script:
        if UNIQUE in url:
            parts = urlsplit(url)
            path = parts.path + '?' + parts.query
            script.write('PATH = %s\n%s' % (json.dumps(path), UNIQUE_SCRIPT))
            script.flush()
            extra += ['-s', script.name]
            url = '%s://%s/' % (parts.scheme, parts.netloc)
        out = subprocess.run(['wrk', '-t%d' % threads, '-c%d' % connections,
                              '-d%ds' % duration, '--latency', *extra, url],
                             capture_output=True, text=True, check=True).stdout
    return parse_wrk(out)


def parse_wrk(out):
    """(requests/s, p50 ms, p99 ms, non-2xx/3xx count) from wrk --latency's output."""
    rps = float(re.search(r'Requests/sec:\s+([\d.]+)', out).group(1))
    p50 = _ms(re.search(r'\s50%\s+(\S+)', out).group(1))
    p99 = _ms(re.search(r'\s99%\s+(\S+)', out).group(1))
    bad = re.search(r'Non-2xx or 3xx responses:\s+(\d+)', out)
    return rps, p50, p99, int(bad.group(1)) if bad else 0


def python_load(url, duration, connections, threads, headers=()):
    """A fallback load generator (keep-alive clients in threads) when wrk is missing."""
    parts = urlsplit(url)
    latencies, bad, lock = [], [0], threading.Lock()
    deadline = time.monotonic() + duration
    numbers = itertools.count(1)

    def client():
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        mine = []
        while time.monotonic() < deadline:
            started = time.perf_counter()
            path = parts.path + ('?' + parts.query if parts.query else '')
            conn.request('GET', path.replace(UNIQUE, str(next(numbers))),
                         headers=dict(headers))
            resp = conn.getresponse()
            resp.read()
            mine.append((time.perf_counter() - started) * 1000)
            if resp.status >= 400:
                with lock:
                    bad[0] += 1
        with lock:
            latencies.extend(mine)
    workers = [threading.Thread(target=client) for _ in range(connections)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    latencies.sort()
    return (len(latencies) / duration, latencies[len(latencies) // 2],
            latencies[int(len(latencies) * 0.99)], bad[0])


def build(args):
    if args.reuse and os.path.exists(args.db):
        print('Reusing %s' % args.db)
        return
    for suffix in ('', '-wal', '-shm'):
        if os.path.exists(args.db + suffix):
            os.remove(args.db + suffix)
    os.makedirs(os.path.dirname(os.path.abspath(args.db)), exist_ok=True)
    print('Building %s: %d authors, %d posts' % (args.db, args.authors, args.posts), flush=True)
    started = time.monotonic()
    subprocess.run([sys.executable, 'run.py', 'demo', '--db', args.db, '--authors',
                    str(args.authors), '--posts', str(args.posts)], cwd=ROOT, check=True)
    print('demo took %.1f s' % (time.monotonic() - started), flush=True)


def publish_one(db_path, source_id):
    """Publish a new post (a copy of post `source_id`) the way the app writes: one
    transaction, the schema's triggers bump the cache generation. Returns the new
    generation."""
    conn = sqlite3.connect(db_path, timeout=10, isolation_level=None)
    try:
        now = int(time.time() * 10 ** 6)
        conn.execute('BEGIN IMMEDIATE')
        conn.execute("INSERT INTO post (author_id, title, slug, body, html, status, tags,"
                     " created_at, updated_at, updated_by_id, published_at)"
                     " SELECT author_id, 'Benchmark: ' || title, 'benchmark-' || slug, body,"
                     " html, 'published', tags, ?, ?, author_id, ? FROM post WHERE id = ?",
                     (now, now, now, source_id))
        generation = conn.execute('SELECT generation FROM site_state').fetchone()[0]
        conn.execute('COMMIT')
    finally:
        conn.close()
    return generation


def fetch_ms(url, generation):
    """Milliseconds to fetch `url`, which must be rendered at `generation`."""
    started = time.perf_counter()
    with urllib.request.urlopen(url, timeout=30) as resp:
        resp.read()
        etag = resp.headers.get('ETag', '')
    elapsed = (time.perf_counter() - started) * 1000
    if not etag.startswith('"%d-' % generation):
        raise SystemExit('%s answered ETag %s, not generation %d: not a cold page'
                         % (url, etag, generation))
    return elapsed


def pick_targets(db_path):
    """The URLs' parameters: the newest post and its author, the biggest tag and its
    last page (published posts only, 20 a page), and the deep homepage page
    (DEEP_HOME_PAGE, or the last page on a site with fewer authors)."""
    conn = sqlite3.connect(db_path)
    try:
        post_id, slug, username = conn.execute(
            "SELECT post.id, post.slug, user.username FROM post"
            " JOIN user ON user.id = post.author_id"
            " WHERE status = 'published' AND title NOT LIKE 'Benchmark: %'"
            " ORDER BY published_at DESC LIMIT 1").fetchone()
        tag = conn.execute('SELECT tag FROM post_tag GROUP BY tag ORDER BY COUNT(*) DESC'
                           ' LIMIT 1').fetchone()[0]
        tagged = conn.execute("SELECT COUNT(*) FROM post_tag JOIN post ON post.id = post_id"
                              " WHERE tag = ? AND status = 'published'", (tag,)).fetchone()[0]
        listed = conn.execute("SELECT COUNT(DISTINCT author_id) FROM post"
                              " WHERE status = 'published'").fetchone()[0]
    finally:
        conn.close()
    return {'post_id': post_id, 'slug': slug, 'username': username, 'tag': tag,
            'tag_page': last_page(tagged), 'home_page': min(DEEP_HOME_PAGE, last_page(listed))}


def last_page(count, per_page=PER_PAGE):
    """The number of the last page of `count` items (1 when there are none)."""
    return max(1, -(-count // per_page))


def _session_cookie(resp):
    """'blog_session=<token>' from a response's Set-Cookie headers, or None."""
    for header in resp.headers.get_all('Set-Cookie') or ():
        name, _, rest = header.partition('=')
        value = rest.split(';', 1)[0]
        if name.strip() == COOKIE_NAME and value.strip('"'):
            return '%s=%s' % (COOKIE_NAME, value)
    return None


def sign_in(base, username, password=DEMO_PASSWORD):
    """Sign in through the real form; returns the Cookie header value of the session."""
    parts = urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        conn.request('GET', '/login')
        resp = conn.getresponse()
        page = resp.read().decode('utf-8')
        cookie = _session_cookie(resp)
        token = re.search(r'name="csrf_token" value="([^"]+)"', page)
        if cookie is None or token is None:
            raise SystemExit('GET /login gave no session cookie or CSRF token')
        form = urlencode({'csrf_token': token.group(1), 'username': username,
                          'password': password, 'next': '/'})
        conn.request('POST', '/login', form, {'Cookie': cookie, 'Content-Type':
                                              'application/x-www-form-urlencoded'})
        resp = conn.getresponse()
        resp.read()
        if resp.status != 303:
            raise SystemExit('signing in as %s answered %d, not 303' % (username, resp.status))
        return _session_cookie(resp) or cookie
    finally:
        conn.close()


def probe(page):
    """(status, problem or None) of one GET of `page`: a signed-in HTML page must show
    'Sign out', proof that the cookie wrk will send is a live session."""
    request = urllib.request.Request(page.url, headers=dict(page.headers))
    try:
        with urllib.request.urlopen(request, timeout=60) as resp:  # nosec B310 (loopback)
            status, body = resp.status, resp.read().decode('utf-8', 'replace')
    except urllib.error.HTTPError as error:
        return error.code, 'answered %d' % error.code
    if page.headers and not page.url.endswith('.atom') and 'Sign out' not in body:
        return status, 'not signed in (no "Sign out" on the page)'
    return status, None


def plan(base, targets, groups, cookie):
    """The loaded pages of the chosen groups, in the order they run."""
    pages = []
    for label, path, bar in PAGES:
        url = base + path.format(**{k: quote(str(v)) for k, v in targets.items()})
        if 'anonymous' in groups:
            pages.append(Page(label, url, (), bar))
        if 'signed-in' in groups:
            pages.append(Page(label + ' (signed in)', url, (('Cookie', cookie),),
                              'signed_in_ratio'))
    if 'search' in groups:
        for word in ('the', targets['rare_word']):
            pages.append(Page('/search?q=%s' % word, base + '/search?q=' + quote(word), (),
                              'search_p99_ms'))
            # The same search made new for every request (leaving out a word no post
            # has): what it costs past the cache of recent searches.
            pages.append(Page('/search?q=%s -zq<n> (uncached)' % word,
                              base + '/search?q=' + quote(word + ' -zq') + UNIQUE, (),
                              'search_p99_ms'))
    # Anonymous first, then signed in, then search: each group's pages side by side.
    return sorted(pages, key=lambda page: (page.headers != (), page.bar == 'search_p99_ms'))


def planned_pages(groups):
    """How many pages the chosen groups load."""
    return (len(PAGES) * (('anonymous' in groups) + ('signed-in' in groups))
            + 4 * ('search' in groups))


def estimate_seconds(groups, rounds, duration, cold_runs):
    """A rough total: the wrk runs (hello-world around every page, every round), one
    warm-up per URL, and the cold fetches, each waiting RECHECK_SECONDS."""
    pages = planned_pages(groups)
    runs = rounds * (2 * pages + 1) if pages else 0
    warm_ups = pages + 1 if pages else 0
    cold = len(COLD) * cold_runs * (RECHECK_SECONDS + 0.1) if 'cold' in groups else 0
    return runs * (duration + 0.2) + warm_ups * WARM_SECONDS + cold


def bar_text(key):
    """How bar `key` reads in the tables."""
    if key.endswith('ratio'):
        return '>= %.1f x' % BARS[key]
    return '%s < %d ms' % ('p99' if key == 'search_p99_ms' else 'max', BARS[key])


def verdict(page, runs, problem):
    """(met, median ratio, median p99) of a page's rounds."""
    if problem or not runs:
        return False, None, None
    ratio = statistics.median(r[3] for r in runs)
    p99 = statistics.median(r[0][2] for r in runs)
    errors = sum(r[0][3] for r in runs)
    if page.bar == 'search_p99_ms':
        return p99 < BARS[page.bar] and not errors, ratio, p99
    return ratio >= BARS[page.bar] and not errors, ratio, p99


def load_pages(pages, load, hello_url, args):
    """{label: [(result, hello before, hello after, ratio)] per round}, and every
    hello-world result."""
    warmed = set()

    def measure(url, headers=()):
        if url not in warmed:  # the first run of a URL warms it (fills the cache)
            load(url, WARM_SECONDS, args.connections, args.wrk_threads, headers)
            warmed.add(url)
        return load(url, args.duration, args.connections, args.wrk_threads, headers)

    # Hello-world before and after every page: each page is compared with the
    # mean of the two runs beside it, so drift in the machine's load cancels.
    # With --rounds the whole sequence repeats and each page's ratio is the
    # median of its rounds' ratios.
    hellos, per_page = [], {page.label: [] for page in pages}
    for _round in range(args.rounds if pages else 0):
        hellos.append(measure(hello_url))
        for page in pages:
            result = measure(page.url, page.headers)
            hellos.append(measure(hello_url))
            before, after = hellos[-2][0], hellos[-1][0]
            per_page[page.label].append((result, before, after,
                                         result[0] / ((before + after) / 2)))
        print('round %d of %d done' % (_round + 1, args.rounds), flush=True)
    return per_page, hellos


def print_loads(pages, per_page, hellos, problems, missed):
    """The throughput table, one row per URL; appends missed bars to `missed`."""
    print()
    print('| URL | bar | requests/s | p50 ms | p99 ms | errors | hello-world requests/s'
          ' (beside it) | ratio to hello-world | ratio in each round | verdict |')
    print('|---|---|---:|---:|---:|---:|---:|---:|---|---|')
    for page in pages:
        runs = per_page.get(page.label, [])
        met, ratio, p99 = verdict(page, runs, problems.get(page.label))
        if not met:
            missed.append('%s (%s)' % (page.label, bar_text(page.bar)))
        if problems.get(page.label):
            print('| `%s` | %s | | | | | | | | MISSED: %s |' % (
                page.label, bar_text(page.bar), problems[page.label]))
            continue
        print('| `%s` | %s | %.0f | %.2f | %.2f | %d | %.0f | **%.2f** | %s | %s |' % (
            page.label, bar_text(page.bar), statistics.median(r[0][0] for r in runs),
            statistics.median(r[0][1] for r in runs), p99, sum(r[0][3] for r in runs),
            statistics.median((r[1] + r[2]) / 2 for r in runs), ratio,
            ' '.join('%.2f' % r[3] for r in runs), 'met' if met else 'MISSED'))
    if hellos:
        print('| hello-world (all %d runs) | | %.0f | %.2f | %.2f | %d | | | %s | |' % (
            len(hellos), statistics.median(h[0] for h in hellos),
            statistics.median(h[1] for h in hellos), statistics.median(h[2] for h in hellos),
            sum(h[3] for h in hellos), ' '.join('%.0f' % h[0] for h in hellos)))


def cold_pages(base, targets, args, missed, log_path=None):
    """Times each COLD page right after a publish; prints the table (with the server's
    own time for each fetch, from its access log at `log_path`)."""
    print()
    print('Cold pages (a post is published, then the page is fetched once; %d runs):'
          % args.cold_runs)
    print()
    print('| page | bar | median ms | 90th percentile ms | max ms | verdict '
          '| server ms of the slowest fetch | server max ms |')
    print('|---|---|---:|---:|---:|---|---:|---:|')
    values = {k: quote(str(v)) for k, v in targets.items()}
    for label, path, bar in COLD:
        label, url = label.format(**targets), base + path.format(**values)
        times, server = [], []
        for _ in range(args.cold_runs):
            generation = publish_one(args.db, targets['post_id'])
            time.sleep(RECHECK_SECONDS + 0.05)  # see step 4 above
            offset = os.path.getsize(log_path) if log_path else 0
            times.append(fetch_ms(url, generation))
            server.append(last_access_ms(log_path, offset)[0] if log_path else None)
        met = bar is None or max(times) < BARS[bar]  # every run, not just the typical one
        if not met:
            missed.append('cold %s (%s)' % (label, bar_text(bar)))
        slowest = server[times.index(max(times))]
        print('| `%s` | %s | %.1f | %.1f | %.1f | %s | %s | %s |' % (
            label, bar_text(bar) if bar else '', statistics.median(times),
            sorted(times)[max(0, int(len(times) * 0.9) - 1)], max(times),
            '' if bar is None else 'met' if met else 'MISSED',
            '-' if slowest is None else '%.1f' % slowest,
            '-' if None in server else '%.1f' % max(server)))


def machine():
    model = platform.processor()
    try:
        with open('/proc/cpuinfo') as fh:
            model = next(line.split(':', 1)[1].strip() for line in fh
                         if line.startswith('model name'))
    except (OSError, StopIteration):
        pass
    return '%d CPUs (%s), Python %s' % (os.cpu_count(), model, platform.python_version())


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--db', default='/tmp/blog-bench/blog.db')
    parser.add_argument('--authors', type=int, default=10000)
    parser.add_argument('--posts', type=int, default=1000000)
    parser.add_argument('--reuse', action='store_true', help='keep an existing database')
    parser.add_argument('--threads', type=int, default=4, help='waitress threads (both apps)')
    parser.add_argument('--duration', type=int, default=5, help='seconds per URL')
    parser.add_argument('--connections', type=int, default=16)
    parser.add_argument('--wrk-threads', type=int, default=2)
    parser.add_argument('--cold-runs', type=int, default=20)
    parser.add_argument('--rounds', type=int, default=3,
                        help='repeat the interleaved hello/page sequence; ratios are then '
                             'the median of the rounds (steadier on a noisy machine)')
    parser.add_argument('--only', default=','.join(GROUPS),
                        help='comma-separated groups to run, of: %s' % ', '.join(GROUPS))
    parser.add_argument('--rare-word', default='stubborn',
                        help='the rarer word searched for (besides "the")')
    args = parser.parse_args()
    groups = set(filter(None, args.only.split(',')))
    if not groups or groups - set(GROUPS):
        parser.error('--only takes a comma-separated list of: %s' % ', '.join(GROUPS))

    print('Groups: %s; %d pages loaded; estimated %.0f s after the database is ready'
          % (', '.join(g for g in GROUPS if g in groups), planned_pages(groups),
             estimate_seconds(groups, args.rounds, args.duration, args.cold_runs)), flush=True)
    build(args)
    started = time.monotonic()
    load = wrk if shutil.which('wrk') else python_load
    print('Machine: %s; load: %s, %d connections, %d s per URL, %d rounds; waitress threads: %d'
          % (machine(), 'wrk' if load is wrk else 'python fallback', args.connections,
             args.duration, args.rounds, args.threads), flush=True)
    blog_port, hello_port = free_port(), free_port()
    log_path = args.db + '.server.log'
    server_log = open(log_path, 'wb')  # open for the whole run
    blog = start([sys.executable, 'run.py', 'serve', '--db', args.db, '--port', str(blog_port),
                  '--threads', str(args.threads)], 'http://127.0.0.1:%d/healthz' % blog_port,
                 server_log)
    hello = start([sys.executable, 'benchmarks/hello.py', '--port', str(hello_port),
                   '--threads', str(args.threads)], 'http://127.0.0.1:%d/' % hello_port)
    sampler = RssSampler(blog.pid)
    sampler.start()
    try:
        targets = dict(pick_targets(args.db), rare_word=args.rare_word)
        print('Targets: post %(post_id)d, author %(username)s, tag %(tag)s (last page'
              ' %(tag_page)d), homepage page %(home_page)d' % targets, flush=True)
        base = 'http://127.0.0.1:%d' % blog_port
        cookie = sign_in(base, targets['username']) if 'signed-in' in groups else ''
        pages = plan(base, targets, groups, cookie)
        # One request per page first: a page that is missing, failing or (signed in)
        # not signed in is reported as a missed bar instead of being loaded.
        problems = {page.label: probe(page)[1] for page in pages}
        if cookie:
            html = [page for page in pages if page.headers and not page.url.endswith('.atom')]
            shown = sum(not problems[page.label] for page in html)
            print('Signed in as %s: "Sign out" shown on %d of %d signed-in HTML pages'
                  % (targets['username'], shown, len(html)), flush=True)
        runnable = [page for page in pages if not problems[page.label]]
        per_page, hellos = load_pages(runnable, load, 'http://127.0.0.1:%d/' % hello_port, args)
        if cookie:  # still signed in after the load (the session did not end under it)
            for page in runnable:
                if page.headers and probe(page)[1]:
                    problems[page.label] = 'signed out during the load'
        missed = []
        print_loads(pages, per_page, hellos, problems, missed)
        if 'cold' in groups:
            cold_pages(base, targets, args, missed, log_path)
        peak = max(sampler.peak, rss_mb(blog.pid))
        if peak >= BARS['rss_mb']:
            missed.append('server RSS (< %d MB)' % BARS['rss_mb'])
        print()
        print('Server RSS: peak %.1f MB during the run (bar < %d MB): %s'
              % (peak, BARS['rss_mb'], 'met' if peak < BARS['rss_mb'] else 'MISSED'))
        print('Took %.0f s after the database was ready.' % (time.monotonic() - started))
        print('Missed bars: %s' % '; '.join(missed) if missed
              else 'Every measured bar met.')
    finally:
        sampler.running = False
        stop(hello)
        stop(blog)
        server_log.close()


if __name__ == '__main__':
    main()
