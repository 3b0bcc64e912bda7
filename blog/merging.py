"""Three-way merges of a stale edit: the version the editor started from (the base),
the version saved meanwhile (theirs) and what the user sent (mine).

Fields are merged whole: a field changed on one side only takes that side's value;
changed on both sides to different values, it is a conflict. Bodies are merged by
`merge3` (a maintained diff3) with patience diff (`patiencediff`, compiled: a
10,000-line body with hundreds of edits on each side merges in milliseconds, where
difflib took seconds) over *units* of Markdown: each line is a unit, but a
fenced code block and a table are one unit each, so a merge never splices two
versions of one code block or table together. Changes that touch different units
(with an unchanged unit between them) combine; changes to the same or adjacent
units are a conflict part, which the user resolves on the conflict page by
choosing theirs, mine or both for each part.

The work is bounded: the common head and tail are trimmed before the diff, a middle
too large to align (ALIGN_MAX_UNITS) is one conflict part, and past
MAX_CONFLICT_PARTS conflict parts the rest is one more (simplified() tells).
"""

import re

from merge3 import Merge3
from patiencediff import PatienceSequenceMatcher

from blog.versioning import CONFLICT, UNCHANGED

FENCE = re.compile(r'^ {0,3}(`{3,}|~{3,})')
# Units in the differing middle of a side beyond which the sides are not aligned (a
# bound on the work: a body of up to 600,000 characters can be as many one-character
# units, and patience diff grows faster than linearly on many repeated units).
ALIGN_MAX_UNITS = 100_000
# Conflict parts shown at most: past this many, the rest of the middle is one last
# conflict part (the page, and the choices sent back, stay small).
MAX_CONFLICT_PARTS = 100
_SPECIAL = ('`', '~', '|')  # first characters (after spaces) of a fence or table line

SIMPLIFIED = ('simplified',)  # a marker part: the conflicts past the cap were joined
THEIRS, MINE, BOTH = 'theirs', 'mine', 'both'
CHOICES = (THEIRS, MINE, BOTH)


def units(text):
    """`text` cut into merge units that join back to exactly `text`."""
    lines = text.splitlines(keepends=True)
    # Only a line starting (after spaces) with a fence or a pipe can begin a longer
    # unit: find those in one pass, and take the lines between them as they are.
    starts = [i for i, line in enumerate(lines) if line.lstrip()[:1] in _SPECIAL]
    out = []
    i = 0
    for start in starts:
        if start < i:
            continue  # inside a unit already taken
        out.extend(lines[i:start])
        i = start
        line = lines[i]
        fence = FENCE.match(line)
        if fence:
            mark = fence.group(1)
            j = i + 1
            while j < len(lines) and not lines[j].lstrip(' ').startswith(mark[0] * len(mark)):
                j += 1
            out.append(''.join(lines[i:j + 1]))
            i = j + 1
        elif line.lstrip().startswith('|'):
            j = i
            while j < len(lines) and lines[j].lstrip().startswith('|'):
                j += 1
            out.append(''.join(lines[i:j]))
            i = j
        else:
            out.append(line)
            i += 1
    out.extend(lines[i:])
    return out


def _trim(base, theirs, mine):
    """(head, tail) lengths of units all three share at the start and the end."""
    shortest = min(len(base), len(theirs), len(mine))
    head = 0
    while head < shortest and base[head] == theirs[head] == mine[head]:
        head += 1
    tail = 0
    while (tail < shortest - head
           and base[-1 - tail] == theirs[-1 - tail] == mine[-1 - tail]):
        tail += 1
    return head, tail


def merge_parts(base, theirs, mine):
    """The merge of three texts as parts: ('same', text) for what merged cleanly,
    ('conflict', base, theirs, mine) for each overlapping change.

    At most MAX_CONFLICT_PARTS conflict parts: the last one then holds everything
    from there to the common tail (see simplified())."""
    b, t, m = units(base), units(theirs), units(mine)
    head, tail = _trim(b, t, m)
    mid = (b[head:len(b) - tail], t[head:len(t) - tail], m[head:len(m) - tail])
    parts = []
    if head:
        parts.append(('same', ''.join(b[:head])))
    if any(mid):
        if max(len(side) for side in mid) > ALIGN_MAX_UNITS:
            groups = [('conflict', *mid)]
        else:
            groups = Merge3(*mid, sequence_matcher=PatienceSequenceMatcher).merge_groups()
        parts.extend(_capped(groups))
    if tail:
        parts.append(('same', ''.join(b[len(b) - tail:])))
    return parts


def _capped(groups):
    """Merge3's groups as parts. From the MAX_CONFLICT_PARTS-th conflict on, all the
    rest is one conflict part: theirs and mine each with the cleanly merged text
    between the conflicts, and no base (it is not one stretch of the base)."""
    groups = iter(groups)  # the loop below stops at the cap, the next one goes on
    parts, found = [], 0
    for group in groups:
        if group[0] == 'conflict':
            found += 1
            if found == MAX_CONFLICT_PARTS:
                break
            parts.append(('conflict', ''.join(group[1]), ''.join(group[2]),
                          ''.join(group[3])))
        else:
            parts.append(('same', ''.join(group[1])))
    else:
        return parts
    theirs, mine = [], []
    for rest in [group, *groups]:
        if rest[0] == 'conflict':
            theirs.append(''.join(rest[2]))
            mine.append(''.join(rest[3]))
        else:
            theirs.append(''.join(rest[1]))
            mine.append(''.join(rest[1]))
    parts.append(('conflict', '', ''.join(theirs), ''.join(mine)))
    parts.append(SIMPLIFIED)
    return parts


def conflicts(parts):
    """The conflict parts of a merge."""
    return [part for part in parts if part[0] == 'conflict']


def simplified(parts):
    """Whether the merge joined its conflicts past MAX_CONFLICT_PARTS into one part."""
    return SIMPLIFIED in (parts or ())


def _joined(first, second):
    # "Both": theirs, then mine, each ending its line.
    if first and not first.endswith('\n'):
        first += '\n'
    return first + second


def resolve(parts, choices):
    """The text of a merge with each conflict part resolved by `choices` (one of
    THEIRS, MINE, BOTH per conflict part, in order; missing ones: MINE)."""
    out, n = [], 0
    for part in parts:
        if part[0] == 'same':
            out.append(part[1])
            continue
        if part == SIMPLIFIED:
            continue
        choice = choices[n] if n < len(choices) else MINE
        n += 1
        _, _, theirs, mine = part
        out.append(theirs if choice == THEIRS else _joined(theirs, mine) if choice == BOTH
                   else mine)
    return ''.join(out)


def merge_text(base, theirs, mine):
    """(merged text, None) when the changes do not overlap, else (None, parts)."""
    if theirs == base or theirs == mine:
        return mine, None
    if mine == base:
        return theirs, None
    parts = merge_parts(base, theirs, mine)
    if conflicts(parts):
        return None, parts
    return ''.join(part[1] for part in parts), None


def merge_fields(base, theirs, mine, names):
    """Merge whole fields: (merged values, names of the fields changed on both
    sides to different values; those keep mine in `merged`)."""
    merged, clashing = {}, []
    for name in names:
        if mine[name] == base[name]:
            merged[name] = theirs[name]
        else:
            merged[name] = mine[name]
            if theirs[name] != base[name] and theirs[name] != mine[name]:
                clashing.append(name)
    return merged, clashing


def form_changes(row, version, values, base):
    """What saving a whole-field form's `values` onto `row` (loaded at `version`,
    with `base` the values it was loaded with) would do: (outcome, changes, merge).

    `outcome` is UNCHANGED (nothing differs from the row, whatever the version),
    CONFLICT (stale with no usable base, or a field changed on both sides, which
    `merge['clashing']` names), or None: save `changes` ({name: (saved, new)}) at
    row.version, merged from a stale form when `merge` is set.
    """
    changes = {name: (getattr(row, name), value) for name, value in values.items()
               if getattr(row, name) != value}
    if not changes:
        return UNCHANGED, {}, None
    if row.version == version:
        return None, changes, None
    if base is None or set(base) != set(values):
        return CONFLICT, {}, None
    theirs = {name: getattr(row, name) for name in values}
    merged, clashing = merge_fields(base, theirs, values, list(values))
    merge = {'saved_by': row.updated_by_id, 'clashing': clashing}
    if clashing:
        return CONFLICT, {}, merge
    changes = {name: (theirs[name], value) for name, value in merged.items()
               if theirs[name] != value}
    return (None if changes else UNCHANGED), changes, merge
