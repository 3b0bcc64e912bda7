"""Three-way merges of a stale edit (blog.merging): units, clean merges, conflict
parts and their resolution."""

import random

import pytest
from patiencediff import PatienceSequenceMatcher

from blog import merging
from blog.merging import BOTH, MINE, THEIRS, merge_fields, merge_text, resolve, units

BASE = ('# Title\n\nPara one.\n\nPara two.\n\n```python\nx = 1\n\ny = 2\n```\n\n'
        '| a | b |\n|---|---|\n| 1 | 2 |\n\nThe end.\n')


def test_units_join_back_exactly_and_keep_code_and_tables_whole():
    cut = units(BASE)
    assert ''.join(cut) == BASE
    assert '```python\nx = 1\n\ny = 2\n```\n' in cut
    assert '| a | b |\n|---|---|\n| 1 | 2 |\n' in cut
    assert ''.join(units('no newline at the end')) == 'no newline at the end'
    assert units('```\nunclosed fence\n\nrest') == ['```\nunclosed fence\n\nrest']


def test_changes_to_different_parts_combine():
    theirs = BASE.replace('Para one.', 'Para one, edited by them.')
    mine = BASE.replace('The end.', 'The end, edited by me.')
    merged, parts = merge_text(BASE, theirs, mine)
    assert parts is None
    assert merged == BASE.replace('Para one.', 'Para one, edited by them.').replace(
        'The end.', 'The end, edited by me.')


@pytest.mark.parametrize('theirs, mine, expected', [
    (BASE, BASE + 'mine\n', BASE + 'mine\n'),  # only I changed it
    (BASE + 'theirs\n', BASE, BASE + 'theirs\n'),  # only they did
    (BASE + 'same\n', BASE + 'same\n', BASE + 'same\n'),  # both, the same way
])
def test_one_sided_or_identical_changes(theirs, mine, expected):
    assert merge_text(BASE, theirs, mine) == (expected, None)


def test_the_same_line_changed_twice_is_a_conflict_part():
    theirs = BASE.replace('Para two.', 'Para two (theirs).')
    mine = BASE.replace('Para two.', 'Para two (mine).')
    merged, parts = merge_text(BASE, theirs, mine)
    assert merged is None
    (conflict,) = merging.conflicts(parts)
    assert conflict == ('conflict', 'Para two.\n', 'Para two (theirs).\n', 'Para two (mine).\n')
    assert resolve(parts, [THEIRS]) == theirs
    assert resolve(parts, [MINE]) == mine
    assert resolve(parts, [BOTH]) == BASE.replace('Para two.',
                                                  'Para two (theirs).\nPara two (mine).')
    assert resolve(parts, []) == mine  # no choice sent: mine


def test_two_edits_inside_one_code_block_or_table_never_splice():
    theirs = BASE.replace('x = 1', 'x = 10')
    mine = BASE.replace('y = 2', 'y = 20')
    merged, parts = merge_text(BASE, theirs, mine)
    assert merged is None and len(merging.conflicts(parts)) == 1
    theirs = BASE.replace('| 1 | 2 |', '| 10 | 2 |')
    mine = BASE.replace('| a | b |', '| A | b |')
    assert merge_text(BASE, theirs, mine)[0] is None


def test_every_conflict_part_resolves_on_its_own():
    theirs = BASE.replace('Para one.', 'One (t).').replace('The end.', 'End (t).')
    mine = BASE.replace('Para one.', 'One (m).').replace('The end.', 'End (m).')
    _, parts = merge_text(BASE, theirs, mine)
    assert len(merging.conflicts(parts)) == 2
    text = resolve(parts, [THEIRS, MINE])
    assert 'One (t).' in text and 'End (m).' in text and 'One (m)' not in text


def test_a_long_body_with_many_edits_on_each_side_merges():
    lines = ['Sentence %d.\n' % i if i % 3 else '\n' for i in range(10_000)]
    base = ''.join(lines)

    def edited(seed, tag):
        copy = list(lines)
        for i in random.Random(seed).sample(range(0, 10_000, 3), 200):
            copy[i + 1] = 'Sentence %d, %s.\n' % (i + 1, tag)
        return copy
    theirs, mine = edited(1, 'theirs'), edited(2, 'mine')
    merged, parts = merge_text(base, ''.join(theirs), ''.join(mine))
    text = merged if parts is None else resolve(parts, [MINE] * len(merging.conflicts(parts)))
    for i, line in enumerate(lines):
        # Every line either side changed alone carries that change.
        if theirs[i] != line and mine[i] == line:
            assert theirs[i] in text
        if mine[i] != line:
            assert mine[i] in text


def test_fields_merge_whole():
    base = {'title': 'T', 'status': 'draft', 'tags': ['a']}
    theirs = {'title': 'T2', 'status': 'draft', 'tags': ['b']}
    mine = {'title': 'T', 'status': 'published', 'tags': ['c']}
    merged, clashing = merge_fields(base, theirs, mine, ('title', 'status', 'tags'))
    assert merged == {'title': 'T2', 'status': 'published', 'tags': ['c']}
    assert clashing == ['tags']


def test_many_overlaps_are_capped_and_the_rest_is_one_part():
    base = ''.join('line %d\n' % i for i in range(1000))
    theirs = ''.join('theirs %d\n' % i if i % 4 == 0 else 'line %d\n' % i
                     for i in range(1000))
    mine = ''.join('mine %d\n' % i if i % 4 == 0 else 'line %d\n' % i for i in range(1000))
    merged, parts = merge_text(base, theirs, mine)  # 250 overlaps, unbounded
    assert merged is None
    found = merging.conflicts(parts)
    assert len(found) == merging.MAX_CONFLICT_PARTS
    assert merging.simplified(parts)
    assert 'theirs 996' in found[-1][2] and 'mine 396' in found[-1][3]
    # Every choice still gives a whole text: the last part carries the rest.
    assert resolve(parts, [THEIRS] * len(found)) == theirs
    assert resolve(parts, [MINE] * len(found)) == mine
    assert resolve(parts, []) == mine
    assert not merging.simplified(merge_text(BASE, BASE + 'a\n', BASE + 'b\n')[1])


def test_a_middle_over_the_unit_bound_is_not_aligned(monkeypatch):
    aligned = []

    def counting(isjunk, a, b):
        aligned.append((len(a), len(b)))
        return PatienceSequenceMatcher(isjunk, a, b)
    monkeypatch.setattr(merging, 'PatienceSequenceMatcher', counting)
    rng = random.Random(7)
    base, theirs, mine = (''.join(rng.choice(['\n', 'a\n']) for _ in range(150_000))
                          for _ in range(3))
    merged, parts = merge_text(base, theirs, mine)
    assert aligned == []
    assert merging.conflicts(parts) and resolve(parts, [THEIRS]) == theirs
    small = ''.join(rng.choice(['\n', 'a\n']) for _ in range(1000))
    merge_text(small, small + 'x\n', 'y\n' + small)
    assert aligned and max(max(pair) for pair in aligned) <= merging.ALIGN_MAX_UNITS
