"""No import cycle inside sovereign_agents.

The graph has one edge per ``import`` statement of a module of the package that names
another module of it, wherever the statement is: at the top or inside a function (a lazy
import is a dependency all the same). Imports under ``if TYPE_CHECKING:`` are left out: they
never run (type checkers resolve cyclic annotations themselves). A package's ``__init__`` is
not implied by importing one of its modules (every module would then depend on the package
root). A cycle is a strongly connected component of more than one module, or a module that
imports itself. Run this file as a script to print the components
(``python tests/test_import_graph.py [PACKAGE_DIR]``).
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

PACKAGE = "sovereign_agents"
ROOT = Path(__file__).resolve().parent.parent / PACKAGE


def module_names(root: Path = ROOT) -> dict[str, Path]:
    """Every module of the package by its dotted name (a package by its ``__init__``)."""
    names = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        names[".".join(parts)] = path
    return names


def _imported(node: ast.AST, module: str, is_package: bool, modules: set[str]) -> Iterator[str]:
    """The package's modules an import statement loads: ``from p import m`` loads module
    ``p.m`` when there is one, else (a name defined in ``p``) module ``p``."""
    if isinstance(node, ast.Import):
        for alias in node.names:
            yield alias.name
    elif isinstance(node, ast.ImportFrom):
        if node.level:  # relative: resolve against this module's package
            base = module.split(".")
            base = base if is_package else base[:-1]
            base = base[: len(base) - (node.level - 1)]
            stem = ".".join([*base, node.module] if node.module else base)
        else:
            stem = node.module or ""
        for alias in node.names:
            name = f"{stem}.{alias.name}"
            yield name if name in modules else stem


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _run_time_nodes(tree: ast.AST) -> Iterator[ast.AST]:
    """Every node of ``tree`` except the bodies of ``if TYPE_CHECKING:`` (their ``else``
    runs, so it stays)."""
    todo = [tree]
    while todo:
        node = todo.pop()
        yield node
        if isinstance(node, ast.If) and _is_type_checking(node):
            todo.extend(node.orelse)
            continue
        todo.extend(ast.iter_child_nodes(node))


def import_graph(root: Path = ROOT) -> dict[str, set[str]]:
    """module -> the package's modules it imports (at run time)."""
    modules = module_names(root)
    names = set(modules)
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        is_package = path.name == "__init__.py"
        for node in _run_time_nodes(tree):
            for target in _imported(node, name, is_package, names):
                if target in names:
                    graph[name].add(target)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components that are cycles (Tarjan's algorithm, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work: list[tuple[str, Iterator[str]]] = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1 or node in graph[node]:
                    found.append(sorted(component))
    return sorted(found)


def test_the_finder_sees_a_cycle_it_is_shown(tmp_path: Path) -> None:
    package = tmp_path / PACKAGE
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from sovereign_agents.b import x\n")
    (package / "b.py").write_text("def f():\n    from sovereign_agents import c\n")
    (package / "c.py").write_text(
        "import typing\nif typing.TYPE_CHECKING:\n    from . import d\nelse:\n"
        "    def g():\n        from .a import y\n"
    )
    (package / "d.py").write_text("import sovereign_agents.a\nimport os\n")
    (package / "f.py").write_text("from sovereign_agents import d, sub\n")
    (package / "sub" / "__init__.py").write_text("from . import e\n")
    (package / "sub" / "e.py").write_text("from .. import d\nfrom . import e\n")
    graph = import_graph(package)
    assert graph["sovereign_agents.c"] == {"sovereign_agents.a"}
    assert graph["sovereign_agents.sub.e"] == {"sovereign_agents.d", "sovereign_agents.sub.e"}
    assert graph["sovereign_agents.f"] == {"sovereign_agents.d", "sovereign_agents.sub"}
    assert graph["sovereign_agents.b"] == {"sovereign_agents.c"}
    assert cycles(graph) == [
        ["sovereign_agents.a", "sovereign_agents.b", "sovereign_agents.c"],
        ["sovereign_agents.sub.e"],
    ]


def test_sovereign_agents_has_no_import_cycle() -> None:
    graph = import_graph()
    assert len(graph) > 50  # the walk found the package
    found = cycles(graph)
    assert not found, "import cycles: " + "; ".join(" <-> ".join(c) for c in found)


if __name__ == "__main__":
    graph = import_graph(Path(sys.argv[1]).resolve() if len(sys.argv) > 1 else ROOT)
    found = cycles(graph)
    edges = sum(len(targets) for targets in graph.values())
    print(f"{len(graph)} modules, {edges} import edges, {len(found)} cycle(s)")
    for component in found:
        print(f"  {len(component)} modules: " + ", ".join(component))
    sys.exit(1 if found else 0)
