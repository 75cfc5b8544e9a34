"""The fault log: one typed event per fault that fired, and the run's log file.

:class:`FaultEvent` is the one shape of a fault-log line, built by the chaos engine for
faults it runs and by :meth:`FaultLog.external` for faults applied outside it (Toxiproxy
toxics). A test's :class:`FaultLog` keeps a bounded window of its latest events in memory
(``WINDOW``, 10,000) with exact counts of all of them (total, by kind, scenario and
route); with ``--chaos-log`` every event also streams to a spool file as it fires, so a
test of a million requests holds no more in memory than one of ten thousand and the
log file still has every line. The run's log file is one JSON line per event, merged across xdist workers:
each process (the controller or an xdist worker) appends its tests' lines to its own part
file next to the target; the controller merges the parts when the session ends, ordered
by test id (lines of one test keep their order), so the merged log does not depend on
how tests were spread over workers.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any

__all__ = ["WINDOW", "FaultEvent", "FaultLog", "FaultLogWriter", "event_line", "read_fault_log"]

WINDOW = 10_000
"""How many of a test's latest fault events stay in memory (as many as the journal keeps)."""


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
    route: str | None = None
    """The route that the request matched (``GET /v1/orders/{id}``; None when none did)."""

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


def event_line(event: FaultEvent | dict[str, Any]) -> str:
    """One fault-log line (JSON, keys sorted, no newline)."""
    row = event.to_dict() if isinstance(event, FaultEvent) else event
    return json.dumps(row, sort_keys=True, default=str)


def _route(event: FaultEvent) -> str:
    """What ``by_route`` counts by: the route, so a path with ids in it is one key."""
    return event.route or f"{event.method} {event.path}"


@dataclass
class FaultLog:
    """The fault events of one test, in the order they fired: the latest ``window`` of them
    in memory, exact counts of all of them, and (with :meth:`spool_to_disk`) every one on
    disk."""

    seed: int
    test: str | None
    clock: Callable[[], float]
    """Seconds since the test started."""
    window: int = WINDOW
    events: deque[FaultEvent] = field(init=False)
    total: int = field(default=0, init=False)
    """Every event this test logged (the window may hold fewer)."""
    by_kind: Counter[str] = field(default_factory=Counter, init=False)
    by_scenario: Counter[str | None] = field(default_factory=Counter, init=False)
    by_route: Counter[str] = field(default_factory=Counter, init=False)
    """Route (``GET /v1/orders/{id}``) -> events; ``METHOD path`` for a request no route
    matched, ``None path`` for a fault outside the request pipeline (a toxic)."""
    _spooling: bool = field(default=False, init=False, repr=False)
    _spool: IO[str] | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        self.events = deque(maxlen=max(1, int(self.window)))

    @classmethod
    def starting_now(cls, seed: int, test: str | None) -> FaultLog:
        """A log whose clock starts now (for faults applied without the chaos engine)."""
        from harness.clock import Anchor

        return cls(seed, test, Anchor().elapsed)

    def spool_to_disk(self) -> None:
        """Stream every event from now on to an anonymous temporary file (gone with the
        process, whatever ends it; opened at the first event) that :meth:`copy_to` appends
        to the run's log."""
        self._spooling = True

    def append(self, event: FaultEvent) -> FaultEvent:
        self.events.append(event)
        self.total += 1
        self.by_kind[event.kind] += 1
        self.by_scenario[event.scenario] += 1
        self.by_route[_route(event)] += 1
        if self._spooling:
            if self._spool is None:
                self._spool = tempfile.TemporaryFile("w+", encoding="utf-8")  # noqa: SIM115 (closed by copy_to)
            self._spool.write(event_line(event) + "\n")
        return event

    def count(self, kind: str | None = None) -> int:
        """Events of this test, all or of one kind, counted exactly (beyond the window)."""
        return self.total if kind is None else self.by_kind[kind]

    @property
    def dropped(self) -> int:
        """Events counted but no longer in the window."""
        return self.total - len(self.events)

    def clear(self) -> None:
        """Forget every event (the spool too): a fresh log on the same clock."""
        self.events.clear()
        self.total = 0
        for counter in (self.by_kind, self.by_scenario, self.by_route):
            counter.clear()
        if self._spool is not None:
            self._spool.seek(0)
            self._spool.truncate()

    def copy_to(self, writer: FaultLogWriter) -> None:
        """Append every event of this test to the run's log: the spool when spooling, else
        the window; then close the spool (an event after this stays in the window only)."""
        if not self._spooling:
            writer.write(self.events)
            return
        self._spooling = False
        spool, self._spool = self._spool, None
        if spool is None:
            return
        with spool:
            spool.flush()
            spool.seek(0)
            writer.append_from(spool)

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
        return self.total > 0


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
        rows = [event_line(line) for line in lines]
        if not rows:
            return
        self.part.parent.mkdir(parents=True, exist_ok=True)
        with self.part.open("a", encoding="utf-8") as fh:
            for row in rows:
                fh.write(row + "\n")

    def append_from(self, source: IO[str]) -> None:
        """Append lines already written (a test's spool) to this process's part."""
        self.part.parent.mkdir(parents=True, exist_ok=True)
        with self.part.open("a", encoding="utf-8") as fh:
            shutil.copyfileobj(source, fh)

    def merge(self) -> int:
        """Join every part into the target file; returns the number of lines.

        Streams: each part is scanned once for the byte ranges of its tests' runs of lines,
        then the ranges are copied in test order, so memory holds one entry per run of a
        test, not the lines."""
        runs: list[tuple[str, int, Path, int, int]] = []  # test, order, part, start, end
        lines = 0
        parts = self._parts(self.path)
        for part in parts:
            with part.open("rb") as fh:
                offset, current, start = 0, None, 0
                for raw in fh:
                    if not raw.endswith(b"\n"):
                        break  # a line cut short by a crashed process
                    if raw.strip():
                        test = str(json.loads(raw).get("test"))
                        lines += 1
                        if test != current:
                            if current is not None:
                                runs.append((current, len(runs), part, start, offset))
                            current, start = test, offset
                    offset += len(raw)
                if current is not None:
                    runs.append((current, len(runs), part, start, offset))
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("wb") as out:
            for _, _, part, start, end in sorted(runs, key=lambda run: run[:2]):
                with part.open("rb") as fh:
                    fh.seek(start)
                    _copy_range(fh, out, end - start)
        for part in parts:
            part.unlink(missing_ok=True)
        return lines


def _copy_range(source: IO[bytes], target: IO[bytes], size: int, chunk: int = 1 << 20) -> None:
    while size > 0:
        data = source.read(min(chunk, size))
        if not data:
            return
        target.write(data)
        size -= len(data)


def read_fault_log(path: str | Path) -> list[dict[str, Any]]:
    return [
        json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line
    ]
