"""No import cycle anywhere in the backend: between modules, nor between the sibling packages of any package.

import-linter's layers contracts (pyproject.toml) pin the intended order where one is declared; this test
catches a cycle anywhere else, with grimp (import-linter's own graph builder). TYPE_CHECKING imports count:
a cycle hidden behind them still means two modules share one responsibility.
"""

from __future__ import annotations

import grimp
import pytest

KNOWN_CYCLES: frozenset[frozenset[str]] = frozenset()  # none: keep it that way


def _reachable(start: str, edges: dict[str, set[str]]) -> set[str]:
    seen: set[str] = set()
    todo = list(edges.get(start, ()))
    while todo:
        node = todo.pop()
        if node not in seen:
            seen.add(node)
            todo.extend(edges.get(node, ()))
    return seen


def strongly_connected(nodes: set[str], edges: dict[str, set[str]]) -> list[frozenset[str]]:
    """The groups of two or more nodes that reach each other (a few hundred modules: quadratic is fine)."""
    reach = {node: _reachable(node, edges) for node in nodes}
    groups = {frozenset({node} | {other for other in reach[node] if node in reach[other]}) for node in nodes}
    return sorted((group for group in groups if len(group) > 1), key=sorted)


def test_strongly_connected_finds_cycles_and_only_cycles() -> None:
    edges = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": {"e"}}
    assert strongly_connected({"a", "b", "c", "d", "e"}, edges) == [frozenset({"a", "b", "c"})]


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph("k8s_optimizer", include_external_packages=False)


def test_no_module_imports_itself_back(graph: grimp.ImportGraph) -> None:
    modules = set(graph.modules)
    edges = {module: set(graph.find_modules_directly_imported_by(module)) for module in modules}
    assert set(strongly_connected(modules, edges)) <= KNOWN_CYCLES


def test_no_two_sibling_packages_import_each_other(graph: grimp.ImportGraph) -> None:
    """api ↔ report was one (the report renderers now live in api/); module-level checks miss these."""
    cycles: dict[str, list[frozenset[str]]] = {}
    for package in sorted(m for m in graph.modules if graph.find_children(m)):
        children = graph.find_children(package)
        edges: dict[str, set[str]] = {}
        for child in children:
            for importer in {child} | graph.find_descendants(child):
                for imported in graph.find_modules_directly_imported_by(importer):
                    target = next((c for c in children if imported == c or imported.startswith(f"{c}.")), None)
                    if target is not None and target != child:
                        edges.setdefault(child, set()).add(target)
        found = [cycle for cycle in strongly_connected(set(children), edges) if cycle not in KNOWN_CYCLES]
        if found:
            cycles[package] = found
    assert cycles == {}
