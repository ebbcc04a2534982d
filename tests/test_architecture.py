"""The shape of the code: imports run one way, between modules and between packages.

Read from the source with ``ast`` (every import, also those inside functions), so a cycle or a
dependency against the layering fails here before it confuses a reader.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import observatory

PACKAGE = Path(observatory.__file__).parent
#: The domains, each allowed to import only those after it (and the shared modules).
LAYERS = (
    "audit",
    "contact",
    "submissions",
    "curation",
    "accounts",
    "mail",
    "opendata",
    "statistics",
    "catalogue",
    "search",
)
#: Modules every domain may use; "observatory" is the package itself, for its __version__.
SHARED = {"web", "i18n", "database", "text", "digests", "settings", "piccolo_conf", "observatory"}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def modules() -> dict[str, set[str]]:
    """Every module of the package and the package modules it imports."""
    sources = {_module_name(path): path for path in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in sources.items():
        imported = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                imported |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                imported.add(node.module)
                imported |= {f"{node.module}.{alias.name}" for alias in node.names}
        graph[name] = {module for module in imported if module in sources and module != name}
    return graph


def _package(module: str) -> str:
    return module.split(".")[1] if module.count(".") else module


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected parts of ``graph`` with more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in sorted(graph.get(node, ())):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            part = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                part.append(member)
                if member == node:
                    break
            if len(part) > 1:
                found.append(sorted(part))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_module_imports_a_module_that_imports_it_back():
    assert _cycles(modules()) == []


def test_no_package_imports_a_package_that_imports_it_back():
    packages: dict[str, set[str]] = {}
    for module, imported in modules().items():
        own = _package(module)
        packages.setdefault(own, set()).update(
            _package(other) for other in imported if _package(other) != own
        )
    assert _cycles(packages) == []


def test_domains_depend_one_way_and_only_on_shared_modules_besides():
    wrong = []
    for module, imported in modules().items():
        own = _package(module)
        if own not in LAYERS:
            continue
        allowed = set(LAYERS[LAYERS.index(own) :]) | SHARED
        wrong += [(module, other) for other in imported if _package(other) not in allowed]
    assert wrong == []


def test_nothing_imports_the_app_and_no_domain_imports_another_domains_controllers():
    wrong = []
    for module, imported in modules().items():
        for other in imported:
            controller = "controllers" in other.rsplit(".", 1)[-1] and _package(other) != _package(module)
            if other == "observatory.app" or (controller and module != "observatory.app"):
                wrong.append((module, other))
    assert wrong == []


def test_the_check_sees_the_imports_it_is_meant_to_see():
    graph = modules()
    assert "observatory.catalogue.fields" in graph["observatory.catalogue.validation"]
    assert "observatory.search.index" in graph["observatory.catalogue.indexing"]
    assert "observatory.web" in graph["observatory.app"]
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
