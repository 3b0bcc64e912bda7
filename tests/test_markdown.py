"""Markdown rendering: what survives (formatting) and what never does (script)."""

import re
import sys
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
from markupsafe import escape as html_escape
from webtest import TestApp

from blog import markdown
from blog.db import db
from blog.markdown import (
    ALLOWED_ATTRIBUTES,
    ALLOWED_TAGS,
    RenderError,
    plain_excerpt,
    render_markdown,
    render_markdown_bounded,
)
from blog.models import Post, User
from tests.conftest import LONG_BODY, post_path, save_as

# The one script a page of the site may carry: its own file (static/editor.js, on
# editor pages and after a save), never anything that came from what was typed.
OWN_SCRIPT = ('script', {'src': '/static/editor.js', 'defer': None})


class Elements(HTMLParser):
    """Every start tag with its attributes, as a browser's tokenizer sees them (but
    the site's own script)."""

    def __init__(self, html):
        super().__init__(convert_charrefs=True)
        self.found = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        if (tag, dict(attrs)) != OWN_SCRIPT:
            self.found.append((tag, dict(attrs)))

    handle_startendtag = handle_starttag


def url_is_safe(url):
    """http(s), mailto, or a relative URL; nothing a browser would run."""
    cleaned = re.sub(r'[\x00-\x20]', '', url or '').lower()
    scheme = urlsplit(cleaned).scheme
    return scheme in ('', 'http', 'https', 'mailto') and not cleaned.startswith(
        ('javascript', 'vbscript', 'data'))


def assert_harmless(html):
    for tag, attrs in Elements(html).found:
        assert tag in ALLOWED_TAGS, (tag, html)
        for name, value in attrs.items():
            assert not name.startswith('on'), (name, html)
            assert name in ALLOWED_ATTRIBUTES.get(tag, set()) | {'rel'}, (tag, name, html)
            if name in ('href', 'src'):
                assert url_is_safe(value), (value, html)
            if name == 'class':
                assert re.match(r'^language-[\w+#.-]+$', value), (value, html)


HOSTILE = [
    '<script>alert(1)</script>',
    '<SCRIPT SRC=https://evil.example/x.js></SCRIPT>',
    '<img src=x onerror=alert(1)>',
    '<svg onload=alert(1)>',
    '<iframe src="javascript:alert(1)"></iframe>',
    '<a href="javascript:alert(1)">raw</a>',
    '<div style="background:url(javascript:alert(1))">x</div>',
    '<style>body{display:none}</style>',
    '<form action="https://evil.example"><input name=x></form>',
    '<object data="data:text/html,<script>alert(1)</script>"></object>',
    '<!-- <script>alert(1)</script> -->',
    '[click](javascript:alert(1))',
    '[click](JAVASCRIPT:alert(1))',
    '[click](  javascript:alert(1)  )',
    '[click](java\tscript:alert(1))',
    '[click](&#106;avascript:alert(1))',
    '[click](&#x6A;avascript&#x3A;alert(1))',
    '[click](javascript&colon;alert(1))',
    '[click](jav&#x09;ascript:alert(1))',
    '[click](vbscript:msgbox(1))',
    '[click](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)',
    '[click](file:///etc/passwd)',
    '[click][ref]\n\n[ref]: javascript:alert(1)',
    '<javascript:alert(1)>',
    '<vbscript:alert(1)>',
    '![img](javascript:alert(1))',
    '![img](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+)',
    '![img](data:image/png;base64,iVBORw0KGgo=)',
    '![x" onerror="alert(1)](https://example.com/a.png)',
    '[x](https://example.com/" onmouseover="alert(1))',
    '[x](https://example.com "title\\" onmouseover=\\"alert(1)")',
    '```"><script>alert(1)</script>\ncode\n```',
    '``` onclick=alert(1)\ncode\n```',
    '`<script>alert(1)</script>`',
    '&lt;script&gt;alert(1)&lt;/script&gt;',
    '&#60;script&#62;alert(1)&#60;/script&#62;',
    '<scr<script>ipt>alert(1)</script>',
    '| a |\n|---|\n| <img src=x onerror=alert(1)> |',
    '> <iframe srcdoc="<script>alert(1)</script>">',
    '- [x](javascript:alert(1))\n- <b onclick=alert(1)>b</b>',
    '<a href="https://ok.example" onclick="alert(1)">x</a>',
    '\x00<script>alert(1)</script>',
    '<math><mi xlink:href="javascript:alert(1)">x</mi></math>',
]


@pytest.mark.parametrize('source', HOSTILE)
def test_hostile_markdown_is_harmless(source):
    html = render_markdown(source)
    assert_harmless(html)
    lowered = html.lower()
    # Text may mention anything (it is escaped); no element or attribute may.
    for tag in ('<script', '<iframe', '<svg', '<style', '<object', '<form', '<math', '<div'):
        assert tag not in lowered


@pytest.mark.parametrize('source, expected', [
    ('# One\n\n## Two\n\n###### Six', '<h2>One</h2>\n<h3>Two</h3>\n<h6>Six</h6>\n'),
    ('- a\n- b', '<ul>\n<li>a</li>\n<li>b</li>\n</ul>\n'),
    ('3. c\n4. d', '<ol start="3">\n<li>c</li>\n<li>d</li>\n</ol>\n'),
    ('```python\nprint("<hi>")\n```',
     '<pre><code class="language-python">print("&lt;hi&gt;")\n</code></pre>\n'),
    ('    indented', '<pre><code>indented\n</code></pre>\n'),
    ('> quoted', '<blockquote>\n<p>quoted</p>\n</blockquote>\n'),
    ('[a link](https://example.com/x?y=1&z=2 "Title")',
     '<p><a href="https://example.com/x?y=1&amp;z=2" title="Title" '
     'rel="nofollow noopener noreferrer">a link</a></p>\n'),
    ('[relative](/posts/1)', '<p><a href="/posts/1" rel="nofollow noopener noreferrer">'
                             'relative</a></p>\n'),
    ('<https://example.com>', '<p><a href="https://example.com" '
                              'rel="nofollow noopener noreferrer">https://example.com</a></p>\n'),
    ('[mail](mailto:a@example.com)', '<p><a href="mailto:a@example.com" '
                                     'rel="nofollow noopener noreferrer">mail</a></p>\n'),
    ('![alt text](https://example.com/i.png "T")',
     '<p><img src="https://example.com/i.png" alt="alt text" title="T"></p>\n'),
    ('| h1 | h2 |\n|:--|--:|\n| a | b |',
     '<table>\n<thead>\n<tr>\n<th>h1</th>\n<th>h2</th>\n</tr>\n</thead>\n<tbody>\n'
     '<tr>\n<td>a</td>\n<td>b</td>\n</tr>\n</tbody>\n</table>\n'),
    ('*em* **strong** ~~gone~~ `code`',
     '<p><em>em</em> <strong>strong</strong> <s>gone</s> <code>code</code></p>\n'),
    ('a  \nb', '<p>a<br>\nb</p>\n'),
    ('---', '<hr>\n'),
    ('<b>raw</b> & stuff', '<p>&lt;b&gt;raw&lt;/b&gt; &amp; stuff</p>\n'),
])
def test_formatting_survives(source, expected):
    html = render_markdown(source)
    assert html == expected
    assert_harmless(html)


def test_empty_and_none():
    assert render_markdown('') == '' and render_markdown(None) == ''


@pytest.mark.parametrize('source', [
    '>' * 10000, '[' * 10000, '*a' * 5000, '- ' * 5000, '`' * 10000, '<' * 10000,
    '![[' * 3000, '&#' * 5000, '\\' * 10000, '1. ' * 5000, '|' * 10000,
    '\u202e\u0000\ufeff\U0001F600' * 100,
])
def test_pathological_input_renders(source):
    assert_harmless(render_markdown(source))


# --- every body renders in a child process, with limits ------------------------

def test_long_bodies_render_in_a_child_the_same_as_here():
    body = 'Some *prose*, a [link](https://example.org) & <b>raw</b>.\n\n' * 500
    assert len(body) > markdown.INLINE_CHARS
    assert render_markdown_bounded(body) == render_markdown(body)


def test_short_bodies_render_in_a_child_that_stays(monkeypatch):
    started = []
    real_worker = markdown._Worker

    def counted():
        started.append(1)
        return real_worker()
    markdown.stop_workers()
    monkeypatch.setattr(markdown, '_Worker', counted)
    for n in range(5):
        body = 'Some *prose* %d.' % n
        assert render_markdown_bounded(body) == render_markdown(body)
    assert started == [1]  # one child, started on first use, answered all five
    markdown.stop_workers()


def test_a_short_body_is_bounded_too(spinning_renderer):
    # The same CPU limit as a long body: a short one no longer renders unbounded here.
    with pytest.raises(RenderError, match='takes too long'):
        render_markdown_bounded('*short*', cpu_seconds=1)
    assert spinning_renderer.limits()['chars'] == len('*short*')


def test_a_body_too_slow_to_render_is_refused(spinning_renderer):
    with pytest.raises(RenderError, match='takes too long'):
        render_markdown_bounded(LONG_BODY, cpu_seconds=1)
    # The child got the body and the limit: 1 s from what it had used (its whole life
    # counts, as it renders one body after another).
    limits = spinning_renderer.limits()
    assert limits['chars'] == len(LONG_BODY)
    assert 0.9 < limits['cpu'][0] - limits['spent'] <= 2


def test_a_worker_over_budget_is_replaced(spinning_renderer, monkeypatch):
    for _ in range(2):  # the first child was killed: the second save gets a new one
        with pytest.raises(RenderError, match='takes too long'):
            render_markdown_bounded('*short*', cpu_seconds=1)
    assert markdown._idle == []
    monkeypatch.setattr(markdown, 'PYTHON', sys.executable)
    assert render_markdown_bounded('*short*') == '<p><em>short</em></p>\n'
    markdown.stop_workers()


def test_a_body_too_big_to_render_is_refused(monkeypatch):
    # A long list: about 360 MB for markdown-it-py; the child here may use 200 MB.
    monkeypatch.setattr(markdown, 'CHILD_MEMORY', 200 * 1024 ** 2)
    with pytest.raises(RenderError, match='too much memory'):
        render_markdown_bounded('- a\n' * 150_000, cpu_seconds=60)
    markdown.stop_workers()


def test_a_refused_render_leaves_no_core_dump(spinning_renderer):
    import os
    import resource
    dump = os.path.join(markdown.ROOT, 'core')  # kernel.core_pattern is 'core' here
    if os.path.exists(dump):
        os.remove(dump)
    soft, hard = resource.getrlimit(resource.RLIMIT_CORE)
    resource.setrlimit(resource.RLIMIT_CORE, (hard, hard))  # dumps allowed, if the
    try:                                                      # child did not forbid them
        with pytest.raises(RenderError, match='takes too long'):
            render_markdown_bounded(LONG_BODY, cpu_seconds=1)
    finally:
        resource.setrlimit(resource.RLIMIT_CORE, (soft, hard))
    assert not os.path.exists(dump)
    # Where core_pattern sends dumps elsewhere (a pipe), the file proves nothing: the
    # child's own limit does, wherever dumps would go.
    assert spinning_renderer.limits()['core'] == [0, 0]


def test_no_more_than_the_slots_render_at_once(monkeypatch):
    import threading
    monkeypatch.setattr(markdown, '_slots', threading.BoundedSemaphore(1))
    monkeypatch.setattr(markdown, 'SHORT_WAIT_SECONDS', 0.01)
    markdown._slots.acquire()  # another long save is rendering
    try:
        with pytest.raises(RenderError, match='Save again in a moment'):
            render_markdown_bounded('x' * (markdown.INLINE_CHARS + 1))
        with pytest.raises(RenderError, match='Save again in a moment'):
            render_markdown_bounded('short')
    finally:
        markdown._slots.release()
    assert render_markdown_bounded('x' * (markdown.INLINE_CHARS + 1)).startswith('<p>x')


@pytest.mark.parametrize('python', ['/bin/false', '/nonexistent/python'])
def test_a_renderer_that_fails_or_cannot_start_is_a_render_error(monkeypatch, python):
    monkeypatch.setattr(markdown, 'PYTHON', python)
    with pytest.raises(RenderError, match='could not be turned into HTML'):
        render_markdown_bounded('x' * 10)
    assert markdown._idle == []


# --- tables and output size ---------------------------------------------------

def table(columns, rows):
    """A header of `columns` one-letter cells, then `rows` rows of one cell each:
    markdown-it-py pads every row to the header's width."""
    return 'a|' * columns + '\n' + '-|' * columns + '\n' + 'a\n' * rows + '\n'


# 13 such tables (18,889 characters) took 22 s, 1.1 GB and made 8.6 MB of HTML.
WIDE_TABLES = table(181, 363) * 13


def test_a_wide_table_is_refused_however_short_the_body():
    assert len(table(65, 1)) < 300
    with pytest.raises(RenderError, match='has 65 columns; at most 64'):
        render_markdown_bounded(table(65, 1))
    with pytest.raises(RenderError, match='has 181 columns'):
        render_markdown_bounded(WIDE_TABLES)
    assert '<th>' in render_markdown_bounded(table(64, 3))


def test_tables_are_bounded_in_cells_in_all(monkeypatch):
    monkeypatch.setattr(markdown, 'HTML_MAX', 10 ** 9)  # only the cell count applies
    monkeypatch.setattr(markdown, 'HTML_FACTOR', 10 ** 6)
    # 50 columns x 1,000 rows: under 2,500 characters, 50,050 cells.
    with pytest.raises(RenderError, match='over 50000 cells'):
        render_markdown_bounded(table(50, 1000))
    assert render_markdown_bounded(table(50, 990)).count('<td>') == 50 * 990


def test_the_html_is_bounded_by_the_body_length():
    assert markdown.html_limit(100) == 11_000
    assert markdown.html_limit(600_000) == markdown.HTML_MAX
    # 40 columns x 200 rows: 563 characters padded into 8,000 cells (82,902 characters).
    with pytest.raises(RenderError, match=r'characters of HTML, over the limit of 15630'):
        render_markdown_bounded(table(40, 200))


def test_the_html_is_bounded_after_sanitizing(monkeypatch):
    # Bare links: nh3 adds rel="nofollow noopener noreferrer" to each, so the HTML
    # grows past the limit only after sanitizing.
    body = '[](a)' * 2000
    monkeypatch.setattr(markdown, 'HTML_MAX', len(_raw_html(body)) + 10)
    with pytest.raises(RenderError, match='characters of HTML'):
        render_markdown_bounded(body)


def _raw_html(source):
    return markdown._render_tokens(markdown._md.parse(source))


def test_render_markdown_itself_stays_unbounded():
    # blog.zipformat's import renders with it: refusing there would be a traceback.
    assert render_markdown(table(65, 1)).count('<th>') == 65


@pytest.mark.parametrize('html, limit, expected', [
    ('<p>Short &amp; <em>sweet</em>.</p>', 160, 'Short & sweet.'),
    ('<h2>T</h2>\n<p>one two three four</p>', 12, 'one two…'),
    ('<p>' + 'x' * 50 + '</p>', 10, 'x' * 10 + '…'),
    ('<p>a, b, c, d</p>', 5, 'a, b…'),
    ('', 160, ''),
    (None, 160, ''),
])
def test_plain_excerpt(html, limit, expected):
    assert plain_excerpt(html, limit) == expected


@pytest.mark.parametrize('html, text', [
    # Headings would run into the sentence after them; they go unless alone.
    ('<h2>Title</h2><p>One <em>two</em> &amp; three.</p>', 'One two & three.'),
    ('<h2>Only a heading</h2>', 'Only a heading'),
    ('<p>intro</p><h3>Part <em>one</em></h3><p>body</p>', 'intro body'),
    ('<p>About <em>cats</em>. <a href="/x">Link</a>, <code>x</code>!</p><ul><li>a</li><li>b'
     '</li></ul>', 'About cats. Link, x! a b'),
    ('<p>before</p><pre><code>x = 1\n</code></pre><p>after</p>', 'before after'),
    # The queries hand over only the start of the HTML: whatever was cut goes.
    ('<p>cut in a code block</p><pre><code>never closed', 'cut in a code block'),
    ('<p>cut in a heading</p><h2>never closed', 'cut in a heading'),
    ('<p>cut in an entity &am', 'cut in an entity'),
    ('<p>cut in a tag</p><a hr', 'cut in a tag'),
    ('<p>' + '!' * 300 + '</p>', '!' * 200 + '…'),  # not just '…'
])
def test_plain_excerpt_of_post_html(html, text):
    assert plain_excerpt(html) == text


def test_plain_excerpt_is_cut_at_a_word():
    assert plain_excerpt('<p>%s</p>' % ' '.join(['word'] * 100), 22) == 'word word word word…'


# --- through the post page ----------------------------------------------------

HOSTILE_TITLES = [
    '<script>alert(1)</script>',
    '"><img src=x onerror=alert(1)>',
    "' onmouseover='alert(1)",
    '</title><script>alert(1)</script>',
    '{{ 7*7 }} {% raw %}',
    '&lt;b&gt; &amp;',
]


@pytest.fixture
def alice(client_for, make_user):
    make_user('alice')
    return client_for('alice')


@pytest.mark.parametrize('title', HOSTILE_TITLES)
def test_hostile_title_is_plain_text_everywhere(app, alice, title):
    form = alice.get('/posts/new').forms['post-form']
    form['title'], form['body'] = title, 'body'
    response = save_as(form, 'published', status=303)
    post_id = int(re.match(r'/posts/(\d+)', response.location).group(1))
    with db.connection_context():
        assert Post.get_by_id(post_id).title == title  # stored as typed
    stale = alice.get('/posts/%d/edit' % post_id).forms['post-form']
    form = alice.get('/posts/%d/edit' % post_id).forms['post-form']
    form['body'] = 'second'
    form.submit(status=303)
    stale['body'] = 'third'
    pages = [alice.get(post_path(post_id)), alice.get('/posts/%d/edit' % post_id),
             alice.get('/posts/%d/history' % post_id),
             alice.get('/posts/%d/revisions/1' % post_id),
             stale.submit(status=409),  # the conflict page shows the title too
             TestApp(app).get(post_path(post_id))]
    for page in pages:
        assert html_escape(title) in page.text
        for tag, attrs in Elements(page.text).found:
            assert tag not in ('script', 'img', 'iframe'), (page.request.path, tag)
            assert not any(name.startswith('on') for name in attrs), (tag, attrs)
    page = alice.get(post_path(post_id))
    heading = re.search(r'<h1>(.*?)</h1>', page.text, re.S).group(1)
    assert heading == html_escape(title)  # escaped once, never evaluated as a template


@pytest.mark.parametrize('source', [s for s in HOSTILE if '\x00' not in s])
def test_hostile_body_on_the_post_page(app, alice, source):
    form = alice.get('/posts/new').forms['post-form']
    form['title'], form['body'] = 'Hostile', source + '\n\nend'
    response = save_as(form, 'published', status=303)
    for client in (alice, TestApp(app)):
        page = client.get(response.location)
        body = page.text.split('<div class="post-body">', 1)[1].split('</div>', 1)[0]
        assert_harmless(body)
        for tag, attrs in Elements(page.text).found:
            assert tag != 'script'
            assert not any(name.startswith('on') for name in attrs)


# --- limits through the editor -----------------------------------------------

def body_error(page):
    match = re.search(r'<p class="error" id="f-body-error">([^<]*)</p>', page.text)
    return match and match.group(1)


def test_a_wide_table_is_422_with_the_body_kept(alice):
    form = alice.get('/posts/new').forms['post-form']
    form['title'], form['body'] = 'Wide', WIDE_TABLES
    page = save_as(form, 'published', status=422)
    assert 'has 181 columns; at most 64 are allowed' in body_error(page)
    assert page.forms['post-form']['body'].value == WIDE_TABLES
    assert page.forms['post-form']['title'].value == 'Wide'
    with db.connection_context():
        assert Post.select().count() == 0


def test_an_edit_whose_html_is_too_big_is_422_and_saves_nothing(alice, make_post):
    with db.connection_context():
        author = User.get(User.username == 'alice')
    post = make_post(author, body='Fine body')
    form = alice.get('/posts/%d/edit' % post.id).forms['post-form']
    form['body'] = table(40, 200)
    page = form.submit(status=422)
    assert 'characters of HTML, over the limit of 15630' in body_error(page)
    assert page.forms['post-form']['body'].value == table(40, 200)
    with db.connection_context():
        assert (Post.get_by_id(post.id).body, Post.get_by_id(post.id).version) == (
            'Fine body', 1)
