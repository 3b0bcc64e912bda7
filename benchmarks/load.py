"""The quality-bar benchmark: the blog's pages against a hello-world Bottle app.

1. Builds the database with `python run.py demo` (10,000 authors, 1,000,000 posts
   by default; `--reuse` keeps an existing file).
2. Starts the real server (`python run.py serve`) and `benchmarks/hello.py` with the
   same waitress settings and thread count, on loopback.
3. Loads each URL with wrk (Debian package `wrk`; a Python load generator when it
   is missing) and prints requests/s, p50/p99 latency and the ratio to hello-world,
   which is measured before and after every page (the mean of the two runs beside
   a page is its baseline, so drift in the machine's load cancels out). The whole
   sequence runs `--rounds` times (5 by default); each page's ratio is the median.
4. Times cold pages: a post is published (a real INSERT through the schema's
   triggers, which bumps the cache generation), then the page is fetched once. The
   INSERT comes from this process, which the server notices within
   `blog.cache.RECHECK_SECONDS`, so the fetch waits that long; the ETag it gets
   must name the new generation (proof that the page was rendered afresh).
5. Samples the server's resident memory during all of it.

    python benchmarks/load.py --db /tmp/bench/blog.db [--reuse] [--duration 10] [--rounds 5]

Bars: each page >= 0.5 x hello-world; cold homepage < 250 ms;
server RSS < 200 MB.
"""

import argparse
import os
import platform
import re
import shutil
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from peewee import sqlite3  # noqa: E402 - the driver the app uses (pysqlite3 when present)

from blog.cache import RECHECK_SECONDS  # noqa: E402

BARS = {'ratio': 0.5, 'cold_ms': 250, 'rss_mb': 200}


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


def start(cmd, url):
    # Not a pipe: nobody reads it, and the blog's access lines would fill it and stall
    # the server.
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_ready(url, proc)
    return proc


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


def wrk(url, duration, connections, threads):
    """(requests/s, p50 ms, p99 ms, non-2xx/3xx count) from one wrk run."""
    out = subprocess.run(['wrk', '-t%d' % threads, '-c%d' % connections, '-d%ds' % duration,
                          '--latency', url], capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r'Requests/sec:\s+([\d.]+)', out).group(1))
    p50 = _ms(re.search(r'\s50%\s+(\S+)', out).group(1))
    p99 = _ms(re.search(r'\s99%\s+(\S+)', out).group(1))
    bad = re.search(r'Non-2xx or 3xx responses:\s+(\d+)', out)
    return rps, p50, p99, int(bad.group(1)) if bad else 0


def python_load(url, duration, connections, threads):
    """A fallback load generator (keep-alive clients in threads) when wrk is missing."""
    import http.client
    from urllib.parse import urlsplit
    parts = urlsplit(url)
    latencies, bad, lock = [], [0], threading.Lock()
    deadline = time.monotonic() + duration

    def client():
        conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
        mine = []
        while time.monotonic() < deadline:
            started = time.perf_counter()
            conn.request('GET', parts.path + ('?' + parts.query if parts.query else ''))
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
        conn.execute("INSERT INTO post (author_id, title, body, html, status, tags, created_at,"
                     " updated_at, updated_by_id, published_at)"
                     " SELECT author_id, 'Benchmark: ' || title, body, html, 'published', tags,"
                     " ?, ?, author_id, ? FROM post WHERE id = ?", (now, now, now, source_id))
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
    conn = sqlite3.connect(db_path)
    try:
        post_id, username = conn.execute(
            "SELECT post.id, user.username FROM post JOIN user ON user.id = post.author_id"
            " WHERE status = 'published' AND title NOT LIKE 'Benchmark: %'"
            " ORDER BY published_at DESC LIMIT 1").fetchone()
    finally:
        conn.close()
    return post_id, username


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
    parser.add_argument('--duration', type=int, default=10, help='seconds per URL')
    parser.add_argument('--connections', type=int, default=16)
    parser.add_argument('--wrk-threads', type=int, default=2)
    parser.add_argument('--cold-runs', type=int, default=20)
    parser.add_argument('--rounds', type=int, default=5,
                        help='repeat the interleaved hello/page sequence; ratios are then '
                             'the median of the rounds (steadier on a noisy machine)')
    args = parser.parse_args()

    build(args)
    load = wrk if shutil.which('wrk') else python_load
    print('Machine: %s; load: %s, %d connections, %d s per URL; waitress threads: %d'
          % (machine(), 'wrk' if load is wrk else 'python fallback', args.connections,
             args.duration, args.threads), flush=True)
    blog_port, hello_port = free_port(), free_port()
    blog = start([sys.executable, 'run.py', 'serve', '--db', args.db, '--port', str(blog_port),
                  '--threads', str(args.threads)], 'http://127.0.0.1:%d/healthz' % blog_port)
    hello = start([sys.executable, 'benchmarks/hello.py', '--port', str(hello_port),
                   '--threads', str(args.threads)], 'http://127.0.0.1:%d/' % hello_port)
    sampler = RssSampler(blog.pid)
    sampler.start()
    try:
        post_id, username = pick_targets(args.db)
        base = 'http://127.0.0.1:%d' % blog_port
        pages = [('/', base + '/'), ('/posts/<id>', '%s/posts/%d' % (base, post_id)),
                 ('/authors', base + '/authors'),
                 ('/authors/<name>', '%s/authors/%s' % (base, username))]

        warmed = set()

        def measure(url):
            if url not in warmed:  # the first run of a URL warms it (fills the cache)
                load(url, 2, args.connections, args.wrk_threads)
                warmed.add(url)
            return load(url, args.duration, args.connections, args.wrk_threads)

        hello_url = 'http://127.0.0.1:%d/' % hello_port
        # Hello-world before and after every page: each page is compared with the
        # mean of the two runs beside it, so drift in the machine's load cancels.
        # With --rounds the whole sequence repeats and each page's ratio is the
        # median of its rounds' ratios.
        hellos, per_page = [], {label: [] for label, _ in pages}
        for _round in range(args.rounds):
            hellos.append(measure(hello_url))
            for label, url in pages:
                result = measure(url)
                hellos.append(measure(hello_url))
                before, after = hellos[-2][0], hellos[-1][0]
                per_page[label].append((result, before, after, result[0] / ((before + after) / 2)))

        print()
        print('| URL | requests/s | p50 ms | p99 ms | errors | hello-world requests/s'
              ' (beside it) | ratio to hello-world | ratio in each round |')
        print('|---|---:|---:|---:|---:|---:|---:|---|')
        verdicts = []
        for label, runs in per_page.items():
            ratio = statistics.median(r[3] for r in runs)
            bad = sum(r[0][3] for r in runs)
            verdicts.append((label, ratio >= BARS['ratio'] and not bad))
            print('| `%s` | %.0f | %.2f | %.2f | %d | %.0f | **%.2f** | %s |' % (
                label, statistics.median(r[0][0] for r in runs),
                statistics.median(r[0][1] for r in runs),
                statistics.median(r[0][2] for r in runs), bad,
                statistics.median((r[1] + r[2]) / 2 for r in runs), ratio,
                ' '.join('%.2f' % r[3] for r in runs)))
        print('| hello-world (all %d runs) | %.0f | %.2f | %.2f | %d | | | %s |' % (
            len(hellos), statistics.median(h[0] for h in hellos),
            statistics.median(h[1] for h in hellos), statistics.median(h[2] for h in hellos),
            sum(h[3] for h in hellos), ' '.join('%.0f' % h[0] for h in hellos)))

        print()
        print('Cold pages (a post is published, then the page is fetched once; %d runs):'
              % args.cold_runs)
        print()
        print('| page | median ms | 90th percentile ms | max ms |')
        print('|---|---:|---:|---:|')
        cold = {}
        for label, url in pages:
            times = []
            for _ in range(args.cold_runs):
                generation = publish_one(args.db, post_id)
                time.sleep(RECHECK_SECONDS + 0.05)  # see step 4 above
                times.append(fetch_ms(url, generation))
            cold[label] = times
            print('| `%s` | %.1f | %.1f | %.1f |' % (label, statistics.median(times),
                                                   sorted(times)[int(len(times) * 0.9) - 1],
                                                   max(times)))
        peak = max(sampler.peak, rss_mb(blog.pid))
        print()
        print('Server RSS: peak %.1f MB during the run (bar < %d MB)' % (peak, BARS['rss_mb']))
        print()
        for label, ok in verdicts:
            print('%-18s %s' % (label, 'meets the bar (>= 0.5 x hello-world)' if ok
                                else 'MISSES the bar'))
        cold_ok = max(cold['/']) < BARS['cold_ms']  # every run, not just the typical one
        print('%-18s %s (median %.1f ms, max %.1f ms)' % (
            'cold homepage', 'meets the bar (< 250 ms)' if cold_ok else 'MISSES the bar',
            statistics.median(cold['/']), max(cold['/'])))
        print('%-18s %s' % ('server RSS', 'meets the bar (< 200 MB)'
                            if peak < BARS['rss_mb'] else 'MISSES the bar'))
    finally:
        sampler.running = False
        stop(hello)
        stop(blog)


if __name__ == '__main__':
    main()
