"""Issue 24 item 7: the layout shows the architecture. Every module lives in a layer a newcomer reads from its folder
name; no module imports from a layer above its own (function-level imports included); no import cycle."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "livingreview"
#: lowest first: a module may import from its own layer and the layers before it (``meta``, the numerics of
#: pooling, is one module: its public name is ``livingreview.meta``)
LAYERS = ("model", "meta", "checking", "curation", "analysis", "publishing", "commands")


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path) -> set[str]:
    """Every livingreview module ``path`` imports, anywhere in it (a name imported from a package is its module)."""
    found: set[str] = set()
    modules = {module_name(p) for p in PACKAGE.rglob("*.py")}
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "livingreview":
            for alias in node.names:
                sub = f"{node.module}.{alias.name}"
                found.add(sub if sub in modules else node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.split(".")[0] == "livingreview")
    return found - {module_name(path)}


def layer(module: str) -> int | None:
    parts = module.split(".")
    return LAYERS.index(parts[1]) if len(parts) > 1 and parts[1] in LAYERS else None


def graph() -> dict[str, set[str]]:
    return {module_name(p): imports(p) for p in sorted(PACKAGE.rglob("*.py"))}


def test_every_module_lives_in_a_layer():
    loose = [m for m in graph() if m != "livingreview" and layer(m) is None]
    assert loose == []


def test_no_module_imports_from_a_layer_above_its_own():
    upward = [f"{m} -> {d}" for m, deps in graph().items() for d in deps
              if m != "livingreview" and layer(d) is not None and layer(m) is not None and layer(d) > layer(m)]
    assert upward == []


def find_cycle(edges: dict[str, set[str]]) -> list[str]:
    """One cycle of ``edges`` (as the list of its modules, the first repeated at the end), or [] if there is none."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt):], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return []

    for node in sorted(edges):
        if node not in state and (found := visit(node)):
            return found
    return []


def test_the_package_has_no_import_cycle():
    edges = {m: {d for d in deps if d != "livingreview"} for m, deps in graph().items()}
    assert find_cycle(edges) == []


def test_the_cycle_finder_finds_the_cycles_this_package_had():
    old = {"book": {"execute"}, "execute": {"chapter"}, "chapter": {"book"}, "evidence": {"validate"},
           "validate": {"releases"}, "releases": {"summaries"}, "summaries": {"evidence"}}
    assert find_cycle(old) in (["book", "execute", "chapter", "book"], ["chapter", "book", "execute", "chapter"])
    assert find_cycle({"a": {"b"}, "b": set()}) == []


def test_the_public_api_stays_where_it_was():
    import livingreview as lr
    from livingreview import meta

    assert callable(lr.load) and callable(lr.validate) and callable(meta.escalc) and callable(meta.rma)
