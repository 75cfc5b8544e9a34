"""The fault log: one typed event per fault that fired, and the run's log file.

:class:`FaultEvent` is the one shape of a fault-log line, built by the chaos engine for
faults it runs and by :meth:`FaultLog.external` for faults applied outside it (Toxiproxy
toxics). The run's log file is one JSON line per event, merged across xdist workers:
each process (the controller or an xdist worker) appends its tests' lines to its own part
file next to the target; the controller merges the parts when the session ends, ordered
by test id (lines of one test keep their order), so the merged log does not depend on
how tests were spread over workers.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["FaultEvent", "FaultLog", "FaultLogWriter", "read_fault_log"]


@dataclass
class FaultEvent:
    """One fault that fired: where, when (seconds since the test started, on the test's
    clock), with what parameters, and what it does (its traits)."""

    seed: int
    test: str | None
    scenario: str | None
    index: int | None
    """The request index (None for a fault outside the request pipeline)."""
    method: str | None
    path: str | None
    kind: str
    params: dict[str, Any]
    t: float
    role: str | None = None
    traits: tuple[str, ...] = ()
    """What the fault does, as its class declares it (see ``harness.chaos.Trait``)."""
    fault: int | None = None
    """The position of the armed fault in its ``Chaos`` (None for external faults)."""

    def has(self, trait: str) -> bool:
        return trait in self.traits

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["traits"] = list(self.traits)
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FaultEvent:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        known["traits"] = tuple(known.get("traits") or ())
        known.setdefault("params", {})
        return cls(**known)


@dataclass
class FaultLog:
    """The fault events of one test, in the order they fired."""

    seed: int
    test: str | None
    clock: Callable[[], float]
    """Seconds since the test started."""
    events: list[FaultEvent] = field(default_factory=list)

    @classmethod
    def starting_now(cls, seed: int, test: str | None) -> FaultLog:
        """A log whose clock starts now (for faults applied without the chaos engine)."""
        from harness.clock import Anchor

        return cls(seed, test, Anchor().elapsed)

    def append(self, event: FaultEvent) -> FaultEvent:
        self.events.append(event)
        return event

    def external(
        self,
        kind: str,
        params: dict[str, Any],
        *,
        scenario: str | None = None,
        path: str | None = None,
        traits: Sequence[str] = (),
    ) -> FaultEvent:
        """Log a fault applied outside the engine (a Toxiproxy toxic)."""
        return self.append(
            FaultEvent(
                seed=self.seed,
                test=self.test,
                scenario=scenario,
                index=None,
                method=None,
                path=path,
                kind=kind,
                params=dict(params),
                t=round(self.clock(), 6),
                traits=tuple(traits),
            )
        )

    def __iter__(self) -> Iterator[FaultEvent]:
        return iter(self.events)

    def __len__(self) -> int:
        return len(self.events)

    def __getitem__(self, i: int) -> FaultEvent:
        return self.events[i]

    def __bool__(self) -> bool:
        return bool(self.events)


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

    def write(self, lines: Iterable[FaultEvent | dict[str, Any]]) -> None:
        rows = [line.to_dict() if isinstance(line, FaultEvent) else line for line in lines]
        if not rows:
            return
        self.part.parent.mkdir(parents=True, exist_ok=True)
        with self.part.open("a", encoding="utf-8") as fh:
            for row in rows:
                fh.write(json.dumps(row, sort_keys=True, default=str) + "\n")

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
