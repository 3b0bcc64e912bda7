"""The 409 conflict page, shared by every optimistic editor (posts, /settings,
/admin/users/<name>).

When a save loses the race nothing typed is lost: the page shows who saved the
newer version and when, the saved values, the user's own values in an editable
form whose hidden `version` is the newest (so sending it again is a deliberate
overwrite), a readable diff per field, and a link that discards the user's edits.
"""

import difflib
import re
from dataclasses import dataclass

from markupsafe import Markup, escape
from patiencediff import PatienceSequenceMatcher

from blog.merging import simplified
from blog.render import render


@dataclass(frozen=True)
class Field:
    """One editable field as the conflict page shows it."""

    name: str
    label: str
    kind: str = 'text'  # text | textarea | checkbox | select
    choices: tuple = ()  # (value, label) pairs for kind='select'


# The diff's work is bounded per page, whatever the two texts (a body is at most
# 600,000 characters; see the README, "Writing posts"):
# - a differing middle (after the common head and tail) longer than ALIGN_MAX_LINES
#   lines, both sides together, is not aligned at all;
# - at most LINES_MAX lines are rendered one by one; a changed part that does not fit
#   in what is left, and everything after it up to the common tail, is shown as one
#   removed block and one added block, and long unchanged runs fold as one block;
# - word marks cost len(old words) x len(new words) compared pairs per changed line;
#   past WORD_PAIRS_MAX pairs on a page, changed lines are shown whole.
# Either simplification puts a note at the top of the diff.
ALIGN_MAX_LINES = 40_000
LINES_MAX = 20_000
WORD_PAIRS_MAX = 2_000_000
CONTEXT = 3  # unchanged lines shown around each change; longer runs fold away
WORD_DIFF_MAX = 400  # words in a changed line beyond which it is not word-diffed
_WORDS = re.compile(r'\s+|\w+|[^\w\s]')
_NOTES = {
    'lines': 'This diff was simplified: it is too long to show line by line, so part of '
             'it is shown as one removed block and one added block.',
    'words': 'This diff was simplified: changed words are marked only in the first '
             'changed lines; the rest are shown whole.',
}


class _Budget:
    """What is left of one page's diff work, and the simplifications made."""

    def __init__(self):
        self.lines = LINES_MAX
        self.word_pairs = WORD_PAIRS_MAX
        self.simplified = set()


def _lines(value):
    if isinstance(value, bool):
        return ['yes' if value else 'no']
    return str(value if value is not None else '').splitlines() or ['']


def _word_marks(old, new, budget):
    """(old, new) as escaped HTML with the words that differ in <span class="word">."""
    a, b = _WORDS.findall(old), _WORDS.findall(new)
    if len(a) > WORD_DIFF_MAX or len(b) > WORD_DIFF_MAX:
        return escape(old), escape(new)
    # SequenceMatcher's work grows with the product of the lengths: charge it first.
    cost = len(a) * len(b)
    if cost > budget.word_pairs:
        budget.word_pairs = -1  # spent: no later line is marked either (stays readable)
        budget.simplified.add('words')
        return escape(old), escape(new)
    budget.word_pairs -= cost
    word = Markup('<span class="word">%s</span>')
    out_a, out_b = [], []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        left, right = ''.join(a[i1:i2]), ''.join(b[j1:j2])
        if tag == 'equal':
            out_a.append(escape(left))
            out_b.append(escape(right))
        else:
            if left:
                out_a.append(word % left)
            if right:
                out_b.append(word % right)
    return Markup('').join(out_a), Markup('').join(out_b)


def _block(element, prefix, lines):
    """Many lines as one `element` (a Markup with one %s): one escape, one join."""
    return element % '\n'.join(prefix + line for line in lines)


def _same(lines, budget):
    """Unchanged lines; a long run folds into a <details> that opens to show it."""
    same = Markup('<span class="line">  %s</span>')
    if len(lines) <= 2 * CONTEXT + 2:
        budget.lines -= len(lines)
        return [same % line for line in lines]
    middle = lines[CONTEXT:-CONTEXT]
    budget.lines -= 2 * CONTEXT
    if len(middle) <= budget.lines:
        budget.lines -= len(middle)
        inner = Markup('').join(same % line for line in middle)
    else:
        inner = _block(Markup('<span class="line">%s</span>'), '  ', middle)
    folded = Markup('<details class="unchanged"><summary>%d unchanged lines</summary>%s'
                    '</details>') % (len(middle), inner)
    return [same % line for line in lines[:CONTEXT]] + [folded] + [
        same % line for line in lines[-CONTEXT:]]


def _changed(old, new, budget):
    """A changed block: old lines (-) then new (+), lines paired by position marked
    word by word."""
    budget.lines -= len(old) + len(new)
    pairs = min(len(old), len(new))
    marked = [_word_marks(a, b, budget)
              for a, b in zip(old[:pairs], new[:pairs], strict=True)]
    dels = [pair[0] for pair in marked] + [escape(line) for line in old[pairs:]]
    inss = [pair[1] for pair in marked] + [escape(line) for line in new[pairs:]]
    return ([Markup('<del class="line del">- %s</del>') % line for line in dels]
            + [Markup('<ins class="line add">+ %s</ins>') % line for line in inss])


def _coarse(old, new):
    """The rest of a changed middle as one removed block and one added block."""
    out = []
    if old:
        out.append(_block(Markup('<del class="line del">%s</del>'), '- ', old))
    if new:
        out.append(_block(Markup('<ins class="line add">%s</ins>'), '+ ', new))
    return out


def diff_html(saved, mine):
    """A line diff from `saved` to `mine` as escaped HTML: <del>/<ins> lines with
    the differing words marked, long unchanged runs folded in <details>.

    Bounded in work for any two texts: the common head and tail are trimmed first
    (most edits are local), the rest is aligned by patience diff (fast even with
    many repeated lines, where difflib slows down with the cube of the length) unless
    it is longer than ALIGN_MAX_LINES, and LINES_MAX and WORD_PAIRS_MAX bound the
    rendering; past them the diff is coarser (blocks, no word marks) and says so.
    """
    a, b = _lines(saved), _lines(mine)
    shortest = min(len(a), len(b))
    head = 0
    while head < shortest and a[head] == b[head]:
        head += 1
    tail = 0
    while tail < shortest - head and a[len(a) - 1 - tail] == b[len(b) - 1 - tail]:
        tail += 1
    mid_a, mid_b = a[head:len(a) - tail], b[head:len(b) - tail]
    if len(mid_a) + len(mid_b) > ALIGN_MAX_LINES:
        opcodes = [('replace', 0, len(mid_a), 0, len(mid_b))]
    else:
        opcodes = PatienceSequenceMatcher(None, mid_a, mid_b).get_opcodes()
    budget = _Budget()
    out = []
    run = list(a[:head])
    for tag, i1, i2, j1, j2 in opcodes:
        if tag == 'equal':
            run.extend(mid_a[i1:i2])
            continue
        out.extend(_same(run, budget))
        run = []
        if (i2 - i1) + (j2 - j1) > budget.lines:
            # Everything left of the middle, equal parts included, as two blocks.
            out.extend(_coarse(mid_a[i1:], mid_b[j1:]))
            budget.simplified.add('lines')
            break
        out.extend(_changed(mid_a[i1:i2], mid_b[j1:j2], budget))
    run.extend(a[len(a) - tail:])
    out.extend(_same(run, budget))
    notes = [Markup('<p class="meta diff-note">%s</p>') % _NOTES[reason]
             for reason in ('lines', 'words') if reason in budget.simplified]
    return Markup('').join(notes + out)


def compare(fields, saved, mine):
    """Per-field rows for the page: label, saved value, mine, changed?, diff."""
    rows = []
    for field in fields:
        old, new = saved.get(field.name), mine.get(field.name)
        rows.append({'field': field, 'saved': old, 'mine': new, 'changed': old != new,
                     'diff': diff_html(old, new) if field.kind == 'textarea' else None})
    return rows


def render_conflict(*, heading, fields, saved, mine, saved_by, saved_at, version,
                    action, discard_url, extra_actions=(), errors=None, merge=None):
    """The 409 page. `saved`/`mine` map field names to values.

    `extra_actions` are (formaction URL, button label) pairs: more ways out that
    submit the same form elsewhere (posts offer "save mine as a new draft").
    `merge` (blog.editing.Merge), when a three-way merge ran, gives the parts that
    overlap, each with a choice of theirs, mine or both.
    """
    return render('conflicts/page.html', status=409, heading=heading,
                  rows=compare(fields, saved, mine), mine=mine, saved_by=saved_by,
                  saved_at=saved_at, version=version, action=action,
                  discard_url=discard_url, extra_actions=extra_actions,
                  errors=errors or {}, merge=merge, saved=saved,
                  merge_simplified=merge is not None and simplified(merge.parts),
                  labels={field.name: field.label for field in fields})


__all__ = ['Field', 'diff_html', 'compare', 'render_conflict']
