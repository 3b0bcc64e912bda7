"""Images through the real server: one upload of a 12-megapixel JPEG (wall time, and
the server's resident memory before, at its peak and after), then serving an image
(`/media/<key>-960.webp` and the JPEG fallback) against hello-world, with wrk.

    python benchmarks/media.py [--duration 5] [--rounds 3] [--uploads 3]

A fresh site in a temporary folder: `run.py create-admin`, `run.py serve` and
`benchmarks/hello.py` with the same waitress settings on loopback. The upload goes
through the real form as a browser sends it (multipart, signed in, CSRF token). As in
load.py, hello-world is measured before and after each image, and a ratio is the
image's requests/s over the mean of the two; the median of `--rounds` is reported.
blog.images' own cost, without the server, is `benchmarks/images.py`.
"""

import argparse
import http.client
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.dirname(HERE))

import images as image_bench  # noqa: E402  (benchmarks/images.py: the same photo)
import load  # noqa: E402  (benchmarks/load.py: servers, wrk, signing in)

PASSWORD = 'benchmark-password-1'


def upload(base, cookie, data):
    """POST the photo to /media as a browser would: (seconds, status, Location)."""
    host, port = base.split('//')[1].split(':')
    conn = http.client.HTTPConnection(host, int(port), timeout=120)
    try:
        conn.request('GET', '/media', headers={'Cookie': cookie})
        page = conn.getresponse().read().decode()
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        boundary = 'benchmark%d' % time.monotonic_ns()
        body = b''.join([
            b'--%s\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n%s\r\n'
            % (boundary.encode(), token.encode()),
            b'--%s\r\nContent-Disposition: form-data; name="alt"\r\n\r\nA photo\r\n'
            % boundary.encode(),
            b'--%s\r\nContent-Disposition: form-data; name="file"; filename="photo.jpg"\r\n'
            b'Content-Type: image/jpeg\r\n\r\n' % boundary.encode(), data,
            b'\r\n--%s--\r\n' % boundary.encode()])
        started = time.perf_counter()
        conn.request('POST', '/media', body, {
            'Cookie': cookie, 'Content-Type': 'multipart/form-data; boundary=' + boundary})
        resp = conn.getresponse()
        resp.read()
        return time.perf_counter() - started, resp.status, resp.getheader('Location') or ''
    finally:
        conn.close()


def library_key(base, cookie):
    host, port = base.split('//')[1].split(':')
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    conn.request('GET', '/media', headers={'Cookie': cookie})
    page = conn.getresponse().read().decode()
    conn.close()
    return re.search(r'/media/([0-9a-f]{32})\.jpg', page).group(1)


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--duration', type=int, default=5)
    parser.add_argument('--rounds', type=int, default=3)
    parser.add_argument('--uploads', type=int, default=3, help='distinct photos uploaded')
    parser.add_argument('--threads', type=int, default=4)
    parser.add_argument('--connections', type=int, default=16)
    args = parser.parse_args()
    folder = tempfile.mkdtemp(prefix='blog-media-bench-')
    db_path = os.path.join(folder, 'bench.db')
    python, run_py = sys.executable, os.path.join(load.ROOT, 'run.py')
    subprocess.run([python, run_py, 'create-admin', 'bench', '--db', db_path],
                   input=PASSWORD + '\n', text=True, check=True, capture_output=True)
    port, hello_port = load.free_port(), load.free_port()
    base, hello = 'http://127.0.0.1:%d' % port, 'http://127.0.0.1:%d/' % hello_port
    server = load.start([python, run_py, 'serve', '--db', db_path, '--port', str(port),
                         '--threads', str(args.threads)], base + '/healthz')
    hello_proc = None
    try:
        cookie = load.sign_in(base, 'bench', PASSWORD)
        print('Upload of a 12-megapixel JPEG (4000 x 3000) through POST /media:')
        print('| photo | bytes | seconds | server RSS before MiB | peak MiB | after MiB |')
        print('|---|---:|---:|---:|---:|---:|')
        for n in range(args.uploads):
            data = image_bench.photo_jpeg(1 if n % 2 == 0 else 6)
            data = data[:-2] + bytes([n]) * 16 + data[-2:]  # distinct bytes, a new upload
            before = load.rss_mb(server.pid)
            sampler = load.RssSampler(server.pid)
            sampler.start()
            seconds, status, location = upload(base, cookie, data)
            time.sleep(0.3)
            sampler.running = False
            sampler.join()
            if status != 303:
                raise SystemExit('the upload answered %d' % status)
            print('| %s | %d | %.2f | %.0f | %.0f | %.0f |' % (
                'landscape' if n % 2 == 0 else 'portrait (EXIF 6)', len(data), seconds,
                before, max(sampler.peak, before), load.rss_mb(server.pid)))
        key = library_key(base, cookie)
        webp = os.path.join(db_path[:-3] + '-media', key[:2], '%s-960.webp' % key)
        # hello-world, and the same waitress serving the 960 WebP's bytes bare.
        hello_proc = load.start([python, os.path.join(HERE, 'hello.py'), '--port',
                                 str(hello_port), '--threads', str(args.threads),
                                 '--file', webp], hello)
        targets = [('/media/<key>-960.webp (%d KB)' % (os.path.getsize(webp) // 1000),
                    '%s/media/%s-960.webp' % (base, key)),
                   ('the same bytes, bare waitress', hello + 'file'),
                   ('/media/<key>.jpg (1600 wide)', '%s/media/%s.jpg' % (base, key))]
        run = load.wrk if shutil.which('wrk') else load.python_load
        results = {label: [] for label, _ in targets}
        hellos = []
        for _ in range(args.rounds):
            for label, url in targets:
                first = run(hello, args.duration, args.connections, 2)[0]
                rps = run(url, args.duration, args.connections, 2)
                second = run(hello, args.duration, args.connections, 2)[0]
                if rps[3]:
                    raise SystemExit('%s: %d answers were not 2xx/3xx' % (label, rps[3]))
                hellos.extend([first, second])
                results[label].append((rps[0], rps[0] / ((first + second) / 2), rps[2]))
        print()
        print('Serving (%d rounds of %d s, %d connections, %d server threads):'
              % (args.rounds, args.duration, args.connections, args.threads))
        print('| URL | requests/s | x hello-world | p99 ms |')
        print('|---|---:|---:|---:|')
        for label, runs in results.items():
            print('| `%s` | %.0f | %.2f | %.1f |' % (
                label, statistics.median(r[0] for r in runs),
                statistics.median(r[1] for r in runs), statistics.median(r[2] for r in runs)))
        print('| hello-world | %.0f (%.0f-%.0f) | 1 | |' % (
            statistics.median(hellos), min(hellos), max(hellos)))
    finally:
        load.stop(server)
        if hello_proc is not None:
            load.stop(hello_proc)
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == '__main__':
    main()
