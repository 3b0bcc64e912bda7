"""The README's tables stay true: routes, commands, configuration and the module
tour match the code; the models match the migrated schema; and every table a
cached public page reads moves the cache on when it changes."""

import argparse
import os
import re
from dataclasses import fields

import pytest

from blog import cli
from blog.config import Config
from blog.db import db
from blog.models import ALL_MODELS
from tests.conftest import ROOT

README = os.path.join(ROOT, 'README.md')


def tables(header_start):
    """Rows (lists of cells) of every README table whose header starts so."""
    with open(README, encoding='utf-8') as source:
        lines = source.read().splitlines()
    rows, inside = [], False
    for line in lines:
        if line.startswith(header_start):
            inside = True
            continue
        if inside and line.startswith('|'):
            if not set(line) <= set('|-: '):
                rows.append([cell.strip() for cell in line.strip().strip('|').split('|')])
        else:
            inside = False
    return rows


def code(cell):
    """The `code` spans of a cell."""
    return re.findall(r'`([^`]*)`', cell)


def wildcards(path):
    """A route path with every wildcard as <>, however it is named or filtered."""
    return re.sub(r'<[^>]*>', '<>', path)


def test_every_route_is_in_the_readme_and_every_readme_route_exists(app):
    documented = set()
    named = {}
    for row in tables('| method | path |'):
        for method in row[0].split(','):
            for path in code(row[1]):
                documented.add((method.strip(), wildcards(path)))
                if len(row) > 2 and code(row[2]) and row[2].startswith('`'):
                    named[(method.strip(), wildcards(path))] = code(row[2])[0]
    routes = {(route.method, wildcards(route.rule)): route.name for route in app.routes}
    assert documented == set(routes)
    assert named and all(routes[key] == name for key, name in named.items())


def test_the_route_check_would_see_a_missing_route():
    assert wildcards('/posts/<post_id:re:[0-9]{1,18}>/revisions/<n>') == '/posts/<>/revisions/<>'
    assert ('GET', '/') in {(row[0], code(row[1])[0]) for row in tables('| method | path |')}


def test_every_command_is_in_the_readme():
    documented = set()
    for row in tables('| command | does |'):
        words = code(row[0])[0].split()
        documented.add(words[2] if len(words) > 2 else 'serve')
    parser = cli.build_parser(Config())
    subcommands = next(action for action in parser._actions
                       if isinstance(action, argparse._SubParsersAction))
    assert documented == set(subcommands.choices)


# The README's configuration rows by flag: the Config field each one sets.
FLAG_FIELDS = {'--db': 'db_path', '--host': 'host', '--port': 'port',
               '--base-url': 'base_url', '--threads': 'threads',
               '--trusted-proxy': 'trusted_proxy', '--media-dir': 'media_dir',
               '--smtp-url': 'smtp_url', '--mail-from': 'mail_from'}


def test_the_configuration_table_matches_config_and_the_flags(monkeypatch):
    rows = tables('| setting | flag | environment | default |')
    parser = cli.build_parser(Config())
    serve = next(action for action in parser._actions
                 if isinstance(action, argparse._SubParsersAction)).choices['serve']
    serve_flags = {option for action in serve._actions for option in action.option_strings
                   if option.startswith('--') and option != '--help'}
    assert {code(row[1])[0] for row in rows} == serve_flags == set(FLAG_FIELDS)
    names = {field.name for field in fields(Config)}
    defaults = Config()
    for row in rows:
        flag, env, default = code(row[1])[0], code(row[2]), row[3]
        name = FLAG_FIELDS[flag]
        assert name in names
        value = getattr(defaults, name)
        if default.startswith('`') and default.strip('`') not in ('http://HOST:PORT',):
            assert default.strip('`').lstrip('./') == str(value), flag
        elif default == 'none':
            assert value is None, flag
        elif default.isdigit():
            assert int(default) == value, flag
        for variable in env:  # the variable really sets that field
            sample = {'port': '8123', 'threads': '3',
                      'smtp_url': 'smtp://mail.example:2525'}.get(name, 'x.example')
            assert getattr(Config.from_env({variable: sample}), name) in (sample, int(
                sample) if sample.isdigit() else sample), variable
    # Every BLOG_* variable Config reads is in the table.
    with open(os.path.join(ROOT, 'blog', 'config.py'), encoding='utf-8') as source:
        read = set(re.findall(r"'(BLOG_[A-Z_]+)'", source.read()))
    assert read == {variable for row in rows for variable in code(row[2])}


def test_the_module_tour_names_every_module_and_template_folder():
    rows = tables('| module | templates | what |')
    listed = {code(row[0])[0] for row in rows}
    package = os.path.join(ROOT, 'blog')
    actual = {'blog/%s' % name for name in os.listdir(package)
              if name.endswith('.py') and name != '__init__.py'}
    actual |= {'blog/%s/' % name for name in os.listdir(package)
               if os.path.isdir(os.path.join(package, name)) and name != '__pycache__'}
    actual |= {'run.py', 'benchmarks/'}
    assert listed == actual
    # Each query module is named in the queries row.
    queries_row = next(row for row in rows if code(row[0])[0] == 'blog/queries/')
    for name in os.listdir(os.path.join(package, 'queries')):
        if name.endswith('.py') and name != '__init__.py':
            assert '`%s`' % name[:-3] in queries_row[2], name
    folders = {name for row in rows for name in code(row[1])}
    templates = os.path.join(ROOT, 'templates')
    existing = {name + '/' for name in os.listdir(templates)
                if os.path.isdir(os.path.join(templates, name))}
    existing |= {name for name in os.listdir(templates) if name.endswith('.html')}
    assert folders == existing


def test_the_models_match_the_migrated_schema(dbconn):
    for model in ALL_MODELS:
        table = model._meta.table_name
        columns = {row[1]: row for row in db.execute_sql('PRAGMA table_info("%s")' % table)}
        expected = {field.column_name: field for field in model._meta.sorted_fields}
        assert set(columns) == set(expected), table
        for name, field in expected.items():
            not_null = bool(columns[name][3]) or bool(columns[name][5])  # pk: implied
            assert not_null == (not field.null), '%s.%s' % (table, name)


# Tables that only triggers on another table write (they change with it).
DERIVED = {'post_tag': 'post', 'post_search': 'post', 'author_latest': 'post',
           'tag_span': 'post'}
# Changes to a table that no cached page can show before another change bumps it.
NOT_SHOWN = {('site_settings', 'INSERT'): 'its one row is made by its migration',
             ('site_settings', 'DELETE'): 'its one row is never deleted'}
CACHED_PAGES = ['/', '/authors', '/authors/alice', '/posts/{post}', '/tags/news',
                '/feed.atom', '/authors/alice/feed.atom', '/tags/news/feed.atom',
                '/sitemap.xml']


@pytest.fixture
def traced_tables(site, monkeypatch):
    """The tables each SQL statement the test runs reads (FROM and JOIN)."""
    seen = set()
    database = site.backend.database
    real = database.execute_sql

    def tracing(sql, params=None):
        seen.update(re.findall(r'(?:FROM|JOIN)\s+"?(\w+)"?', sql, re.I))
        return real(sql, params)
    monkeypatch.setattr(database, 'execute_sql', tracing)
    return seen


def test_every_table_a_cached_page_reads_moves_the_cache_on(site, client, people, make_post,
                                                            dbconn, traced_tables):
    post = make_post(people['alice'], tags=['news'])
    traced_tables.clear()
    site.cache.clear()
    for path in CACHED_PAGES:
        client.get(path.format(post=post.id))
    read = traced_tables - {'site_state', 'json_each'}
    assert {'post', 'user', 'post_tag'} <= read
    bumping = {}
    for table, sql in db.execute_sql(
            "SELECT tbl_name, sql FROM sqlite_master WHERE type = 'trigger'"):
        if 'site_state' in sql:
            event = re.search(r'AFTER\s+(INSERT|UPDATE|DELETE)', sql, re.I).group(1).upper()
            bumping.setdefault(table, set()).add(event)
    for table in sorted(read):
        source = DERIVED.get(table, table)
        missing = {event for event in ('INSERT', 'UPDATE', 'DELETE')
                   if event not in bumping.get(source, set())
                   and (source, event) not in NOT_SHOWN}
        assert not missing, 'a cached page reads %s, but %s on %s does not bump the ' \
                            'cache generation' % (table, ', '.join(sorted(missing)), source)
