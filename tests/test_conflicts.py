"""The conflict page's diff: changed words marked, long unchanged runs folded."""

from blog import conflicts


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
