"""The run's fault log: one JSON line per fault that fired, merged across xdist workers.

Each process (the controller or an xdist worker) appends its tests' lines to its own part
file next to the target; the controller merges the parts when the session ends, ordered
by test id (lines of one test keep their order), so the merged log does not depend on
how tests were spread over workers.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

__all__ = ["FaultLogWriter", "read_fault_log"]


class FaultLogWriter:
    def __init__(self, path: str | Path, process: str) -> None:
        self.path = Path(path)
        self.part = self.path.with_name(f"{self.path.name}.{process}.part")

    @classmethod
    def _parts(cls, path: str | Path) -> list[Path]:
        target = Path(path)
        return sorted(target.parent.glob(f"{target.name}.*.part"))

    @classmethod
    def discard_parts(cls, path: str | Path) -> None:
        for part in cls._parts(path):
            part.unlink(missing_ok=True)

    def write(self, lines: Iterable[dict[str, Any]]) -> None:
        lines = list(lines)
        if not lines:
            return
        self.part.parent.mkdir(parents=True, exist_ok=True)
        with self.part.open("a", encoding="utf-8") as fh:
            for line in lines:
                fh.write(json.dumps(line, sort_keys=True, default=str) + "\n")

    def merge(self) -> int:
        """Join every part into the target file; returns the number of lines."""
        by_test: dict[str, list[str]] = {}
        for part in self._parts(self.path):
            for raw in part.read_text(encoding="utf-8").splitlines():
                if raw.strip():
                    by_test.setdefault(str(json.loads(raw).get("test")), []).append(raw)
            part.unlink(missing_ok=True)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("w", encoding="utf-8") as fh:
            for test in sorted(by_test):
                for raw in by_test[test]:
                    fh.write(raw + "\n")
        return sum(len(v) for v in by_test.values())


def read_fault_log(path: str | Path) -> list[dict[str, Any]]:
    return [
        json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line
    ]
