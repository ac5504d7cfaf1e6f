"""The package reads in layers: imports go downwards only and never in a circle.

``docs/architecture.md`` describes the layers; this test keeps the code to it.
"""

import ast
from collections import defaultdict
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "summarymixing"

#: Lowest first. A module may import from its own layer and the ones before it.
LAYERS = (
    ("padding", "atomic_files", "resources"),
    ("data",),
    ("layers",),
    ("encoders",),
    ("summarymixing",),  # the package's re-exports of the layer and encoders
    ("wav2vec2",),
    ("training",),
    ("export",),
    ("mp3s.corpora",),
    ("mp3s.upstream",),
    ("mp3s.probes",),
    ("mp3s.scoring",),
    ("mp3s.brains",),
    ("mp3s.run",),
    ("mp3s",),  # the re-exports the task YAMLs name
    ("mp3s.benchmark",),
    ("finetune", "plot"),
    ("recipes",),
)
RANK = {unit: rank for rank, units in enumerate(LAYERS) for unit in units}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def layer_of(module: str) -> str:
    """The layer a module belongs to: its sub-package (or mp3s sub-folder)."""
    parts = module.split(".")
    if len(parts) == 1:
        return "summarymixing"
    if parts[1] == "mp3s" and len(parts) > 2:
        return f"mp3s.{parts[2]}"
    return parts[1]


def import_graph() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = defaultdict(set)
    for path in sorted(PACKAGE.rglob("*.py")):
        module = module_name(path)
        graph[module]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            else:
                continue
            graph[module].update(n for n in names if n.split(".")[0] == PACKAGE.name)
    return graph


def test_every_part_of_the_package_has_a_layer():
    layers = {layer_of(module) for module in import_graph()}
    assert layers <= set(RANK), f"add to LAYERS: {sorted(layers - set(RANK))}"


def test_imports_go_downwards_only():
    upward = [
        f"{module} ({layer_of(module)}) imports {target} ({layer_of(target)})"
        for module, targets in import_graph().items()
        for target in targets
        if RANK[layer_of(target)] > RANK[layer_of(module)]
    ]
    assert not upward, "\n".join(upward)


def test_no_import_circle():
    graph = import_graph()
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    circles: list[list[str]] = []

    def visit(module: str) -> None:  # Tarjan's strongly connected components
        index[module] = low[module] = len(index)
        stack.append(module)
        for target in graph.get(module, ()):
            if target not in graph:  # a name imported from a module
                continue
            if target not in index:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == module:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for module in list(graph):
        if module not in index:
            visit(module)
    assert not circles, circles
