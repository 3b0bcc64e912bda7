"""Markdown rendering: what survives (formatting) and what never does (script)."""

import re
import sys
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
from markupsafe import escape as html_escape
from webtest import TestApp

from blog import highlight, markdown, sanitize
from blog.db import db
from blog.highlight import TOKEN_CLASSES, code_css
from blog.markdown import (
    RenderError,
    plain_excerpt,
    render_markdown,
    render_markdown_bounded,
)
from blog.models import Post, User
from blog.sanitize import ALLOWED_ATTRIBUTES, ALLOWED_TAGS, ATTRIBUTE_VALUES, SET_ATTRIBUTES
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


# The classes each tag may carry (code: a language; span: Pygments' short names).
CLASS_VALUES = {
    'pre': {'highlight'}, 'ul': {'contains-task-list'},
    'ol': {'contains-task-list', 'footnotes-list'}, 'li': {'task-list-item', 'footnote-item'},
    'section': {'footnotes'}, 'hr': {'footnotes-sep'}, 'sup': {'footnote-ref'},
    'a': {'footnote-backref'},
}
# Attributes with one form of value, whatever the body.
VALUE_FORMS = {
    ('pre', 'tabindex'): r'0',
    ('input', 'type'): r'checkbox',
    ('input', 'disabled'): r'disabled',
    ('input', 'checked'): r'checked',
    ('li', 'id'): r'fn\d+',
    ('a', 'id'): r'fnref\d+(:\d+)?',
    ('a', 'aria-label'): r'Back to reference \d+(-\d+)?',
}


def class_is_allowed(tag, value):
    if tag == 'code':
        return re.fullmatch(r'language-[\w+#.-]+', value)
    if tag == 'span':
        return value in TOKEN_CLASSES and re.fullmatch(r'[a-z0-9]{1,3}', value)
    return value in CLASS_VALUES.get(tag, ())


def assert_harmless(html):
    for tag, attrs in Elements(html).found:
        assert tag in ALLOWED_TAGS, (tag, html)
        allowed = (ALLOWED_ATTRIBUTES.get(tag, set()) | set(ATTRIBUTE_VALUES.get(tag, {}))
                   | set(SET_ATTRIBUTES.get(tag, {})) | {'rel'})
        for name, value in attrs.items():
            assert not name.startswith('on'), (name, html)
            assert name in allowed, (tag, name, html)
            if name in ('href', 'src'):
                assert url_is_safe(value), (value, html)
            if name == 'class':
                assert class_is_allowed(tag, value), (tag, value, html)
            if (tag, name) in VALUE_FORMS:
                assert re.fullmatch(VALUE_FORMS[tag, name], value), (tag, name, value, html)
        if tag == 'input':  # nothing a reader could tick, type into or send
            assert attrs.get('type') == 'checkbox' and 'disabled' in attrs, html


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
    '```python"><script>alert(1)</script>\nx = 1\n```',
    '```python onclick=alert(1)\nx = 1\n```',
    '```k" class="x\nx = 1\n```',
    '```html\n<script>alert(1)</script><img src=x onerror=alert(1)>\n```',
    '```javascript\n"</span><script>alert(1)</script>"\n```',
    'a[^x" onclick="alert(1)]\n\n[^x" onclick="alert(1)]: note',
    "a[^'><script>alert(1)</script>]\n\n[^'><script>alert(1)</script>]: note",
    'a^[<img src=x onerror=alert(1)>]',
    '- [ ] <input type=text onfocus=alert(1) autofocus>',
    '- [x] [x](javascript:alert(1))',
    'https://example.com/"onmouseover="alert(1)',
    'javascript:alert(1) and www.example.com/<script>',
    '"<script>" -- \'<img onerror=x>\'',
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
    ('# One\n\n## Two\n\n###### Six', '<h2>One</h2>\n<h3>Two</h3>\n<h4>Six</h4>\n'),
    ('- a\n- b', '<ul>\n<li>a</li>\n<li>b</li>\n</ul>\n'),
    ('3. c\n4. d', '<ol start="3">\n<li>c</li>\n<li>d</li>\n</ol>\n'),
    ('```python\nprint("<hi>")\n```',
     '<pre class="highlight" tabindex="0"><code class="language-python">'
     '<span class="nb">print</span><span class="p">(</span><span class="s2">"&lt;hi&gt;"</span>'
     '<span class="p">)</span>\n</code></pre>\n'),
    ('```\nprint("<hi>")\n```', '<pre tabindex="0"><code>print("&lt;hi&gt;")\n</code></pre>\n'),
    ('```nosuchlanguage\nx\n```',
     '<pre tabindex="0"><code class="language-nosuchlanguage">x\n</code></pre>\n'),
    ('    indented', '<pre tabindex="0"><code>indented\n</code></pre>\n'),
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
     '<table tabindex="0">\n<thead>\n<tr>\n<th>h1</th>\n<th>h2</th>\n</tr>\n</thead>\n<tbody>\n'
     '<tr>\n<td>a</td>\n<td>b</td>\n</tr>\n</tbody>\n</table>\n'),
    ('*em* **strong** ~~gone~~ `code`',
     '<p><em>em</em> <strong>strong</strong> <s>gone</s> <code>code</code></p>\n'),
    ('a  \nb', '<p>a<br>\nb</p>\n'),
    ('---', '<hr>\n'),
    ('<b>raw</b> & stuff', '<p>&lt;b&gt;raw&lt;/b&gt; &amp; stuff</p>\n'),
    # Typography: curly quotes, dashes, ellipsis; never inside code.
    ('"Quoted," it\'s -- not --- (c)... `"as" -- is`',
     '<p>\u201cQuoted,\u201d it\u2019s \u2013 not \u2014 \u00a9\u2026 '
     '<code>"as" -- is</code></p>\n'),
    # Bare URLs with their scheme become links; file names and ftp: do not.
    ('See https://example.com/a?b=1. Not setup.py, www.example.com or ftp://example.com.',
     '<p>See <a href="https://example.com/a?b=1" rel="nofollow noopener noreferrer">'
     'https://example.com/a?b=1</a>. Not setup.py, www.example.com or ftp://example.com.</p>\n'),
    ('- [ ] to do\n- [x] done',
     '<ul class="contains-task-list">\n'
     '<li class="task-list-item"><label><input disabled="disabled" type="checkbox"> to do'
     '</label></li>\n'
     '<li class="task-list-item"><label><input checked="checked" disabled="disabled" '
     'type="checkbox"> done</label></li>\n</ul>\n'),
    ('Text[^note] and again[^note].\n\n[^note]: The *note*.',
     '<p>Text<sup class="footnote-ref"><a href="#fn1" id="fnref1" '
     'rel="nofollow noopener noreferrer">[1]</a></sup> and again<sup class="footnote-ref">'
     '<a href="#fn1" id="fnref1:1" rel="nofollow noopener noreferrer">[1]</a></sup>.</p>\n'
     '<hr class="footnotes-sep">\n<section class="footnotes">\n<ol class="footnotes-list">\n'
     '<li id="fn1" class="footnote-item"><p>The <em>note</em>. <a href="#fnref1" '
     'class="footnote-backref" aria-label="Back to reference 1" '
     'rel="nofollow noopener noreferrer">\u21a9\ufe0e</a> <a href="#fnref1:1" '
     'class="footnote-backref" aria-label="Back to reference 1-2" '
     'rel="nofollow noopener noreferrer">\u21a9\ufe0e</a></p>\n</li>\n</ol>\n</section>\n'),
])
def test_formatting_survives(source, expected):
    html = render_markdown(source)
    assert html == expected
    assert_harmless(html)


# --- headings, code, footnotes, task lists -------------------------------------

def heading_tags(html):
    return [tag for tag, _ in Elements(html).found if re.fullmatch(r'h[1-6]', tag)]


@pytest.mark.parametrize('source, tags', [
    ('## a\n\n#### b\n\n## c', ['h2', 'h3', 'h2']),
    ('### x', ['h2']),  # whatever level a body starts at, it starts under the title
    ('###### deep', ['h2']),
    ('# a\n\n### b\n\n## c', ['h2', 'h3', 'h3']),  # never below previous + 1
    ('#### a\n\n## b\n\n#### c\n\n###### d', ['h2', 'h2', 'h3', 'h4']),
    ('# 1\n## 2\n### 3\n#### 4\n##### 5\n###### 6', ['h2', 'h3', 'h4', 'h5', 'h6', 'h6']),
    ('Title\n=====\n\nSub\n---\n\n### Three', ['h2', 'h3', 'h4']),  # setext headings
    ('> ### quoted\n\n- ##### listed', ['h2', 'h3']),
])
def test_heading_levels_start_at_h2_and_skip_none(source, tags):
    html = render_markdown(source)
    assert heading_tags(html) == tags
    assert render_markdown_bounded(source) == html


def test_heading_levels_of_the_stored_html_are_the_same_in_the_child():
    # The tags are set on the tokens; a second render of the same tokens (the plain
    # retry of render_checked) must not shift them again.
    tokens = markdown._md.parse('## a\n\n#### b')
    assert markdown._render_tokens(tokens) == markdown._render_tokens(tokens)


def test_every_pre_can_take_keyboard_focus():
    html = render_markdown('```python\nx = 1\n```\n\n```\nplain\n```\n\n```nosuch\ny\n```\n\n'
                           '    indented\n')
    pres = [attrs for tag, attrs in Elements(html).found if tag == 'pre']
    assert len(pres) == 4 and all(attrs.get('tabindex') == '0' for attrs in pres)
    assert [attrs.get('class') for attrs in pres] == ['highlight', None, None, None]


def spans(html):
    return [attrs['class'] for tag, attrs in Elements(html).found if tag == 'span']


@pytest.mark.parametrize('language', ['python', 'Python', 'py', 'javascript', 'c++', 'html',
                                      'css', 'sql', 'bash', 'json', 'ruby', 'rust', 'go'])
def test_known_languages_are_highlighted_with_pygments_classes(language):
    html = render_markdown('```%s\nif (a < b) { return "x"; } // note\n```' % language)
    assert html.startswith('<pre class="highlight" tabindex="0"><code class="language-%s">'
                           % language)
    assert spans(html) and set(spans(html)) <= TOKEN_CLASSES
    assert 'style=' not in html  # the CSP forbids inline styles: colours are in code.css
    # The text is the code, escaped once, whatever the spans around it.
    assert re.sub(r'<[^>]+>', '', html) == 'if (a &lt; b) { return "x"; } // note\n\n'
    assert_harmless(html)


def test_unknown_or_missing_languages_are_plain_code():
    # ambienttalk/2 is a Pygments alias, but no class="language-..." could name it.
    for source in ('```\nx = 1\n```', '```nosuchlanguage\nx = 1\n```', '```py{.x}\nx = 1\n```',
                   '```ambienttalk/2\nx\n```', '~~~ \nx\n~~~'):
        html = render_markdown(source)
        assert '<span' not in html and 'highlight' not in html, html
        assert_harmless(html)


def test_code_that_a_lexer_would_change_stays_plain():
    # Pygments drops a leading byte-order mark; the block keeps the author's text.
    html = render_markdown('```python\n\ufeffx = 1\n```')
    assert '<span' not in html and '\ufeffx = 1' in html


def code_block(language, lines):
    return '```%s\n%s```\n\n' % (language, ''.join(
        'total_%04d = compute(values, limit=%04d)  # why it is so\n' % (n, n)
        for n in range(lines)))


def test_a_block_over_the_size_limit_is_plain():
    block = code_block('python', 1)
    line = len(block) - len('```python\n```\n\n')
    lines = highlight.HIGHLIGHT_BLOCK_CHARS // line
    at_limit = code_block('python', lines)
    over = code_block('python', lines + 1)
    assert render_markdown(at_limit).startswith('<pre class="highlight"')
    html = render_markdown(over)
    assert html.startswith('<pre tabindex="0"><code class="language-python">total_0000 =')
    assert '<span' not in html


def test_code_past_the_total_for_a_body_is_plain():
    block = code_block('python', 150)  # about 8,000 characters of code
    blocks = highlight.HIGHLIGHT_TOTAL_CHARS // (len(block) - len('```python\n```\n\n'))
    html = render_markdown(block * (blocks + 3))
    assert html.count('<pre class="highlight"') == blocks
    assert html.count('<pre tabindex="0">') == 3
    assert html.index('<pre tabindex="0">') > html.rindex('<pre class="highlight"')


def test_code_whose_spans_outgrow_it_is_plain():
    # One-letter names and commas: a span for every character, 24 times the code.
    dense = '```python\n' + 'a,' * 5000 + '\n```'
    assert '<span' not in render_markdown(dense)
    # A short block may take more than 10 times its length: `print(x)` has four spans.
    assert spans(render_markdown('```python\nprint(x)\n```')) == ['nb', 'p', 'n', 'p']


def test_a_slow_lexer_stops_at_the_time_budget(monkeypatch):
    import time
    # Java's lexer is quadratic on one long line: 8,000 characters of "a a a" take
    # 2.5 s. Past the budget the block, and every one after it, is plain.
    monkeypatch.setattr(highlight, 'HIGHLIGHT_SECONDS', 0.1)
    slow = '```java\n' + 'a ' * 6000 + '\n```\n\n'
    start = time.process_time()
    html = render_markdown(slow + code_block('python', 3))
    assert time.process_time() - start < 0.6
    assert '<span' not in html


def code_heavy_body(chars):
    """Posts of code: a sentence, then a 60-line Python block, over and over."""
    import inspect
    source = inspect.getsource(markdown).replace('```', "'''").splitlines(keepends=True)
    parts, n = [], 0
    while sum(map(len, parts)) < chars:
        parts.append('What this part does.\n\n```python\n%s```\n\n'
                     % ''.join(source[n:n + 60]))
        n = (n + 60) % (len(source) - 60)
    return ''.join(parts)


def test_a_big_code_heavy_body_saves_highlighted_within_the_limits():
    import time
    body = code_heavy_body(300_000)
    start = time.perf_counter()
    html = render_markdown_bounded(body)
    assert time.perf_counter() - start < markdown.RENDER_SECONDS / 2
    assert len(html) < markdown.html_limit(len(body))
    # Code is highlighted until the next block would pass HIGHLIGHT_TOTAL_CHARS.
    code = [len(token.content) for token in markdown._md.parse(body) if token.type == 'fence']
    pres = [attrs.get('class') for tag, attrs in Elements(html).found if tag == 'pre']
    first_plain = pres.index(None)
    assert pres[:first_plain] == ['highlight'] * first_plain and first_plain > 20
    assert sum(code[:first_plain]) <= highlight.HIGHLIGHT_TOTAL_CHARS < sum(
        code[:first_plain + 1])
    assert sum(size for size, kind in zip(code, pres, strict=True) if kind) <= (
        highlight.HIGHLIGHT_TOTAL_CHARS)
    assert '<span class="k">def</span>' in html
    assert render_markdown(body) == html


def test_highlighting_never_costs_a_body_its_save(monkeypatch):
    body = code_heavy_body(20_000)
    highlighted, plain = render_markdown(body), sanitize.cleaner.clean(
        markdown._render_tokens(markdown._md.parse(body), highlight=False))
    assert '<span' in highlighted and '<span' not in plain
    # Between the two: too long highlighted, fine plain. The body saves, plain.
    monkeypatch.setattr(markdown, 'HTML_MAX', (len(highlighted) + len(plain)) // 2)
    assert render_markdown_bounded(body) == plain
    # Too long even plain: refused, as before.
    monkeypatch.setattr(markdown, 'HTML_MAX', len(plain) // 2)
    with pytest.raises(RenderError, match='characters of HTML'):
        render_markdown_bounded(body)


@pytest.mark.parametrize('html, kept', [
    ('<span class="k">a</span>', '<span class="k">a</span>'),
    ('<span class="nf">a</span>', '<span class="nf">a</span>'),
    ('<span class="evil">a</span>', '<span>a</span>'),
    ('<span class="k nf">a</span>', '<span>a</span>'),
    ('<span class="k " onclick="x()">a</span>', '<span>a</span>'),
    ('<span class="language-python">a</span>', '<span>a</span>'),
    ('<span style="color:red" id="x" title="t" lang="en">a</span>', '<span>a</span>'),
    ('<pre class="highlight" tabindex="0">a</pre>', '<pre class="highlight" tabindex="0">a</pre>'),
    ('<pre class="highlight x" tabindex="-1">a</pre>', '<pre>a</pre>'),
    ('<pre tabindex="1" class="k">a</pre>', '<pre>a</pre>'),
    ('<code class="highlight">a</code>', '<code>a</code>'),
    ('<p class="footnotes" id="fn1">a</p>', '<p>a</p>'),
    ('<li id="fn1x" class="footnote-item x">a</li>', '<li>a</li>'),
    ('<li id="main" class="task-list-item">a</li>', '<li class="task-list-item">a</li>'),
    ('<a href="#fn1" id="fnref1:2" class="footnote-backref" aria-label="Back to reference 1-3">'
     'a</a>', '<a href="#fn1" id="fnref1:2" class="footnote-backref" aria-label="Back to '
     'reference 1-3" rel="nofollow noopener noreferrer">a</a>'),
    ('<a href="#x" id="top" aria-label="Click me" class="footnote-ref">a</a>',
     '<a href="#x" rel="nofollow noopener noreferrer">a</a>'),
    ('<sup class="footnote-ref" id="fn1">1</sup>', '<sup class="footnote-ref">1</sup>'),
    ('<input type="text" name="q" value="v" disabled autofocus>',
     '<input disabled="disabled" type="checkbox">'),
    ('<input checked="yes" onfocus="x()" type="checkbox" class="task-list-item-checkbox">',
     '<input checked="checked" type="checkbox">'),
    ('<label for="x" class="y">a</label>', '<label>a</label>'),
    ('<section class="footnotes" id="s"><hr class="footnotes-sep x"></section>',
     '<section class="footnotes"><hr></section>'),
])
def test_the_sanitizer_keeps_only_the_forms_the_renderer_writes(html, kept):
    # Raw HTML never gets this far (markdown-it escapes it); nh3 holds even so.
    assert sanitize.cleaner.clean(html) == kept


def test_task_list_checkboxes_are_named_by_their_item():
    html = render_markdown('- [ ] write *it*\n- [X] [read](https://example.com) it\n'
                           '  - [ ] nested\n\n1. [x] numbered')
    # Each checkbox sits in a <label> with its item's text: its accessible name.
    for item in ('write <em>it</em>', '<a href="https://example.com" '
                 'rel="nofollow noopener noreferrer">read</a> it', 'nested', 'numbered'):
        assert re.search(r'<label><input (checked="checked" )?disabled="disabled" '
                         r'type="checkbox"> %s</label>' % re.escape(item), html), item
    assert html.count('checked="checked"') == 2 and '<ol class="contains-task-list">' in html
    assert_harmless(html)


def test_footnote_labels_never_reach_the_html():
    # Labels are looked up, never written: the ids are numbers.
    html = render_markdown('A[^x"onclick="y\'] b[^<b>] c^[inline *note*].\n\n'
                           '[^x"onclick="y\']: First.\n\n[^<b>]: Second.')
    assert re.findall(r'id="([^"]*)"', html) == ['fnref1', 'fnref2', 'fnref3', 'fn1', 'fn2',
                                                   'fn3']
    assert 'onclick' not in html and '&lt;b&gt;' not in html and '<b>' not in html
    assert '<em>note</em>' in html and 'First.' in html and 'Second.' in html
    assert_harmless(html)


def test_an_undefined_footnote_stays_text():
    assert render_markdown('See [^missing].') == '<p>See [^missing].</p>\n'


@pytest.mark.parametrize('source, excerpt', [
    ('- [ ] Buy milk\n- [x] Write the post\n\nThen *more*.', 'Buy milk Write the post Then more.'),
    ('Footnotes[^1] stay out[^1] of it.\n\n[^1]: A note the excerpt skips.',
     'Footnotes stay out of it.'),
    ('Inline^[skipped too] notes.', 'Inline notes.'),
    ('"Curly" -- quotes... and https://example.com.',
     '\u201cCurly\u201d \u2013 quotes\u2026 and https://example.com.'),
    ('```python\nx = 1\n```\n\nAfter the code.', 'After the code.'),
])
def test_plain_excerpt_of_the_extensions(source, excerpt):
    assert plain_excerpt(render_markdown(source)) == excerpt


# --- static/code.css ----------------------------------------------------------

CODE_CSS = markdown.ROOT + '/static/code.css'


def test_code_css_is_what_code_css_makes():
    # Regenerate with: python -m blog.highlight > static/code.css
    with open(CODE_CSS, encoding='utf-8') as css:
        assert css.read() == code_css()


def relative_luminance(colour):
    def channel(value):
        value /= 255
        return value / 12.92 if value <= 0.04045 else ((value + 0.055) / 1.055) ** 2.4
    red, green, blue = (int(colour[i:i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * channel(red) + 0.7152 * channel(green) + 0.0722 * channel(blue)


def contrast(one, other):
    high, low = sorted((relative_luminance(one), relative_luminance(other)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def css_schemes():
    with open(CODE_CSS, encoding='utf-8') as css:
        text = re.sub(r'/\*.*?\*/', '', css.read(), flags=re.S)
    light, dark = text.split('@media (prefers-color-scheme: dark)')
    return {'light': light, 'dark': dark}


def test_every_code_colour_meets_wcag_aa_on_its_background():
    schemes = css_schemes()
    backgrounds = {'light': highlight.CODE_LIGHT_BACKGROUND, 'dark': highlight.CODE_DARK_BACKGROUND}
    for scheme, css in schemes.items():
        assert re.findall(r'background(?:-color)?:\s*([^;]+);', css) == [backgrounds[scheme]]
        colours = re.findall(r'(?<![-\w])color:\s*([^;]+);', css)
        assert len(colours) > 10
        for colour in colours:
            assert re.fullmatch(r'#[0-9a-f]{6}', colour), colour
            assert contrast(colour, backgrounds[scheme]) >= 4.5, (scheme, colour)


def test_the_dark_code_colours_override_every_light_one():
    schemes = css_schemes()
    classes = {scheme: set(re.findall(r'\.highlight \.([\w-]+)', css))
               for scheme, css in schemes.items()}
    assert classes['light'] == classes['dark'] and classes['light'] <= TOKEN_CLASSES
    assert {'k', 'c1', 's2', 'nf', 'mi'} <= classes['light']
    assert all(line.startswith('  ') for line in schemes['dark'].splitlines()[1:-1] if line)


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


def test_tables_take_keyboard_focus_and_nothing_else_does():
    # A wide table scrolls sideways on a phone: it must be reachable by keyboard.
    html = render_markdown('| a | b |\n|---|---|\n| 1 | 2 |\n\nText.')
    assert html.startswith('<table tabindex="0">')
    assert 'tabindex' not in render_markdown('Plain [link](https://example.com) and *text*.')
    # A tabindex typed in the source is text (raw HTML is off), and the sanitizer
    # keeps no other value, nor one on any other tag.
    assert render_markdown('<table tabindex="5">') == '<p>&lt;table tabindex=“5”&gt;</p>\n'
    assert sanitize.cleaner.clean('<table tabindex="5"><tr><td tabindex="0">x</td></tr>'
                                  '</table>') == '<table><tbody><tr><td>x</td></tr></tbody></table>'
