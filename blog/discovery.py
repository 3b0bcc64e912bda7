"""For search engines: /sitemap.xml and /robots.txt.

The sitemap lists the homepage, the authors list, every published post (with its
last change as <lastmod>), the page of every author with a published post and
every tag a published post carries; all URLs absolute, from config.site_url.
Up to CHUNK URLs it is one <urlset>. A bigger site gets a <sitemapindex> whose
parts are /sitemap.xml?part=<section>-<n> (sitemaps.org allows 50,000 URLs a
file; smaller parts keep each response quick and the memory of one request
small). Everything is cached until the next public write.
"""

import re

from bottle import HTTPError, response

from blog import forms
from blog.cache import cached
from blog.queries import readers
from blog.render import iso_datetime
from blog.site import current_site
from blog.urls import url

CHUNK = 10000
SECTIONS = ('pages', 'posts', 'authors', 'tags')
XML_TYPE = 'application/xml; charset=utf-8'
_PART = re.compile(r'^(pages|posts|authors|tags)-([1-9][0-9]{0,5})$')

# Path prefixes (whole areas), not single routes.
ROBOTS = """User-agent: *
Allow: /
Disallow: /admin
Disallow: /settings
Disallow: /login
Disallow: /register
Disallow: /posts/new

Sitemap: %s
"""


def _site_url():
    return current_site().config.site_url


def _counts():
    """How many URLs each section holds."""
    return {
        'pages': 2,
        'posts': readers.sitemap_posts().count(),
        'authors': readers.sitemap_authors().count(),
        'tags': readers.sitemap_tags().count(),
    }


def _urls(section, number):
    """(path, lastmod datetime or None) of part `number` (from 1) of `section`.

    Only posts carry <lastmod>: a list page's last change would cost a scan of
    every post row to find, and a guess would be worse than none.
    """
    offset = (number - 1) * CHUNK
    if section == 'pages':
        return [(url('home'), None), (url('authors'), None)]
    if section == 'posts':
        rows = readers.sitemap_posts().limit(CHUNK).offset(offset)
        # A scheduled post changes when it goes out, not only when edited.
        return [(url('post', post_id=post.id, slug=post.slug),
                 max(post.updated_at, post.published_at)) for post in rows]
    if section == 'authors':
        rows = readers.sitemap_authors().limit(CHUNK).offset(offset)
        return [(url('author', username=username), None) for (username,) in rows]
    rows = readers.sitemap_tags().limit(CHUNK).offset(offset)
    return [(url('tag', tag=tag), None) for (tag,) in rows]


def _render(template, **context):
    env = current_site().jinja
    return env.get_template(template).render(**context)


def _urlset(parts):
    site_url = _site_url()
    urls = [{'loc': site_url + path, 'lastmod': iso_datetime(lastmod)}
            for section, number in parts for path, lastmod in _urls(section, number)]
    return _render('discovery/sitemap.xml', urls=urls)


def _document(part):
    counts = _counts()
    if part is None:
        if sum(counts.values()) <= CHUNK:
            return _urlset([(section, 1) for section in SECTIONS])
        site_url = _site_url()
        latest = iso_datetime(readers.latest_published_update())
        sitemaps = [{'loc': site_url + url('sitemap', part='%s-%d' % (section, number)),
                     'lastmod': latest}
                    for section in SECTIONS
                    for number in range(1, (counts[section] + CHUNK - 1) // CHUNK + 1)]
        return _render('discovery/sitemap_index.xml', sitemaps=sitemaps)
    section, number = part
    if number > max(1, (counts[section] + CHUNK - 1) // CHUNK):
        return None
    return _urlset([part])


def sitemap():
    """GET /sitemap.xml (or ?part=<section>-<n> of a big site's index)."""
    raw = forms.query('part')
    part = None
    if raw:
        match = _PART.match(raw)
        if match is None:
            raise HTTPError(404, 'There is no such part of the sitemap.')
        part = (match.group(1), int(match.group(2)))
    body = cached(('sitemap', part, CHUNK), lambda: _document(part) or '')
    if not body:
        raise HTTPError(404, 'There is no such part of the sitemap.')
    response.content_type = XML_TYPE
    return body


def robots():
    """GET /robots.txt: crawl everything public; where the sitemap is."""
    response.content_type = 'text/plain; charset=utf-8'
    return ROBOTS % (_site_url() + url('sitemap'))


def install(app):
    """Add this module's routes to `app`."""
    app.route('/sitemap.xml', 'GET', sitemap, name='sitemap')
    app.route('/robots.txt', 'GET', robots, name='robots')
