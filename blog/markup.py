"""blog.markdown's own touches on markdown-it-py's output: heading levels that start
under the title and skip none, tables that take keyboard focus, and footnote
references and back-links that read well (to the eye and to a screen reader)."""


def _source_level(token):
    # From the markup, not the tag (which a previous render of the tokens set):
    # '#' to '######', or a setext underline ('=' for level 1, '-' for level 2).
    if token.markup.startswith('#'):
        return len(token.markup)
    return 1 if token.markup.startswith('=') else 2


def heading_levels(tokens):
    """Give the headings of a body levels that start at <h2> (the title is the <h1>)
    and never skip one: the levels the source uses are ranked (its highest becomes
    h2, the next h3, ...), and no heading goes more than one level below the one
    before it (so `## a` then `#### b` is h2 then h3, and a first `###` is h2)."""
    opens = [token for token in tokens if token.type == 'heading_open']
    ranks = {level: rank for rank, level in
             enumerate(sorted({_source_level(token) for token in opens}), start=2)}
    previous, tag = 1, None
    for token in tokens:
        if token.type == 'heading_open':
            previous = min(ranks[_source_level(token)], previous + 1, 6)
            tag = token.tag = 'h%d' % previous
        elif token.type == 'heading_close':
            token.tag = tag


def focusable_tables(tokens):
    """Let every table take keyboard focus: a table wider than the column scrolls
    sideways, and a scrolling region must be reachable without a mouse (axe's
    scrollable-region-focusable); code blocks get the same from blog.highlight."""
    for token in tokens:
        if token.type == 'table_open':
            token.attrSet('tabindex', '0')


def footnote_caption(renderer, tokens, idx, options, env):
    """A reference's text: "[1]" for every reference to the first note (the plugin
    writes "[1:1]" for its second), as the reader wants the note's number."""
    return '[%d]' % (tokens[idx].meta['id'] + 1)


def footnote_anchor(renderer, tokens, idx, options, env):
    """The link back from a note to its reference, as the plugin writes it but named
    for screen readers (its text, ↩, is read as "leftwards arrow with hook" or not at
    all): "Back to reference 1", or "1-2" for its second reference."""
    meta = tokens[idx].meta
    number, sub = meta['id'] + 1, meta['subId']
    target = '%d:%d' % (number, sub) if sub > 0 else str(number)
    name = '%d-%d' % (number, sub + 1) if sub > 0 else str(number)
    return (' <a href="#fnref%s" class="footnote-backref" aria-label="Back to reference '
            '%s">\u21a9\ufe0e</a>' % (target, name))
