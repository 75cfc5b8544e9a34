"""What a pytester run wrote, for tests that search it for leaked secrets."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path


def everything_written(root: Path, exclude: Iterable[str] = ()) -> dict[str, str]:
    """Every file under ``root`` (relative path -> text), but the ``exclude``d names and
    Python's caches."""
    skip = set(exclude)
    return {
        str(path.relative_to(root)): path.read_text(errors="replace")
        for path in root.rglob("*")
        if path.is_file() and path.name not in skip and "__pycache__" not in path.parts
    }
