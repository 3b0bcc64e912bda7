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


def _lines(value):
    if isinstance(value, bool):
        return ['yes' if value else 'no']
    return str(value if value is not None else '').splitlines() or ['']


def diff_html(saved, mine):
    """A line diff from `saved` to `mine` as escaped HTML (<del>/<ins> lines)."""
    out = []
    matcher = difflib.SequenceMatcher(a=_lines(saved), b=_lines(mine), autojunk=False)
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == 'equal':
            for line in matcher.a[i1:i2]:
                out.append(Markup('<span class="line">  %s</span>') % line)
            continue
        for line in matcher.a[i1:i2]:
            out.append(Markup('<del class="line del">- %s</del>') % line)
        for line in matcher.b[j1:j2]:
            out.append(Markup('<ins class="line add">+ %s</ins>') % line)
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
                    action, discard_url, extra_actions=(), errors=None):
    """The 409 page. `saved`/`mine` map field names to values.

    `extra_actions` are (formaction URL, button label) pairs: more ways out that
    submit the same form elsewhere (posts offer "save mine as a new draft").
    """
    return render('conflicts/page.html', status=409, heading=heading,
                  rows=compare(fields, saved, mine), mine=mine, saved_by=saved_by,
                  saved_at=saved_at, version=version, action=action,
                  discard_url=discard_url, extra_actions=extra_actions,
                  errors=errors or {})


__all__ = ['Field', 'diff_html', 'compare', 'render_conflict']
