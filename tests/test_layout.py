"""The package's layout: modules depend on each other one way only, so a stage can change without pulling others."""

from __future__ import annotations

import ast

from conftest import REPO

PACKAGE = REPO / "lib" / "molting"


def molting_imports(tree: ast.AST, modules: set[str]) -> set[str]:
    """The molting modules a module imports, at the top or inside functions; `if TYPE_CHECKING:` blocks
    (annotations only, never run) are left out."""
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and getattr(node.test, "id", None) == "TYPE_CHECKING":
            return
        if isinstance(node, ast.ImportFrom) and node.module:
            parts = node.module.split(".")
            if parts[0] == "molting":
                found.update([parts[1]] if len(parts) > 1 else [a.name for a in node.names])
        elif isinstance(node, ast.Import):
            found.update(a.name.split(".")[1] for a in node.names if a.name.startswith("molting."))
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return found & modules


def test_no_module_imports_one_that_imports_it_back():
    files = {p.parent.name if p.name == "__init__.py" else p.stem: p
             for p in PACKAGE.rglob("*.py") if p.parent == PACKAGE or p.name == "__init__.py"}
    files.pop("molting", None)
    graph = {name: molting_imports(ast.parse(path.read_text(encoding="utf-8")), set(files)) - {name}
             for name, path in files.items()}
    assert {"train", "evaluate", "preflight", "patterns", "params"} <= set(graph) and graph["train"]   # the graph is read
    cycles, state = [], {}

    def walk(name: str, path: list[str]) -> None:
        state[name] = "open"
        for dep in sorted(graph[name]):
            if state.get(dep) == "open":   # on the current path: a cycle
                stack = path + [name]
                cycles.append(" -> ".join(stack[stack.index(dep):] + [dep]))
            elif dep not in state:
                walk(dep, path + [name])
        state[name] = "done"

    for name in sorted(graph):
        if name not in state:
            walk(name, [])
    assert not cycles, f"import cycles: {cycles}"
