"""The 409 conflict page, shared by every optimistic editor (posts, /settings,
/admin/users/<name>).

When a save loses the race nothing typed is lost: the page shows who saved the
newer version and when, the saved values, the user's own values in an editable
form whose hidden `version` is the newest (so sending it again is a deliberate
overwrite), a readable diff per field, and a link that discards the user's edits.
"""

import difflib
from dataclasses import dataclass

from markupsafe import Markup

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


def _lines(value):
    if isinstance(value, bool):
        return ['yes' if value else 'no']
    return str(value if value is not None else '').splitlines() or ['']


def diff_html(saved, mine):
    """A line diff from `saved` to `mine` as escaped HTML (<del>/<ins> lines).

    Bounded in time for long posts: difflib without its junk heuristic
    (`autojunk=False`) slows down roughly with the cube of the line count when
    lines repeat (every blank line between paragraphs does): measured, 1,000 lines
    took 1.3 s and 10,000 did not finish in 10 minutes, holding a worker thread.
    Here the common head and tail are trimmed first (most edits are local), the
    matcher keeps its junk heuristic, and very large changed blocks are not aligned.
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
        opcodes = difflib.SequenceMatcher(None, mid_a, mid_b).get_opcodes()
    same = Markup('<span class="line">  %s</span>')
    out = [same % line for line in a[:head]]
    for tag, i1, i2, j1, j2 in opcodes:
        if tag == 'equal':
            out.extend(same % line for line in mid_a[i1:i2])
            continue
        out.extend(Markup('<del class="line del">- %s</del>') % line for line in mid_a[i1:i2])
        out.extend(Markup('<ins class="line add">+ %s</ins>') % line for line in mid_b[j1:j2])
    out.extend(same % line for line in a[len(a) - tail:])
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
