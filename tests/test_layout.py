"""The code's layout rules, checked: no import cycles (imports inside functions
count), route modules never import each other, queries only in the query layer,
paths spelled only where routes are installed, no module over ~400 lines."""

import ast
import os
import re

from tests.conftest import ROOT

PACKAGE = os.path.join(ROOT, 'blog')
MAX_LINES = 400
MODELS = {'User', 'Post', 'Session', 'Revision', 'PostTag', 'SiteState', 'AuditEntry',
          'PostSearch'}
QUERY_METHODS = {'select', 'update', 'delete', 'insert', 'insert_many', 'create', 'get',
                 'get_or_none', 'get_by_id', 'delete_instance', 'raw', 'execute_sql'}
# Where queries may be built: the query layer, the backends behind the seam, the
# versioned base model's own UPDATE, and the migrations.
QUERY_LAYER = ('blog/queries/', 'blog/sqlite.py', 'blog/sqlite_bulk.py', 'blog/versioning.py',
               'blog/migrations/')


def modules():
    """{dotted name: path} of every module in the package, migrations aside."""
    found = {}
    for folder, _, files in os.walk(PACKAGE):
        if 'migrations' in folder or '__pycache__' in folder:
            continue
        for name in files:
            if name.endswith('.py'):
                path = os.path.join(folder, name)
                dotted = os.path.relpath(path, ROOT)[:-3].replace(os.sep, '.')
                found[dotted.removesuffix('.__init__')] = path
    return found


def parse(path):
    with open(path, encoding='utf-8') as source:
        return ast.parse(source.read(), path)


def imports(path, known):
    """The package's modules that `path` imports, anywhere in it."""
    out = set()
    for node in ast.walk(parse(path)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module] + ['%s.%s' % (node.module, a.name) for a in node.names]
        else:
            continue
        out.update(name for name in names if name in known)
    return out


def graph():
    known = modules()
    return {name: imports(path, known) - {name} for name, path in known.items()}


def route_modules():
    """Modules that install routes (they define install(app))."""
    return {name for name, path in modules().items()
            if any(isinstance(node, ast.FunctionDef) and node.name == 'install'
                   for node in parse(path).body)}


def find_cycles(edges):
    """Import cycles in a {module: modules it imports} graph, as lists of names."""
    state, cycles = {}, []

    def visit(name, trail):
        state[name] = 'open'
        for other in sorted(edges.get(name, ())):
            if state.get(other) == 'open':
                cycles.append(trail[trail.index(other):] + [other])
            elif other not in state:
                visit(other, trail + [other])
        state[name] = 'done'
    for name in sorted(edges):
        if name not in state:
            visit(name, [name])
    return cycles


def test_there_are_no_import_cycles():
    assert find_cycles(graph()) == []


def test_the_checks_see_what_they_look_for():
    assert find_cycles({'a': {'b'}, 'b': {'c'}, 'c': {'a'}}) == [['a', 'b', 'c', 'a']]
    # Imports inside functions count: the command line imports the app in serve().
    assert 'blog.app' in graph()['blog.cli']
    assert {'blog.posts', 'blog.home', 'blog.auth'} <= route_modules()


def test_route_modules_do_not_import_each_other():
    routes = route_modules()
    edges = graph()
    crossing = {name: sorted(edges[name] & routes) for name in routes if edges[name] & routes}
    assert crossing == {}


def test_no_module_is_over_the_size_limit():
    long = {}
    for name, path in modules().items():
        with open(path, encoding='utf-8') as source:
            count = sum(1 for _ in source)
        if count > MAX_LINES:
            long[name] = count
    assert long == {}


def query_calls(path):
    """(line, text) of each query built on a model class in `path`."""
    found = []
    for node in ast.walk(parse(path)):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        target = node.func.value
        if node.func.attr == 'execute_sql' or (
                node.func.attr in QUERY_METHODS and isinstance(target, ast.Name)
                and target.id in MODELS):
            found.append((node.lineno, ast.unparse(node.func)))
    return found


def test_queries_live_in_the_query_layer():
    outside = {}
    for path in modules().values():
        relative = os.path.relpath(path, ROOT).replace(os.sep, '/')
        if relative.startswith(QUERY_LAYER):
            continue
        calls = query_calls(path)
        if calls:
            outside[relative] = calls
    assert outside == {}


def test_the_query_check_sees_queries(tmp_path):
    sample = tmp_path / 'sample.py'
    sample.write_text('def f():\n    return (User\n            .select()\n            .where(x))\n'
                      'db.execute_sql("SELECT 1")\n')
    assert sorted(text for _, text in query_calls(str(sample))) == ['User.select', 'db.execute_sql']


PATH = re.compile(r'^/(posts|authors|tags|admin|settings|login|register|logout|search|'
                  r'feed\.atom|sitemap\.xml)\b')
# Texts that name a path without linking to it: hints the command line prints (it
# has no app to ask) and robots.txt's path prefixes (whole areas, not routes).
ALLOWED = {('blog/cli.py', 'activate them at /admin/users/'),
           ('blog/cli.py', 'an admin activates them at'),
           ('blog/discovery.py', 'Disallow: /admin')}


def python_paths(path):
    """String constants in code (docstrings and route installs aside) that start
    with one of the site's paths."""
    tree = parse(path)
    skip = set()
    for node in ast.walk(tree):
        body = getattr(node, 'body', None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr) \
                and isinstance(body[0].value, ast.Constant):
            skip.add(id(body[0].value))  # a docstring
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                and node.func.attr == 'route':
            skip.update(id(arg) for arg in ast.walk(node))
    texts = [node.value for node in ast.walk(tree)
             if isinstance(node, ast.Constant) and isinstance(node.value, str)
             and id(node) not in skip]
    joined = [node for node in ast.walk(tree) if isinstance(node, ast.JoinedStr)]
    texts += [part.value for node in joined for part in node.values
              if isinstance(part, ast.Constant)]
    return [text for text in texts if PATH.match(text.split('\n')[-1].strip())
            or any(PATH.match(word) for word in text.split())]


TEMPLATE_PATH = re.compile(r'''(?:href|action|src|formaction|content)="(/[^"{]*)''')


def test_paths_are_spelled_only_where_routes_are_installed():
    """Links and redirects are built with url(); a path appears only in the
    app.route() call that installs it (and in docstrings)."""
    spelled = []
    for path in modules().values():
        relative = os.path.relpath(path, ROOT).replace(os.sep, '/')
        spelled += [(relative, text) for text in python_paths(path)
                    if not any(relative == where and part in text for where, part in ALLOWED)]
    for base, _, files in os.walk(os.path.join(ROOT, 'templates')):
        for name in files:
            path = os.path.join(base, name)
            with open(path, encoding='utf-8') as source:
                spelled += [(os.path.relpath(path, ROOT), match)
                            for match in TEMPLATE_PATH.findall(source.read())]
    assert spelled == []


def test_the_path_check_sees_a_spelled_path(tmp_path):
    sample = tmp_path / 'sample.py'
    sample.write_text('"""Docs about /posts/1."""\n'
                      'def f(app):\n    app.route("/posts/<id>", "GET", f)\n'
                      '    return "/posts/%d/edit" % 3\n')
    assert python_paths(str(sample)) == ['/posts/%d/edit']
