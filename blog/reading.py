"""How long a text is to read: its words and minutes, for the editor and post pages.

Counted on the Markdown source, which is what the author sees while typing (the
editor's script counts the same way, so the figure does not jump on save): a word is
a run of letters or digits, with the apostrophes and hyphens inside it (in Chinese and
Japanese, each character). Markup such
as `#`, `**` or `>` counts nothing; a URL counts as the words in it, which is close
to how long a reader takes to skip it.
"""

import math
import re

WORDS_PER_MINUTE = 230  # an adult reading prose on a screen
# Chinese and Japanese put no spaces between words: each of their characters counts
# as one, as word processors count them (kana, CJK ideographs and their extensions).
_CJK = '\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff'
# Letters and digits of any other script; ' ’ and - only between them ("don't",
# "well-kept").
_WORD = re.compile(r"[%s]|[^\W_%s]+(?:['’-][^\W_%s]+)*" % (_CJK, _CJK, _CJK))


def word_count(text):
    """The number of words in `text`."""
    return sum(1 for _ in _WORD.finditer(text or ''))


def reading_minutes(words):
    """Whole minutes to read `words` words: at least 1 for any text, 0 for none."""
    return math.ceil(words / WORDS_PER_MINUTE) if words else 0


def reading_stats(text):
    """{'words': N, 'minutes': M} for `text`."""
    words = word_count(text)
    return {'words': words, 'minutes': reading_minutes(words)}


def describe(stats):
    """'1,204 words · 6 min read' (what the editor and post pages show)."""
    words = stats['words']
    return '%s word%s · %d min read' % (format(words, ','), '' if words == 1 else 's',
                                       stats['minutes'])
