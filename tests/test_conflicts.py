"""The conflict page's diff: changed words marked, long unchanged runs folded."""

import difflib
import random
import re

import pytest

from blog import conflicts, merging
from tests.conftest import fresh_post


def test_changed_words_are_marked_inside_changed_lines():
    html = str(conflicts.diff_html('The quick brown fox.', 'The slow brown fox.'))
    assert '<del class="line del">- The <span class="word">quick</span> brown fox.</del>' in html
    assert '<ins class="line add">+ The <span class="word">slow</span> brown fox.</ins>' in html


def test_marks_never_let_markup_through():
    html = str(conflicts.diff_html('<b>x</b>', '<i>x</i>'))
    assert '<b>' not in html and '<i>' not in html
    assert '&lt;<span class="word">i</span>&gt;' in html


def test_long_unchanged_runs_fold_and_open_without_javascript():
    old = '\n'.join('line %d' % i for i in range(40))
    new = old.replace('line 20', 'line twenty')
    html = str(conflicts.diff_html(old, new))
    assert html.count('<details class="unchanged">') == 2
    assert '<summary>14 unchanged lines</summary>' in html  # 20 before, 3 shown beside
    assert '<span class="line">  line 17</span><del' not in html  # context, then change
    for kept in ('line 0', 'line 19', 'line 21', 'line 39'):
        assert '<span class="line">  %s</span>' % kept in html  # folded, still there


def test_short_unchanged_runs_stay_open():
    html = str(conflicts.diff_html('a\nb\nc', 'a\nB\nc'))
    assert '<details' not in html


# --- bounded work -------------------------------------------------------------------
# Each input below is at most a body's 600,000 characters. Unbounded, they made
# hundreds of millions of word comparisons or hundreds of thousands of line elements
# (seconds to tens of seconds per page); the counts below stay under the budgets.

def _words(n, seed):
    r = random.Random(seed)
    return ' '.join(r.choice(['a', 'b', 'c', 'the', 'x', 'y']) for _ in range(n))


def _adversarial():
    rep = ['same line' if i % 2 else '' for i in range(50_000)]
    near = ['word %d alpha beta gamma delta' % (i % 7) for i in range(30_000)]
    r = random.Random(5)
    return {
        'repeated lines, shifted': ('\n'.join(rep), '\n'.join(rep[1:] + ['x'] + rep[:1])),
        'near-identical lines, one word changed each': (
            '\n'.join(near), '\n'.join(line.replace('alpha', 'ALPHA') for line in near)),
        '399-word lines, all changed': (
            '\n'.join(_words(199, i) for i in range(300)),
            '\n'.join(_words(199, i + 10_000) for i in range(300))),
        'alternating lines': ('a\nb\n' * 50_000, 'b\na\n' * 50_000),
        '300,000 one-character lines': (
            ''.join(r.choice('ab') + '\n' for _ in range(300_000)),
            ''.join(r.choice('ab') + '\n' for _ in range(300_000))),
    }


ADVERSARIAL = _adversarial()


def sides(html):
    """(old lines, new lines) read back from diff HTML, word marks off and blocks
    (one element holding many lines) split."""
    html = re.sub(r'<span class="word">(.*?)</span>', r'\1', str(html), flags=re.S)
    old, new = [], []
    for kind, prefix, text in re.findall(
            r'<(span|del|ins) class="line[^"]*">(  |- |\+ )(.*?)</\1>', html, re.S):
        lines = text.split('\n' + prefix)
        if kind in ('span', 'del'):
            old.extend(lines)
        if kind in ('span', 'ins'):
            new.extend(lines)
    return old, new


def count_word_pairs(monkeypatch):
    """A list that gets the word pairs of each word diff (len(a) * len(b))."""
    compared = []

    class Counting(difflib.SequenceMatcher):
        def __init__(self, isjunk=None, a='', b='', autojunk=True):
            compared.append(len(a) * len(b))
            super().__init__(isjunk, a, b, autojunk)
    monkeypatch.setattr(difflib, 'SequenceMatcher', Counting)
    return compared


@pytest.fixture
def word_pairs(monkeypatch):
    """The word pairs the word diff compares, one entry per call."""
    return count_word_pairs(monkeypatch)


@pytest.mark.parametrize('name', ADVERSARIAL)
def test_adversarial_diffs_stay_in_budget_and_keep_both_texts(name, word_pairs):
    old, new = ADVERSARIAL[name]
    html = conflicts.diff_html(old, new)
    assert sum(word_pairs) <= conflicts.WORD_PAIRS_MAX
    elements = html.count('class="line')
    assert elements <= conflicts.LINES_MAX + 4 * conflicts.CONTEXT + 4
    # Coarser or not, every line of both texts is on the page.
    assert sides(html) == (old.splitlines(), new.splitlines())


def test_the_word_budget_leaves_later_lines_whole_and_says_so(word_pairs):
    old, new = ADVERSARIAL['399-word lines, all changed']
    html = str(conflicts.diff_html(old, new))
    assert 'changed words are marked only in the first changed lines' in html
    last_old, last_new = old.splitlines()[-1], new.splitlines()[-1]
    assert '<del class="line del">- %s</del>' % last_old in html  # whole, no marks
    assert '<ins class="line add">+ %s</ins>' % last_new in html
    assert html.count('<span class="word">') > 0  # the first lines are still marked


def test_past_the_line_budget_the_rest_is_one_removed_and_one_added_block():
    old, new = ADVERSARIAL['alternating lines']
    html = str(conflicts.diff_html(old + 'end', new + 'end'))
    assert 'shown as one removed block and one added block' in html
    assert html.count('<del class="line del">- a\n- b\n- a') == 1
    assert html.count('<ins class="line add">+ b\n+ a\n+ b') == 1
    assert html.endswith('<span class="line">  end</span>')


def test_a_huge_unchanged_run_folds_as_one_block():
    body = '\n'.join('line %d' % i for i in range(100_000))
    html = str(conflicts.diff_html(body, body.replace('line 50000\n', 'changed\n')))
    assert html.count('class="line') < 20
    assert '<summary>49994 unchanged lines</summary>' in html
    assert sides(html)[1] == body.replace('line 50000\n', 'changed\n').splitlines()


def test_small_diffs_carry_no_note():
    assert 'simplified' not in conflicts.diff_html('a\nb', 'a\nc')


# --- through the conflict page ------------------------------------------------------

def stale_conflict(browser, people, make_post, base, theirs, mine):
    """The 409 page for alice's stale edit `mine` after root saved `theirs`."""
    post = make_post(people['alice'], body=base)
    alice, root = browser('alice'), browser('root')
    mine_form = alice.get('/posts/%d/edit' % post.id).forms['post-form']
    theirs_form = root.get('/posts/%d/edit' % post.id).forms['post-form']
    theirs_form['body'] = theirs
    theirs_form.submit(status=303)
    mine_form['body'] = mine
    return post, mine_form.submit(status=409)


def test_conflict_page_of_long_changed_lines_stays_in_the_word_budget(
        browser, people, make_post, word_pairs):
    base = '\n'.join('line %d' % i for i in range(60))
    theirs = '\n'.join(_words(199, i) for i in range(60))
    mine = '\n'.join(_words(199, i + 10_000) for i in range(60))  # unbounded: 9.6M pairs
    _post, page = stale_conflict(browser, people, make_post, base, theirs, mine)
    assert sum(word_pairs) <= conflicts.WORD_PAIRS_MAX
    assert 'This diff was simplified' in page.text
    assert '<ins class="line add">+ %s</ins>' % mine.splitlines()[-1] in page.text
    diff = page.text.split('<div class="diff">', 1)[1].split('</div>', 1)[0]
    assert sides(diff) == (theirs.splitlines(), mine.splitlines())


def test_conflict_page_lists_at_most_the_cap_of_overlaps_and_saves_the_rest(
        browser, people, make_post):
    base = '\n'.join('line %d' % i for i in range(1000))
    theirs = '\n'.join('theirs %d' % i if i % 4 == 0 else 'line %d' % i for i in range(1000))
    mine = '\n'.join('mine %d' % i if i % 4 == 0 else 'line %d' % i for i in range(1000))
    post, page = stale_conflict(browser, people, make_post, base, theirs, mine)
    assert page.text.count('<fieldset class="merge-part">') == merging.MAX_CONFLICT_PARTS
    assert 'The overlaps were simplified' in page.text
    assert 'mine 996' in page.text.split('<fieldset class="merge-part">')[-1]
    form = page.forms['conflict-form']
    for n in range(merging.MAX_CONFLICT_PARTS):
        form['part-%d' % n] = 'theirs'
    form.submit('resolve', status=303)
    assert fresh_post(post.id).body == theirs
