"""Full-text search of published posts: GET /search?q=.

The index belongs to the database backend (on SQLite the FTS5 table `post_search`,
`blog.sqlite.PostSearch`), kept in step with `post` by triggers in the same
transaction as every write; it holds drafts too, so the query keeps published rows
only. What a reader types goes through the backend's `search_expression()`, which
turns search-box syntax (quotes, -word, OR, parentheses, stray punctuation) into a
valid expression, bounded in terms and prefix terms (MAX_TERMS, MAX_PREFIXES,
MIN_PREFIX); results are ranked among the newest CANDIDATES matches only, so a
common word costs what a rare one does. A page of results is kept until the next
public write (or the next scheduled post's moment) in a cache of its own, bounded in
entries and bytes: a search many readers make is run once. An OperationalError is
still caught as a last resort and answered with a friendly page.

Highlighting: the backend's highlight and snippet wrap matches in two private-use
characters; the text is escaped first and only then are balanced marker pairs
turned into <mark>, so a post can never put its own markup on this page.
"""

import re

from bottle import HTTPError
from markupsafe import Markup, escape
from peewee import OperationalError

from blog import forms
from blog.cache import cached
from blog.models import person_name
from blog.queries import readers
from blog.render import render
from blog.site import current_site

# Ten a page, as most search pages show: each result costs a snippet (SQLite reads and
# tokenises the whole body for it) and its share of the page, so 20 made a search no
# cache has seen a third dearer.
PER_PAGE = 10
MAX_QUERY = 200  # characters; the search box has the same maxlength
MAX_PAGE = 100  # past the candidates anyway; deeper pages would rank ever more rows
# Bounds on one search's work (issue 13): each term reads a doclist, each prefix term
# merges every doclist it expands to, so both are capped; results come from the
# newest CANDIDATES matches only, so a common word costs what a rare one does.
MAX_TERMS = 8
MAX_PREFIXES = 2
MIN_PREFIX = 3  # characters before the *
# 500, not 1,000: the candidates' rows and the ranking's two column matches over
# their range are most of a search no cache has seen, and 25 pages are plenty.
CANDIDATES = 500
# Recent searches' pages, kept until the next public write in a cache of their own
# (what readers type can only push out other searches, never the site's pages).
CACHED_SEARCHES = 500
CACHED_BYTES = 8 * 1024 * 1024

OPEN, CLOSE = readers.SEARCH_MARK_OPEN, readers.SEARCH_MARK_CLOSE
_MARKERS = re.compile('([%s%s])' % (OPEN, CLOSE))
# C0 controls (but tab, newline, CR) and DEL are invalid in HTML text.
_CONTROLS = re.compile('[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]')


def mark_up(text):
    """Escape `text` and turn its highlight markers into balanced <mark> elements.

    Markers a post itself contains (it could hold the private-use characters) are
    paired the same way, so the worst they can do is highlight a few words.
    """
    text = _CONTROLS.sub('', text or '')
    markers = _MARKERS.findall(text)
    if markers == [OPEN, CLOSE] * (len(markers) // 2):
        # Balanced, as highlight() and snippet() make them: escape it all at once
        # (escaping leaves the private-use markers alone), then swap them.
        marked = str(escape(text)).replace(OPEN, '<mark>').replace(CLOSE, '</mark>')
        return Markup(marked)  # noqa: S704 (escaped above)  # nosec B704
    parts = []
    inside = False
    for piece in _MARKERS.split(text):
        if piece == OPEN:
            if not inside:
                parts.append('<mark>')
                inside = True
        elif piece == CLOSE:
            if inside:
                parts.append('</mark>')
                inside = False
        else:
            parts.append(str(escape(piece)))
    if inside:
        parts.append('</mark>')
    return Markup(''.join(parts))  # noqa: S704 (all escaped above)  # nosec B704


def _page_ids(match, page):
    """Ids of the published posts on `page` (plus one, to know of a next page), and
    whether the candidate bound cut the matches short.

    Only the newest CANDIDATES matches are ranked (drafts among them dropped), so
    the pages end there however common the word is; nothing counts every match.
    """
    ranked, more = readers.search_ranked(match, CANDIDATES, (page - 1) * PER_PAGE,
                                         PER_PAGE + 1)
    return [post_id for post_id, _ in ranked], more


def _results(match, page):
    """One page of results as dicts, whether a next page exists, and whether the
    matches went on past the candidate bound."""
    ids, more = _page_ids(match, page)
    rows = {row['id']: row for row in readers.search_results(match, ids[:PER_PAGE])}
    results = [{
        'id': row['id'],
        'slug': row['slug'],
        'title': mark_up(row['title_marked']),
        'snippet': mark_up(row['snippet']),
        'published_at': row['published_at'],
        'username': row['username'],
        'author_name': person_name(row['display_name'], row['username']),
    } for row in (rows.get(post_id) for post_id in ids[:PER_PAGE]) if row is not None]
    return results, len(ids) > PER_PAGE, more


def bound_expression(q):
    """The backend expression for `q` within the term and prefix bounds, and a note
    for the reader on what was left out (None when nothing was)."""
    match, dropped, unstarred = readers.search_expression(q, MAX_TERMS, MAX_PREFIXES,
                                                          MIN_PREFIX)
    notes = []
    if dropped:
        notes.append('only the first %d words were searched for' % MAX_TERMS)
    if unstarred:
        notes.append('a * finds word beginnings only after %d or more letters, '
                     'in at most %d words' % (MIN_PREFIX, MAX_PREFIXES))
    if not notes:
        return match, None
    note = '; '.join(notes)
    return match, note[0].upper() + note[1:] + '.'


def search():
    """GET /search?q=...&page=N: ranked, highlighted, paginated results."""
    q = forms.query('q').strip()
    page = forms.page_number()
    if page > MAX_PAGE:
        raise HTTPError(404, 'There is no such page of results. Results stop at page %d; '
                             'add words to narrow the search.' % MAX_PAGE)
    context = {'q': q, 'page': page, 'results': [], 'has_next': False,
               'error': None, 'searched': False, 'note': None, 'more': False,
               'candidates': f'{CANDIDATES:,}'}
    if not q:
        return render('search/index.html', **context)
    if len(q) > MAX_QUERY:
        context['error'] = ('That search is %d characters long; please use at most %d.'
                            % (len(q), MAX_QUERY))
        return render('search/index.html', status=422, **context)

    match, context['note'] = bound_expression(q)
    context['searched'] = True
    if match == '""':  # nothing searchable in it (only punctuation, say)
        context['error'] = 'Type one or more words to search for.'
        return render('search/index.html', **context)
    try:
        context['results'], context['has_next'], context['more'] = cached(
            ('search', match, page, CANDIDATES), lambda: _results(match, page),
            store=current_site().search_cache)
    except OperationalError:
        # web_query() should make this impossible; never let a query be a 500.
        context['error'] = ("We couldn't understand that search. "
                            'Try plain words, "a phrase" or -word to leave one out.')
        context['searched'] = False
    return render('search/index.html', **context)


def install(app):
    """Add this module's routes to `app`."""
    app.route('/search', 'GET', search, name='search')
