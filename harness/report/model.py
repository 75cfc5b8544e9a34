"""What a chaos run produced: one record per test, and the report built from them."""

from __future__ import annotations

import contextlib
import json
import platform
import re
import sys
from collections import Counter
from dataclasses import asdict, dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

__all__ = ["NO_SCENARIO", "Record", "Report", "build_report", "load_report", "merge_reports"]

NO_SCENARIO = "(no scenario)"


@dataclass
class Record:
    """One test run: outcome, seeds, faults fired, invariant violations, client latencies."""

    nodeid: str
    test: str
    scenario: str | None
    outcome: str  # passed | failed | error | skipped
    duration: float
    run_seed: int
    test_seed: int
    sweep: int | None = None
    exception: str | None = None
    message: str | None = None
    faults: list[dict[str, Any]] = field(default_factory=list)
    violations: list[dict[str, Any]] = field(default_factory=list)
    latencies_ms: list[float] = field(default_factory=list)
    injected_ms: list[float] = field(default_factory=list)
    replay: str = ""
    """The command that runs this test again with the same faults."""

    def __post_init__(self) -> None:
        if not self.replay:
            self.replay = f"pytest '{self.nodeid}' --chaos-seed {self.run_seed}"

    @property
    def failed(self) -> bool:
        return self.outcome in ("failed", "error")

    @property
    def base_nodeid(self) -> str:
        """The node id without the sweep part, so the K seeds of one test group together."""
        if self.sweep is None:
            return self.nodeid
        return re.sub(
            rf"(-sweep{self.sweep}\]|\[sweep{self.sweep}\])$",
            lambda m: "]" if m.group(0).startswith("-") else "",
            self.nodeid,
        )

    def cause(self) -> str:
        if self.violations:
            return "invariant: " + ", ".join(sorted({v["invariant"] for v in self.violations}))
        return f"exception: {self.exception or 'unknown'}"

    def kinds_before_failure(self) -> list[str]:
        return sorted({line["kind"] for line in self.faults})

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Record:
        data = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**data)


def _versions() -> dict[str, str]:
    out = {"python": sys.version.split()[0]}
    for dist in (
        "trading-chaos-harness",
        "aiohttp",
        "pytest",
        "pytest-xdist",
        "pandera",
        "hypothesis",
    ):
        with contextlib.suppress(PackageNotFoundError):
            out[dist] = version(dist)
    return out


@dataclass
class Report:
    meta: dict[str, Any]
    records: list[Record]

    # -- derived views ----------------------------------------------------------------------
    def counts(self) -> dict[str, int]:
        return dict(Counter(r.outcome for r in self.records))

    def faults_by_kind(self) -> dict[str, int]:
        return dict(Counter(line["kind"] for r in self.records for line in r.faults))

    def faults_by_route(self) -> dict[str, int]:
        return dict(
            Counter(
                f"{line.get('method')} {line.get('path')}"
                for r in self.records
                for line in r.faults
            )
        )

    def scenarios(self) -> list[str]:
        return sorted({r.scenario or NO_SCENARIO for r in self.records})

    def tests(self) -> list[str]:
        return sorted({r.test for r in self.records})

    def matrix(self) -> dict[tuple[str, str], str]:
        """(scenario, test) -> passed / failed / mixed / skipped."""
        cells: dict[tuple[str, str], set[str]] = {}
        for r in self.records:
            cells.setdefault((r.scenario or NO_SCENARIO, r.test), set()).add(
                "failed" if r.failed else r.outcome
            )
        return {k: (next(iter(v)) if len(v) == 1 else "mixed") for k, v in cells.items()}

    def failure_groups(self) -> dict[tuple[str, str, str], list[Record]]:
        """Failures grouped by (scenario, fault kinds that fired, cause)."""
        groups: dict[tuple[str, str, str], list[Record]] = {}
        for r in self.records:
            if r.failed:
                key = (
                    r.scenario or NO_SCENARIO,
                    ", ".join(r.kinds_before_failure()) or "none",
                    r.cause(),
                )
                groups.setdefault(key, []).append(r)
        return groups

    def seed_dependence(self) -> dict[str, dict[str, list[int]]]:
        """For swept tests: which seeds failed and which passed, per test."""
        out: dict[str, dict[str, list[int]]] = {}
        for r in self.records:
            if r.sweep is None:
                continue
            entry = out.setdefault(r.base_nodeid, {"failed": [], "passed": []})
            entry["failed" if r.failed else "passed"].append(r.test_seed)
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "meta": self.meta,
            "summary": {
                "counts": self.counts(),
                "faults_by_kind": self.faults_by_kind(),
                "faults_by_route": self.faults_by_route(),
            },
            "records": [r.to_dict() for r in sorted(self.records, key=lambda r: r.nodeid)],
        }


def build_report(records: list[Record], meta: dict[str, Any]) -> Report:
    base = {"versions": _versions(), "platform": platform.platform()}
    return Report({**base, **meta}, sorted(records, key=lambda r: r.nodeid))


def load_report(path: str | Path) -> Report:
    path = Path(path)
    file = path / "report.json" if path.is_dir() else path
    data = json.loads(file.read_text(encoding="utf-8"))
    return Report(data["meta"], [Record.from_dict(r) for r in data["records"]])


def merge_reports(reports: list[Report]) -> Report:
    """Join shard reports into one, as if the run had not been split."""
    records: dict[str, Record] = {}
    for report in reports:
        for record in report.records:
            records[record.nodeid] = record
    meta = dict(reports[0].meta) if reports else {}
    meta["merged_from"] = len(reports)
    meta["duration"] = max((r.meta.get("duration", 0.0) for r in reports), default=0.0)
    meta.pop("shard", None)
    return Report(meta, sorted(records.values(), key=lambda r: r.nodeid))
