"""Atom 1.0 feeds: /feed.atom (everyone), /authors/<username>/feed.atom and
/tags/<tag>/feed.atom; the latest 20 published posts, drafts never.

Rendered from the Jinja2 template feeds/atom.xml (autoescape is on for .xml), with
every text stripped of the characters XML 1.0 forbids, so any title makes a valid
document. Absolute links come only from config.site_url. Entry ids are tag: URIs
(RFC 4151) built from the site's host, the post's first publication date and its
path, so they never change when a post is edited. Each feed is cached per URL
until the next public write, and answers If-None-Match with 304 (readers poll
cheaply; the app's default `Cache-Control: no-cache, private` makes them ask).
An entry's content is bounded: a post whose HTML is over ENTRY_HTML_MAX characters
gets its plain-text excerpt and a link to the whole post instead, so one huge post
is not repeated in full to every reader polling every feed it is in.
"""

import hashlib
import html
import re
from urllib.parse import urlsplit

from bottle import HTTPError, HTTPResponse, request, response

from blog import image_html, site_settings
from blog.cache import cached, keep_whole
from blog.markdown import plain_excerpt
from blog.models import utcnow
from blog.queries import people, readers
from blog.render import iso_datetime
from blog.responses import redirect_permanently
from blog.site import current_site
from blog.tagging import resolve_tag
from blog.urls import absolute_url, url

FEED_SIZE = 20
CONTENT_TYPE = 'application/atom+xml; charset=utf-8'
ENTRY_HTML_MAX = 20_000  # characters of a post's HTML sent whole in a feed entry
SUMMARY_CHARS = 600  # the excerpt that stands in for a longer post

# Everything outside XML 1.0's Char production.
_NOT_XML = re.compile('[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]')


def xml_text(value):
    """`value` as text that can go in an XML document."""
    return _NOT_XML.sub('', value or '')


def _config():
    return current_site().config


def entry_id(site_url, post):
    """A tag: URI for `post`, e.g. tag:example.com,2026-01-31:/posts/7: the bare
    address, so an entry keeps its id whatever its slug becomes."""
    parts = urlsplit(site_url)
    day = (post.published_at or post.created_at).strftime('%Y-%m-%d')
    return 'tag:%s,%s:%s%s' % (parts.hostname or 'localhost', day, parts.path.rstrip('/'),
                               url('post_bare', post_id=post.id))


def entry_html(post, post_url):
    """The entry's HTML: the post's whole (sanitised) HTML up to ENTRY_HTML_MAX
    characters; past that, its excerpt as escaped text and a link to read it all."""
    if len(post.html or '') <= ENTRY_HTML_MAX:
        return xml_text(image_html.absolute(post.html, _config().site_url))
    # plain_excerpt reads only the start of the HTML and returns plain text, which
    # escaping makes valid markup whatever tag the cut fell inside.
    summary = html.escape(xml_text(plain_excerpt(post.html, SUMMARY_CHARS)))
    link = '<p><a href="%s">Read the whole post</a></p>' % html.escape(post_url)
    return ('<p>%s</p>' % summary if summary else '') + link


def _entry(site_url, post):
    author = post.author
    post_url = absolute_url('post', post_id=post.id, slug=post.slug)
    return {
        'id': entry_id(site_url, post),
        'title': xml_text(post.title),
        'url': post_url,
        'published': iso_datetime(post.published_at),
        'updated': iso_datetime(max(post.updated_at, post.published_at)),
        'author_name': xml_text(author.name),
        'author_url': absolute_url('author', username=author.username),
        'tags': [xml_text(tag) for tag in post.tags],
        'html': entry_html(post, post_url),
        'image': image_html.page_image(post.html, site_url),
    }


def build_feed(title, feed_path, page_path, query):
    """The Atom document (text) for the newest FEED_SIZE posts of `query`; the feed
    is at `feed_path`, the page it follows at `page_path`."""
    config, settings = _config(), site_settings.current()
    site_url = config.site_url
    posts = list(query.limit(FEED_SIZE))
    entries = [_entry(site_url, post) for post in posts]
    if posts:
        updated = max(max(p.updated_at, p.published_at) for p in posts)
    else:
        updated = utcnow()
    template = current_site().jinja.get_template('feeds/atom.xml')
    return template.render(
        feed_id=site_url + feed_path,
        title=xml_text(title),
        site_name=xml_text(settings.site_name),
        subtitle=xml_text(settings.site_description),
        self_url=site_url + feed_path,
        page_url=site_url + page_path,
        updated=iso_datetime(updated),
        tag_scheme=absolute_url('tag', tag=''),
        entries=entries,
    )


def _with_etag(body):
    return body, '"%s"' % hashlib.sha256(body.encode('utf-8')).hexdigest()[:32]


def _answer(path, producer):
    """Serve the cached feed for `path`, with an ETag and 304 on a match."""
    body, etag = cached(('feed', path), lambda: _with_etag(producer()))
    response.set_header('ETag', etag)
    if etag in [tag.strip() for tag in request.headers.get('If-None-Match', '').split(',')]:
        res = response.copy(cls=HTTPResponse)
        res.status = 304
        res.body = ''
        raise res
    response.content_type = CONTENT_TYPE
    keep_whole(everyone=True)  # the same document for every reader, signed in or not
    return body


def site_feed():
    """GET /feed.atom: the latest published posts of every author."""
    name = site_settings.current().site_name
    path = url('feed')
    return _answer(path, lambda: build_feed(
        '%s: latest posts' % name, path, url('home'), readers.published_posts()))


def author_feed(username):
    """GET /authors/<username>/feed.atom: one author's latest published posts."""
    user = people.user_named(username)
    if user is None:
        wanted = username.strip().lower()
        if wanted != username and people.username_taken(wanted):
            redirect_permanently(url('author_feed', username=wanted))
        raise HTTPError(404, 'There is no author called “%s”.' % username)
    path = url('author_feed', username=user.username)
    return _answer(path, lambda: build_feed(
        '%s: posts by %s' % (site_settings.current().site_name, user.name), path,
        url('author', username=user.username), readers.author_published_posts(user)))


def tag_feed(tag):
    """GET /tags/<tag>/feed.atom: the latest published posts with a tag."""
    tag = resolve_tag(tag, 'tag_feed')
    path = url('tag_feed', tag=tag)
    return _answer(path, lambda: build_feed(
        '%s: posts tagged %s' % (site_settings.current().site_name, tag), path, url('tag', tag=tag),
        readers.tag_published_posts(tag, FEED_SIZE)))


def install(app):
    """Add this module's routes to `app`."""
    app.route('/feed.atom', 'GET', site_feed, name='feed')
    app.route('/authors/<username>/feed.atom', 'GET', author_feed, name='author_feed')
    app.route('/tags/<tag>/feed.atom', 'GET', tag_feed, name='tag_feed')
