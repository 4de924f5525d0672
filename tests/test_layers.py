"""The package layering of the lab: imports go down the pipeline, never up, and no two packages import each other.

    cli -> experiments -> decoders, acoustic -> lm -> logits
    inside experiments: bench -> sweep -> measures

`decoders` and `acoustic` sit side by side: both read or write the store, neither imports the other. Lazy imports
inside functions count as much as those at the top of a module.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]

# Each package and the packages it may import: exactly the layers below it.
ALLOWED: dict[str, frozenset[str]] = {
    "logits": frozenset(),
    "lm": frozenset({"logits"}),
    "decoders": frozenset({"logits", "lm"}),
    "acoustic": frozenset({"logits", "lm"}),
    "experiments": frozenset({"logits", "lm", "decoders", "acoustic"}),
    "cli": frozenset({"logits", "lm", "decoders", "acoustic", "experiments"}),
}


# Inside experiments, each concept's sub-package and the sub-packages it may import.
EXPERIMENTS: dict[str, frozenset[str]] = {
    "measures": frozenset(),
    "sweep": frozenset({"measures"}),
    "bench": frozenset({"measures", "sweep"}),
}


def package_imports(root: Path, packages: set[str], prefix: str = "") -> dict[str, dict[str, list[str]]]:
    """package -> imported package -> the modules (file:line) that import it, for imports among `packages` (the
    folders of `root`, imported as `prefix` + name)."""
    graph: dict[str, dict[str, list[str]]] = {name: {} for name in packages}
    for name in packages:
        for path in sorted((root / name).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            for node in ast.walk(tree):
                if isinstance(node, ast.Import):
                    targets = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    targets = [node.module]
                else:
                    continue  # relative imports stay inside their package
                for target in targets:
                    if not target.startswith(prefix):
                        continue
                    top = target[len(prefix):].split(".")[0]
                    if top in packages and top != name:
                        graph[name].setdefault(top, []).append(f"{path.relative_to(root)}:{node.lineno}")
    return graph


def violations(graph: dict[str, dict[str, list[str]]], allowed: dict[str, frozenset[str]]) -> list[str]:
    """Every import that goes up or sideways, and every cycle, as a readable line."""
    found = [
        f"{package} imports {target} ({', '.join(where)}): {package} may import only {sorted(allowed[package])}"
        for package, targets in sorted(graph.items())
        for target, where in sorted(targets.items())
        if target not in allowed[package]
    ]
    for cycle in cycles({p: set(t) for p, t in graph.items()}):
        found.append("import cycle: " + " -> ".join(cycle))
    return found


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The cycles a depth-first search meets (each as a closed path), none when the graph is acyclic."""
    found, state = [], {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = "open"
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == "open":
                found.append(path[path.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = "done"

    for node in sorted(edges):
        if node not in state:
            visit(node, [node])
    return found


def test_every_package_has_a_layer():
    packages = {p.parent.name for p in REPO.glob("*/__init__.py")}
    assert packages == set(ALLOWED), "place the new package in ALLOWED (and in README's Architecture section)"


def test_packages_import_only_the_layers_below_them():
    assert violations(package_imports(REPO, set(ALLOWED)), ALLOWED) == []


def test_the_checker_finds_an_upward_import_and_a_cycle(tmp_path):
    for package, body in {"logits": "from decoders.base import Decoder\n", "decoders": "import logits.store\n"}.items():
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text("")
        (tmp_path / package / "mod.py").write_text(f"def lazy():\n    {body}")
    found = violations(package_imports(tmp_path, {"logits", "decoders"}), ALLOWED)
    assert any(line.startswith("logits imports decoders (logits/mod.py:2)") for line in found)
    assert "import cycle: decoders -> logits -> decoders" in found


def test_the_checker_finds_an_upward_import_between_sub_packages(tmp_path):
    for package in ("measures", "sweep"):
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text("")
    (tmp_path / "measures" / "mod.py").write_text("from experiments.sweep.run import sweep\n")
    found = violations(package_imports(tmp_path, {"measures", "sweep"}, prefix="experiments."), EXPERIMENTS)
    assert found == ["measures imports sweep (measures/mod.py:1): measures may import only []"]


def test_experiments_sub_packages_import_only_those_below_them():
    found = package_imports(REPO / "experiments", set(EXPERIMENTS), prefix="experiments.")
    assert violations(found, EXPERIMENTS) == []


def test_every_experiments_module_lives_in_a_sub_package():
    loose = sorted(p.name for p in (REPO / "experiments").glob("*.py") if p.name != "__init__.py")
    assert loose == [], "experiments/ holds sub-packages by concept (sweep, measures, bench); place the module in one"
    packages = {p.parent.name for p in (REPO / "experiments").glob("*/__init__.py")}
    assert packages == set(EXPERIMENTS), "give the new sub-package its place in EXPERIMENTS (and in the README)"


@pytest.mark.parametrize("package", sorted(ALLOWED) + [f"experiments.{name}" for name in sorted(EXPERIMENTS)])
def test_pyproject_installs_every_layer(package):
    assert f'"{package}"' in (REPO / "pyproject.toml").read_text(encoding="utf-8")
