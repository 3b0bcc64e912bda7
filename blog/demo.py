"""`python run.py demo`: fill a database with demo authors and posts, fast.

What it makes: N authors (varied names, bios, one shared password whose hash is
computed once and printed with the password) and M posts (varied titles, Markdown
bodies with headings, lists and code, 0-3 tags, `published_at` spread over five
years, about 2% drafts). Post ids follow publication order, like a real blog.

How it is fast (1,000,000 posts in well under two minutes on 2 cores):

- Bodies come from a few hundred templates; each is rendered with the app's own
  `render_markdown` once, so every `html` is the real output for its `body`.
- Rows go in through the driver's `executemany` in one transaction.
- The schema's per-row insert trigger (search index, tag rows, cache generation)
  is set aside for the posts' insert and its work done once in bulk, inside the
  same transaction (`bulk_posts()` of the database backend; on SQLite: the trigger
  dropped and re-created from the migration's own SQL, an FTS5 'rebuild', one
  INSERT ... SELECT into post_tag, one generation bump). No other connection ever
  sees the schema without its trigger.
"""

import json
import random
import time

from blog.db import backend, hash_password, write_transaction
from blog.markdown import render_markdown
from blog.queries import people
from blog.slugs import slugify

DEMO_PASSWORD = 'demo password 2024'  # noqa: S105 (demo data, printed)  # nosec B105
DRAFT_SHARE = 0.02
YEARS = 5
BODY_TEMPLATES = 256
USEC = 10 ** 6
USER_COLUMNS = ('username', 'password', 'display_name', 'bio', 'created_at', 'updated_at')
POST_COLUMNS = ('author_id', 'title', 'slug', 'body', 'html', 'status', 'tags', 'created_at',
                'updated_at', 'updated_by_id', 'published_at')

FIRST = ('Ada Alan Alice Amara Ana Anton Aria Ben Bea Carlos Chen Chloe Dana David Elena '
         'Emeka Emil Eva Farah Felix Grace Hana Hugo Ines Ivan Jade Jonas Kai Kenji Lara '
         'Leo Lina Luca Maya Mina Nadia Nils Noor Omar Oscar Priya Rafael Rosa Sami Sara '
         'Sofia Tariq Tess Theo Uma Vera Wei Yara Yusuf Zoe').split()
LAST = ('Abbott Adeyemi Alvarez Becker Bianchi Brooks Castro Chen Costa Dubois Eriksen '
        'Fischer Garcia Haddad Hansen Ito Jansen Kato Kowalski Lambert Larsen Lopez Meyer '
        'Moreau Nakamura Nguyen Novak Okafor Olsen Patel Petrov Quinn Rossi Sato Schmidt '
        'Silva Singh Tanaka Torres Varga Wagner Weber Yilmaz Zhang').split()
TOPICS = ('sqlite python bottle caching testing databases indexes performance gardening '
          'cooking bread coffee travel photography music cycling running books writing '
          'typography accessibility security privacy linux networking compilers rust '
          'history maps astronomy birds weather design teaching math chess woodworking '
          'sewing film').split()
ADJECTIVES = ('quiet small honest practical gentle stubborn curious slow fast simple '
              'hidden forgotten careful unexpected modest patient').split()
TITLES = (
    'Notes on {topic}', 'Why {topic} matters more than you think', 'A {adj} guide to {topic}',
    '{n} things I learned about {topic}', 'What {topic} taught me about {topic2}',
    'The {adj} art of {topic}', 'On {topic} and {topic2}', 'Getting started with {topic}',
    'A year of {topic}', '{Topic}, revisited', 'Against {adj} {topic}',
    'How I think about {topic} now', 'Field notes: {topic}', 'The case for {adj} {topic}',
    'Mistakes I made with {topic}', '{Topic} in {n} minutes a day',
)
SENTENCES = (
    'I kept putting this off, so here it is at last.',
    'Most of what follows came from getting it wrong first.',
    'The short version: measure before you change anything.',
    'It turned out to be simpler than the documentation suggests.',
    'A friend asked how I do this, and the answer grew into a post.',
    'None of this is new, but it was new to me.',
    'The details matter less than the habit.',
    'There is a trade-off here, and it is worth naming.',
    'I tried three approaches; the last one stuck.',
    'Your mileage will vary, and that is fine.',
    'Small steps, taken every day, add up faster than you expect.',
    'The interesting part is what happens at the edges.',
)
CODE = (
    ('python', 'def latest(posts):\n    return max(posts, key=lambda p: p.published_at)'),
    ('sql', 'SELECT author_id, MAX(published_at)\n  FROM post\n GROUP BY author_id;'),
    ('sh', 'python run.py demo --authors 100 --posts 10000'),
    ('text', 'step 1: measure\nstep 2: change one thing\nstep 3: measure again'),
)


def make_body(rng, topic):
    """A short Markdown body: a paragraph, a heading, a list, a code block."""
    lang, code = rng.choice(CODE)
    return '%s This one is about *%s*.\n\n## %s\n\n%s\n\n```%s\n%s\n```\n' % (
        rng.choice(SENTENCES), topic,
        rng.choice(('What I tried', 'The setup', 'Why it works', 'In practice')),
        '\n'.join('- ' + item for item in rng.sample(SENTENCES, 2)), lang, code)


def make_title(rng):
    """A varied title from the templates and word lists."""
    topic, topic2 = rng.sample(TOPICS, 2)
    return rng.choice(TITLES).format(topic=topic, Topic=topic.capitalize(), topic2=topic2,
                                     adj=rng.choice(ADJECTIVES), n=rng.randint(3, 12))


def _tag_sets(rng, count=600):
    """Precomputed JSON tag lists (0-3 distinct tags each)."""
    sets = []
    for _ in range(count):
        tags = sorted(rng.sample(TOPICS, rng.choice((0, 1, 1, 2, 2, 3))))
        sets.append(json.dumps(tags))
    return sets


def _author_rows(rng, first_number, count, password_hash, now_us):
    rows = []
    for number in range(first_number, first_number + count):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        topics = rng.sample(TOPICS, 2)
        bio = 'Writes about %s and %s.\nLives somewhere with good coffee.' % tuple(topics)
        created = now_us - rng.randint(YEARS * 365 * 86400 * USEC // 2, YEARS * 365 * 86400 * USEC)
        rows.append(('%s-%s-%d' % (first.lower(), last.lower(), number), password_hash,
                     '%s %s' % (first, last), bio, created, created))
    return rows


def _post_rows(rng, author_ids, count, bodies, tag_sets, now_us):
    """An iterator of post tuples in publication order (drafts by creation time).

    Each column is drawn in bulk; only the times are sorted, which gives ids in
    publication order without sorting whole rows.
    """
    span = YEARS * 365 * 86400 * USEC
    # Some authors write a lot, most a little (log-normal shares: at 100 posts an
    # author on average, the most prolific few have a few thousand).
    weights = [rng.lognormvariate(0, 1) for _ in author_ids]
    authors = rng.choices(author_ids, weights=weights, k=count)
    # Each distinct title is slugged once (as the editor would slug it).
    titles = rng.choices([(title, slugify(title))
                          for title in (make_title(rng) for _ in range(min(count, 50000)))],
                         k=count)
    texts = rng.choices(bodies, k=count)
    tags = rng.choices(tag_sets, k=count)
    random_ = rng.random
    times = sorted(now_us - int(random_() * span) for _ in range(count))
    lag = 3 * 86400 * USEC
    for author_id, (title, slug), (body, html), tag_json, when in zip(
            authors, titles, texts, tags, times, strict=True):
        created = when - int(random_() * lag)
        if random_() < DRAFT_SHARE:
            yield (author_id, title, slug, body, html, 'draft', tag_json, created, when,
                   author_id, None)
        else:
            yield (author_id, title, slug, body, html, 'published', tag_json, created, when,
                   author_id, when)


def _say(message, started):
    print('%-44s %6.1f s' % (message, time.monotonic() - started), flush=True)


def fill(authors, posts, seed=1, password=DEMO_PASSWORD):
    """Add `authors` demo users and `posts` posts to the active site's database.

    Returns (first new user id, first new post id). The password hash is made
    once, outside the transaction; everything else is one write transaction, in
    which the backend's `bulk_posts()` does the insert trigger's work in bulk.
    """
    rng = random.Random(seed)  # repeatable demo data  # nosec B311
    started = time.monotonic()
    password_hash = hash_password(password)
    now_us = int(time.time() * USEC)  # what TimestampField stores: epoch microseconds
    bodies = []
    for _ in range(BODY_TEMPLATES):
        body = make_body(rng, rng.choice(TOPICS))
        bodies.append((body, render_markdown(body)))
    tag_sets = _tag_sets(rng)
    _say('password hashed, %d bodies rendered' % len(bodies), started)

    store = backend()
    with write_transaction():
        first_user, first_post = store.next_ids()
        store.insert_many('user', USER_COLUMNS,
                          _author_rows(rng, first_user, authors, password_hash, now_us))
        author_ids = list(range(first_user, first_user + authors))
        _say('%d authors inserted' % authors, started)
        with store.bulk_posts(first_post):
            store.insert_many('post', POST_COLUMNS,
                              _post_rows(rng, author_ids, posts, bodies, tag_sets, now_us))
            _say('%d posts generated and inserted' % posts, started)
        _say('search index and tags rebuilt', started)
    _say('committed', started)
    return first_user, first_post


def first_username(user_id):
    """The username of user `user_id` (the example the demo command prints)."""
    return people.user_by_id(user_id).username
