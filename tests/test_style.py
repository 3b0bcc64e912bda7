"""static/style.css: every colour pair the pages use meets WCAG 2.1 AA in both schemes
(4.5:1 for text, 3:1 for focus rings and field borders), computed from the variables
of its light `:root` and its `prefers-color-scheme: dark` one."""

import os
import re

import pytest

from tests.conftest import ROOT

CSS = os.path.join(ROOT, 'static', 'style.css')

# (foreground, background, least ratio): text on what it is shown on.
TEXT = 4.5
UI = 3.0
PAIRS = [
    ('text', 'bg', TEXT), ('text', 'soft', TEXT), ('muted', 'bg', TEXT), ('muted', 'soft', TEXT),
    ('accent', 'bg', TEXT), ('accent', 'soft', TEXT), ('accent-dark', 'bg', TEXT),
    ('accent-dark', 'soft', TEXT), ('on-accent', 'accent', TEXT),
    ('on-accent', 'accent-dark', TEXT),
    ('on-accent', 'error', TEXT), ('on-accent', 'error-dark', TEXT),
    ('error', 'bg', TEXT), ('error', 'error-bg', TEXT), ('ok', 'ok-bg', TEXT),
    ('badge', 'badge-bg', TEXT), ('text', 'mark', TEXT), ('text', 'add', TEXT),
    ('text', 'del', TEXT), ('text', 'warn-bg', TEXT), ('text', 'field-bg', TEXT),
    ('muted', 'warn-bg', TEXT), ('accent', 'field-bg', TEXT),
    ('focus', 'bg', UI), ('focus', 'soft', UI), ('field-border', 'field-bg', UI),
    ('error', 'field-bg', UI),
]


def stylesheet():
    with open(CSS, encoding='utf-8') as fh:
        return fh.read()


def schemes():
    """{'light': {name: '#rrggbb'}, 'dark': {...}} from the stylesheet."""
    css = stylesheet()
    light = re.search(r'^:root \{(.*?)^\}', css, re.S | re.M).group(1)
    dark = re.search(r'prefers-color-scheme: dark\) \{\s*:root \{(.*?)\}', css, re.S).group(1)
    found = {}
    for name, block in (('light', light), ('dark', dark)):
        found[name] = dict(re.findall(r'--([\w-]+):\s*(#[0-9a-fA-F]{6})\s*;', block))
    return found


def luminance(colour):
    channels = [int(colour[i:i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def ratio(a, b):
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def test_the_ratio_is_wcag_s():
    assert round(ratio('#000000', '#ffffff'), 2) == 21.0
    assert round(ratio('#777777', '#ffffff'), 2) == 4.48  # the well-known near miss


def test_both_schemes_define_every_colour_the_pairs_use():
    found = schemes()
    needed = {name for pair in PAIRS for name in pair[:2]}
    for scheme in ('light', 'dark'):
        assert needed <= set(found[scheme]), (scheme, needed - set(found[scheme]))
    assert set(found['dark']) == set(found['light'])  # dark overrides every colour


@pytest.mark.parametrize('scheme', ['light', 'dark'])
def test_every_pair_meets_aa(scheme):
    colours = schemes()[scheme]
    low = [(fg, bg, round(ratio(colours[fg], colours[bg]), 2), least)
           for fg, bg, least in PAIRS if ratio(colours[fg], colours[bg]) < least]
    assert low == []


def test_no_colour_is_spelled_outside_the_variables():
    # A literal colour in a rule would skip the dark scheme (and this test).
    css = stylesheet()
    rules = re.sub(r'^:root \{.*?^\}', '', css, count=1, flags=re.S | re.M)
    rules = re.sub(r'prefers-color-scheme: dark\) \{\s*:root \{.*?\}', '', rules, flags=re.S)
    assert re.findall(r'#[0-9a-fA-F]{3,6}\b', rules) == []
