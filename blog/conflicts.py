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

from blog.render import render


@dataclass(frozen=True)
class Field:
    """One editable field as the conflict page shows it."""

    name: str
    label: str
    kind: str = 'text'  # text | textarea | checkbox | select
    choices: tuple = ()  # (value, label) pairs for kind='select'


# Changed blocks larger than this many line pairs are shown unaligned (see diff_html).
DIFF_MAX_PAIRS = 25_000_000
CONTEXT = 3  # unchanged lines shown around each change; longer runs fold away
WORD_DIFF_MAX = 400  # words in a changed line beyond which it is not word-diffed
_WORDS = re.compile(r'\s+|\w+|[^\w\s]')


def _lines(value):
    if isinstance(value, bool):
        return ['yes' if value else 'no']
    return str(value if value is not None else '').splitlines() or ['']


def _word_marks(old, new):
    """(old, new) as escaped HTML with the words that differ in <span class="word">."""
    a, b = _WORDS.findall(old), _WORDS.findall(new)
    if len(a) > WORD_DIFF_MAX or len(b) > WORD_DIFF_MAX:
        return escape(old), escape(new)
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


def _same(lines):
    """Unchanged lines; a long run folds into a <details> that opens to show it."""
    same = Markup('<span class="line">  %s</span>')
    shown = [same % line for line in lines]
    if len(shown) <= 2 * CONTEXT + 2:
        return shown
    folded = Markup('<details class="unchanged"><summary>%d unchanged lines</summary>%s'
                    '</details>') % (len(shown) - 2 * CONTEXT,
                                     Markup('').join(shown[CONTEXT:-CONTEXT]))
    return shown[:CONTEXT] + [folded] + shown[-CONTEXT:]


def _changed(old, new):
    """A changed block: old lines (-) then new (+), lines paired by position marked
    word by word."""
    pairs = min(len(old), len(new))
    marked = [_word_marks(a, b) for a, b in zip(old[:pairs], new[:pairs], strict=True)]
    dels = [pair[0] for pair in marked] + [escape(line) for line in old[pairs:]]
    inss = [pair[1] for pair in marked] + [escape(line) for line in new[pairs:]]
    return ([Markup('<del class="line del">- %s</del>') % line for line in dels]
            + [Markup('<ins class="line add">+ %s</ins>') % line for line in inss])


def diff_html(saved, mine):
    """A line diff from `saved` to `mine` as escaped HTML: <del>/<ins> lines with
    the differing words marked, long unchanged runs folded in <details>.

    Bounded in time for long posts: the common head and tail are trimmed first
    (most edits are local), the rest is aligned by patience diff (fast even with
    many repeated lines, where difflib slows down with the cube of the length), and
    very large changed blocks are not aligned at all.
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
    if len(mid_a) * len(mid_b) > DIFF_MAX_PAIRS:
        opcodes = [('replace', 0, len(mid_a), 0, len(mid_b))]
    else:
        opcodes = PatienceSequenceMatcher(None, mid_a, mid_b).get_opcodes()
    out = []
    run = list(a[:head])
    for tag, i1, i2, j1, j2 in opcodes:
        if tag == 'equal':
            run.extend(mid_a[i1:i2])
            continue
        out.extend(_same(run))
        run = []
        out.extend(_changed(mid_a[i1:i2], mid_b[j1:j2]))
    run.extend(a[len(a) - tail:])
    out.extend(_same(run))
    return Markup('').join(out)


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
                  labels={field.name: field.label for field in fields})


__all__ = ['Field', 'diff_html', 'compare', 'render_conflict']
