"""The harness's dependencies, read from one place: the distribution's own metadata
(``pyproject.toml`` when run from a checkout that is not installed)."""

from __future__ import annotations

import re
import sys
from functools import cache
from importlib.metadata import PackageNotFoundError, requires, version
from pathlib import Path

__all__ = ["DISTRIBUTION", "installed", "minimum_versions"]

DISTRIBUTION = "trading-chaos-harness"
_REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9_.\-]+)(?:\[[^\]]*\])?\s*(?:>=\s*([0-9][0-9.]*))?")


def _lines() -> list[str]:
    try:
        found = requires(DISTRIBUTION)
    except PackageNotFoundError:
        found = None
    if found is not None:
        return [line for line in found if "extra ==" not in line]
    import tomllib

    pyproject = Path(__file__).resolve().parent.parent / "pyproject.toml"
    data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    return list(data["project"]["dependencies"])


@cache
def minimum_versions() -> dict[str, str]:
    """Each runtime dependency and the lowest version the harness accepts ("" for any)."""
    out: dict[str, str] = {}
    for line in _lines():
        m = _REQUIREMENT.match(line)
        if m:
            out[m.group(1)] = m.group(2) or ""
    return out


def installed(names: list[str] | None = None) -> dict[str, str | None]:
    """The installed version of the harness and of each dependency (None when missing)."""
    out: dict[str, str | None] = {"python": sys.version.split()[0]}
    for name in [DISTRIBUTION, *(names if names is not None else minimum_versions())]:
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = None
    return out
