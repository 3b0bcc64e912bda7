"""A hello-world Bottle app on waitress with the settings `python run.py serve` uses
(threads, ident, body limit, channel timeout, connection limit): the baseline the
quality bars compare the blog's pages with.

    python benchmarks/hello.py --port 8099 --threads 4 [--file PATH]

With `--file`, GET /file answers that file's bytes (waitress's file wrapper, no
framework): the ceiling for serving an image of that size (benchmarks/media.py).
"""

import argparse
import logging
import os

import bottle
import waitress

MAX_BODY_BYTES = 1024 * 1024  # blog.config.Config.max_body_bytes

app = bottle.Bottle()


@app.route('/')
def hello():
    return 'Hello, world!'


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument('--host', default='127.0.0.1')
    parser.add_argument('--port', type=int, default=8099)
    parser.add_argument('--threads', type=int, default=4)
    parser.add_argument('--file', help='a file for GET /file')
    args = parser.parse_args()
    if args.file:
        size = os.path.getsize(args.file)

        def bare_file(environ, start_response):
            if environ.get('PATH_INFO') != '/file':
                return app(environ, start_response)
            start_response('200 OK', [('Content-Type', 'application/octet-stream'),
                                      ('Content-Length', str(size))])
            return environ['wsgi.file_wrapper'](open(args.file, 'rb'), 65536)
    else:
        bare_file = app
    logging.getLogger('waitress.queue').setLevel(logging.ERROR)
    print('Hello on http://%s:%d/' % (args.host, args.port), flush=True)
    # The same call as blog.cli.serve (without its proxy options, off by default).
    waitress.serve(bare_file, host=args.host, port=args.port, threads=args.threads, ident='',
                   max_request_body_size=MAX_BODY_BYTES * 4,
                   channel_timeout=60, connection_limit=1000)


if __name__ == '__main__':
    main()
