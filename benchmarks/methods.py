"""Times every top-1 and top-N-per-group method of peewee's recipes
(GROUP BY/HAVING, MAX subquery, window functions) on demo databases of 10k, 100k and 1M posts
(100 posts an author on average), plus the two queries the app actually runs.

    python benchmarks/methods.py [--sizes 10000,100000,1000000] [--timeout 20]
                                 [--db-1m /tmp/blog-bench/blog.db]

Each query is run to completion (all rows fetched), best of `--repeat` runs; a
query still running after `--timeout` seconds is interrupted (SQLite progress
handler) and reported as "> timeout". Databases are built with `python run.py
demo` when missing and kept for the next run.
"""

import argparse
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

from peewee import JOIN, OperationalError, fn, sqlite3  # noqa: E402

from blog import authors as authors_view  # noqa: E402
from blog import home  # noqa: E402
from blog.config import Config  # noqa: E402
from blog.db import db  # noqa: E402
from blog.models import PUBLISHED, Post, User, utcnow  # noqa: E402
from blog.queries import listings as queries  # noqa: E402
from blog.site import Site  # noqa: E402

N = 3


def published(model=Post):
    return model.status == PUBLISHED


# --- top 1 per group: each author's latest published post ---

def top1_group_by_having():
    """The reference's shortcut as written: whole rows, over the post table."""
    return (Post
            .select(Post, User)
            .join(User, on=(Post.author == User.id))
            .where(published())
            .group_by(Post.author)
            .having(Post.published_at == fn.MAX(Post.published_at)))


def top1_group_by_having_covering():
    """The same shortcut selecting only indexed columns (covering index
    post_author_id), joined back to post and user for every author."""
    latest = (Post
              .select(Post.id.alias('post_id'), Post.author,
                      fn.MAX(Post.published_at).alias('latest'))
              .where(published())
              .group_by(Post.author)
              .having(Post.published_at == fn.MAX(Post.published_at))
              .alias('latest'))
    return (Post
            .select(Post, User)
            .join(latest, on=(Post.id == latest.c.post_id))
            .switch(Post)
            .join(User, on=(Post.author == User.id)))


def top1_app_homepage():
    """What the app runs for homepage page 1: the shortcut over a window of the
    newest published posts, tie-break by id, the page joined back (20 rows)."""
    return home.homepage_entries(1)[0]


def top1_app_without_window():
    """The app's page-1 query with the window switched off: the shortcut over the
    whole covering index post_author_id, then the page joined back."""
    return list(queries.homepage_posts(0, home.PER_PAGE + 1, utcnow(), None))


def top1_max_subquery():
    """The reference's first method: MAX() per author in a subquery, joined."""
    alias = Post.alias()
    subquery = (alias
                .select(alias.author, fn.MAX(alias.published_at).alias('max_ts'))
                .where(published(alias))
                .group_by(alias.author)
                .alias('post_max_subquery'))
    return (Post
            .select(Post, User)
            .join(User, on=(Post.author == User.id))
            .switch(Post)
            .join(subquery, on=((Post.author == subquery.c.author_id) &
                                (Post.published_at == subquery.c.max_ts)))
            .where(published()))


def _ranked(n):
    alias = Post.alias()
    subquery = (alias
                .select(alias.id, alias.title, User.username,
                        fn.RANK().over(partition_by=[alias.author],
                                       order_by=[alias.published_at.desc()]).alias('rnk'))
                .join(User, on=(alias.author == User.id))
                .where(published(alias))
                .alias('subq'))
    return (Post
            .select(subquery.c.id, subquery.c.title, subquery.c.username)
            .from_(subquery)
            .where(subquery.c.rnk <= n))


def _count(n):
    alias = Post.alias()
    subquery = (alias
                .select(fn.COUNT(alias.id))
                .where((alias.published_at >= Post.published_at) &
                       (alias.author == Post.author) &
                       published(alias)))
    return (Post
            .select(Post, User)
            .join(User, on=(Post.author == User.id))
            .where(published() & (subquery <= n)))


def _self_join(n):
    alias = Post.alias()
    return (Post
            .select(Post.id, Post.title, User.username)
            .join(User, on=(Post.author == User.id))
            .switch(Post)
            .join(alias, on=((alias.author == Post.author) &
                             (alias.published_at >= Post.published_at) &
                             published(alias)))
            .where(published())
            .group_by(Post.id, Post.title, User.username)
            .having(fn.COUNT(alias.id) <= n))


def _limit(n):
    alias = Post.alias()
    return (Post
            .select(Post, User)
            .join(User, on=(Post.author == User.id))
            .where(published() &
                   Post.id.in_(alias
                               .select(alias.id)
                               .where((alias.author == Post.author) & published(alias))
                               .order_by(alias.published_at.desc())
                               .limit(n))))


# --- top N per group ---

def topn_app_authors():
    """What the app runs for /authors page 1: 20 authors by name, then the
    window-function recipe over those authors' posts only."""
    return authors_view.authors_entries(1)[0]


def everyone_with_posts():
    """The users the top-N methods cover, for the row counts."""
    return (User
            .select(User.id)
            .join(Post, JOIN.INNER, on=(Post.author == User.id))
            .where(published())
            .distinct())


METHODS = [
    ('top 1', 'GROUP BY/HAVING shortcut, whole rows (reference)', top1_group_by_having),
    ('top 1', 'GROUP BY/HAVING on the covering index, joined back', top1_group_by_having_covering),
    ('top 1', 'MAX() subquery join (reference)', top1_max_subquery),
    ('top 1', 'window RANK() = 1', lambda: _ranked(1)),
    ('top 1', 'COUNT() correlated subquery <= 1', lambda: _count(1)),
    ('top 1', 'self-join, HAVING COUNT() <= 1', lambda: _self_join(1)),
    ('top 1', 'LIMIT 1 correlated subquery', lambda: _limit(1)),
    ('top 1', 'the app\'s page-1 query without its window (whole covering index)',
     top1_app_without_window),
    ('top 1', '**app: homepage page 1** (shortcut over a window of newest posts)',
     top1_app_homepage),
    ('top 3', 'window RANK() <= 3 (reference)', lambda: _ranked(N)),
    ('top 3', 'COUNT() correlated subquery <= 3', lambda: _count(N)),
    ('top 3', 'self-join, HAVING COUNT() <= 3', lambda: _self_join(N)),
    ('top 3', 'LIMIT 3 correlated subquery', lambda: _limit(N)),
    ('top 3', '**app: /authors page 1** (RANK() over the page\'s 20 authors)',
     topn_app_authors),
]


class Deadline:
    """Interrupts the running statement when its time is up."""

    def __init__(self, seconds):
        self.seconds, self.until = seconds, float('inf')

    def __call__(self):
        return 1 if time.monotonic() > self.until else 0

    def start(self):
        self.until = time.monotonic() + self.seconds


def run(make, repeat, deadline):
    """(best seconds, rows) or (None, None) when interrupted."""
    best, rows = None, None
    for _ in range(repeat):
        deadline.start()
        started = time.perf_counter()
        try:
            rows = len(list(make()))
        except (OperationalError, sqlite3.OperationalError) as exc:
            if 'interrupt' not in str(exc):
                raise
            return None, None
        finally:
            deadline.until = float('inf')
        elapsed = time.perf_counter() - started
        best = elapsed if best is None else min(best, elapsed)
    return best, rows


def build(path, posts):
    if os.path.exists(path):
        return
    os.makedirs(os.path.dirname(path), exist_ok=True)
    print('building %s (%d posts)' % (path, posts), file=sys.stderr, flush=True)
    subprocess.run([sys.executable, 'run.py', 'demo', '--db', path, '--authors',
                    str(max(posts // 100, 1)), '--posts', str(posts)], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL)


def label(size):
    return '%dk' % (size // 1000) if size < 10 ** 6 else '%dM' % (size // 10 ** 6)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--sizes', default='10000,100000,1000000')
    parser.add_argument('--dir', default='/tmp/blog-bench')
    parser.add_argument('--db-1m', default='', help='an existing 1M-post demo database')
    parser.add_argument('--timeout', type=float, default=20.0)
    parser.add_argument('--repeat', type=int, default=3)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(',')]
    results = {}
    for size in sizes:
        path = (args.db_1m if size == 10 ** 6 and args.db_1m
                else os.path.join(args.dir, 'methods-%s.db' % label(size)))
        build(path, size)
        site = Site(Config(db_path=path))
        site.migrate()
        deadline = Deadline(args.timeout)
        with site.activated(), db.connection_context():
            db.connection().set_progress_handler(deadline, 10000)
            authors = everyone_with_posts().count()
            print('%s posts: %d authors with published posts' % (label(size), authors),
                  file=sys.stderr, flush=True)
            for group, name, make in METHODS:
                seconds, rows = run(make, args.repeat if size < 10 ** 6 else 1, deadline)
                results[(name, size)] = (seconds, rows)
                print('  %-5s %-70s %s' % (group, name, 'timeout' if seconds is None
                                           else '%.1f ms, %d rows' % (seconds * 1000, rows)),
                      file=sys.stderr, flush=True)
    print('| per group | method | %s |' % ' | '.join(label(s) + ' posts' for s in sizes))
    print('|---|---|%s' % ('---:|' * len(sizes)))
    for group, name, _ in METHODS:
        cells = []
        for size in sizes:
            seconds, rows = results[(name, size)]
            cells.append('> %.0f s' % args.timeout if seconds is None
                         else '%.0f ms (%d rows)' % (seconds * 1000, rows) if seconds < 1
                         else '%.1f s (%d rows)' % (seconds, rows))
        print('| %s | %s | %s |' % (group, name, ' | '.join(cells)))


if __name__ == '__main__':
    main()
