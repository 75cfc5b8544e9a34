"""The structure the harness promises: one owner per concern, no import cycles, a thin plugin."""

from __future__ import annotations

import ast
import re
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import pytest

from harness.chaos.faults import registry

ROOT = Path(__file__).resolve().parents[2] / "harness"
MODULES = sorted(p for p in ROOT.rglob("*.py"))


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def runtime_imports(path: Path) -> set[str]:
    """Modules imported at module level (not under TYPE_CHECKING, not inside functions)."""
    tree = ast.parse(path.read_text())
    found: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            continue
        for sub in [node] if not isinstance(node, ast.If) else node.body:
            if isinstance(sub, ast.Import):
                found.update(a.name for a in sub.names)
            elif isinstance(sub, ast.ImportFrom) and sub.module and sub.level == 0:
                found.add(sub.module)
                found.update(f"{sub.module}.{a.name}" for a in sub.names)
    return {m for m in found if m.startswith("harness")}


def test_no_import_cycle_at_runtime() -> None:
    names = {module_name(p): p for p in MODULES}
    graph = {
        name: {m for m in runtime_imports(path) if m in names and m != name}
        for name, path in names.items()
    }
    # a package imports its submodules: edges into a package's own children are expected
    for name, deps in graph.items():
        graph[name] = {d for d in deps if not d.startswith(name + ".")}
    try:
        tuple(TopologicalSorter(graph).static_order())
    except CycleError as exc:
        pytest.fail(f"import cycle: {exc.args[1]}")


def _mentions_kind(node: ast.AST) -> bool:
    text = ast.unparse(node)
    return bool(re.search(r"(\bkind\b|\.kind\b|\[.kind.\])", text))


def _kind_constants(node: ast.AST, kinds: set[str]) -> list[str]:
    values = node.elts if isinstance(node, (ast.Tuple, ast.List, ast.Set)) else [node]
    return [v.value for v in values if isinstance(v, ast.Constant) and v.value in kinds]


def test_fault_kind_names_are_compared_only_in_the_faults_package_and_the_yaml_loader() -> None:
    """Invariants, the plugin and the report ask faults for their traits; a comparison such
    as ``line.kind == "latency"`` anywhere else is a concern in the wrong place."""
    kinds = set(registry())
    allowed = {ROOT / "scenario.py", ROOT / "faults.py"} | set(
        (ROOT / "chaos" / "faults").glob("*.py")
    )
    offenders = []
    for path in MODULES:
        if path in allowed:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Compare):
                continue
            sides = [node.left, *node.comparators]
            if any(_mentions_kind(side) for side in sides):
                for side in sides:
                    for name in _kind_constants(side, kinds):
                        offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}: {name!r}")
    assert not offenders, "fault kinds compared outside the faults package:\n" + "\n".join(
        offenders
    )


@pytest.mark.parametrize("name", ["plugin.py", "plugin_toxiproxy.py"])
def test_the_plugin_is_thin(name: str) -> None:
    lines = (ROOT / name).read_text().splitlines()
    assert len(lines) <= 300, f"{name} has {len(lines)} lines"


def test_the_library_does_not_import_the_reference_strategies() -> None:
    pattern = re.compile(r"^\s*(from|import)\s+strategies\b", re.M)
    assert not [p for p in MODULES if pattern.search(p.read_text())]


def test_signals_are_not_user_errors() -> None:
    errors = (ROOT / "errors.py").read_text()
    for name in ("ConnectionDrop", "TruncatedBody", "DribbledBody", "WsClose", "WireFault"):
        assert f"class {name}" not in errors


CLOCK_READS = {"monotonic", "monotonic_ns", "time", "time_ns", "perf_counter", "perf_counter_ns"}


def test_everything_the_harness_times_reads_harness_clock() -> None:
    """One clock: only harness/clock.py reads the machine's clocks (time.monotonic(),
    time.time(), datetime.now()...); the rest reads harness.clock, real or virtual."""
    found = []
    for path in MODULES:
        if path.name == "clock.py" and path.parent == ROOT:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
                continue
            owner, attr = ast.unparse(node.func.value), node.func.attr
            if (owner == "time" and attr in CLOCK_READS) or (
                owner.split(".")[-1] in {"datetime", "date"} and attr in {"now", "utcnow", "today"}
            ):
                found.append(f"{path.relative_to(ROOT.parent)}:{node.lineno}: {owner}.{attr}()")
    assert not found, "read harness.clock instead:\n" + "\n".join(found)
