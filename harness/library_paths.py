"""Where scenario files live: the built-in library, the project's own folder, and the
default scenario set. Light on purpose (pathlib only): the plugin reads it to print its
header in every pytest run, before any scenario is loaded."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from importlib import resources
from pathlib import Path

__all__ = ["SUFFIXES", "builtin_dir", "default_spec", "find_scenario_files", "project_scenarios"]

SUFFIXES = (".yaml", ".yml")


def builtin_dir() -> Path:
    """The built-in scenario library (inside the wheel, or the checkout's ``scenarios/``)."""
    packaged = Path(str(resources.files("harness"))) / "scenarios"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parent.parent / "scenarios"


def find_scenario_files(paths: Iterable[str | Path]) -> list[Path]:
    """YAML files named directly or found (recursively, sorted) in folders."""
    out: list[Path] = []
    for p in paths:
        path = Path(p)
        if path.is_dir():
            out.extend(sorted(f for f in path.rglob("*") if f.suffix in SUFFIXES and f.is_file()))
        else:
            out.append(path)
    return out


def project_scenarios(project_root: str | Path | None) -> Path | None:
    """The project's own scenarios folder (``scenarios/`` under the root) when it holds any
    scenario file and is not the built-in library itself."""
    if project_root is None:
        return None
    own = Path(project_root) / "scenarios"
    if not own.is_dir() or own.resolve() == builtin_dir().resolve():
        return None
    return own if find_scenario_files([own]) else None


def default_spec(project_root: str | Path | None, ini: Sequence[str] = ()) -> tuple[str, str]:
    """The scenario set of the ``scenario`` fixture when ``--chaos-scenarios`` is not given,
    and where it came from: the ini setting ``chaos_scenarios``, else the project's own
    ``scenarios/`` folder, else the built-in library."""
    if ini:
        return ",".join(ini), "ini chaos_scenarios"
    own = project_scenarios(project_root)
    if own is not None:
        return str(own), "the project's scenarios/ folder"
    return "", "the built-in library"
