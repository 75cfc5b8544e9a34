"""One pytest session's chaos state: the run seed, the options that shape the run, and the
fault-log and report writers; and what the report keeps of each test.

The controller chooses the run seed (or takes ``--chaos-seed``) and hands it to every xdist
worker, so per-test seeds do not depend on ``-n``; each process writes its part of the log
and of the report's records, and the controller merges them when the session ends.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness import clock
from harness.errors import messages
from harness.faultlog import FaultLog, FaultLogWriter
from harness.seeding import in_shard, new_run_seed, parse_shard, seed_for_test

if TYPE_CHECKING:
    from harness.chaos.engine import Chaos
    from harness.roles import RoleMap
    from harness.scenario import Scenario

__all__ = ["ChaosSession", "ItemState"]


@dataclass
class ItemState:
    """What the plugin keeps of one test while it runs."""

    nodeid: str
    test: str
    """The test function's name (without parametrization)."""
    test_seed: int
    scenario: str | None = None
    sweep: int | None = None
    phases: dict[str, tuple[str, float]] = field(default_factory=dict)
    """setup / call / teardown -> (pytest outcome, duration)."""
    failure: tuple[str | None, str | None, list[dict[str, Any]]] = (None, None, [])
    chaos: Chaos | None = None
    real_time: list[str] = field(default_factory=list)
    """Why this test must run on real time (set by the fixtures that serve sockets)."""
    clock: str = "real"
    """The clock the test body ran on: real or virtual."""
    simulated_s: float | None = None
    """On virtual time: the seconds the test lived through (body and teardown)."""
    exploration: Any = None
    """What exploring the test found (:class:`harness.explore.Exploration`), if explored."""

    @property
    def failed(self) -> bool:
        return any(outcome == "failed" for outcome, _ in self.phases.values())

    def note(self, when: str, outcome: str, duration: float, exc: BaseException | None) -> None:
        """One phase's result; the first failure's exception is kept for the report."""
        self.phases[when] = (outcome, duration)
        if outcome != "passed" and exc is not None and self.failure[0] is None:
            from harness.report import failure_of

            self.failure = failure_of(exc)


@dataclass
class ChaosSession:
    run_seed: int
    seed_source: str
    fault_log: FaultLogWriter | None = None
    records: FaultLogWriter | None = None
    sweep: int = 0
    shard: tuple[int, int] | None = None
    strict: bool = False
    """--chaos-strict: a scenario that fired nothing fails its test instead of skipping it."""
    args: list[str] = field(default_factory=list)
    started: float = field(default_factory=clock.real_wall)
    _scenarios: list[Scenario] | None = None
    scenario_source: str = ""
    """Where the scenario set came from (--chaos-scenarios, the ini setting, the default)."""
    _roles: RoleMap | None = None

    @classmethod
    def start(
        cls,
        *,
        seed: int | None = None,
        log: str | None = None,
        report_dir: str | None = None,
        sweep: int | None = None,
        shard: str | None = None,
        strict: bool = False,
        args: list[str] | None = None,
        workerinput: Mapping[str, Any] | None = None,
    ) -> ChaosSession:
        """The session of the controller (``workerinput`` None) or of an xdist worker;
        ``UsageError`` for a bad ``shard``."""
        records = str(Path(report_dir) / "records.jsonl") if report_dir else None
        if workerinput is not None and "chaos_seed" in workerinput:
            process = str(workerinput.get("workerid", "worker"))
            run_seed, source = int(workerinput["chaos_seed"]), workerinput["chaos_seed_source"]
        else:
            process = "main"
            chosen = (seed, "from --chaos-seed") if seed is not None else None
            run_seed, source = chosen or (new_run_seed(), "random")
            for path in (log, records):
                if path:
                    FaultLogWriter.discard_parts(path)
        if workerinput is not None and "chaos_args" in workerinput:
            args = list(workerinput["chaos_args"])  # the controller's command line
        return cls(
            run_seed=run_seed,
            seed_source=source,
            fault_log=FaultLogWriter(log, process) if log else None,
            records=FaultLogWriter(records, process) if records else None,
            sweep=sweep or 0,
            shard=parse_shard(shard) if shard else None,
            strict=bool(strict),
            args=list(args or []),
        )

    @classmethod
    def from_options(
        cls,
        getoption: Callable[[str], Any],
        workerinput: Mapping[str, Any] | None,
        args: list[str] | None = None,
    ) -> ChaosSession:
        """The session from pytest's options (``config.getoption``)."""
        return cls.start(
            args=args,
            seed=getoption("--chaos-seed"),
            log=getoption("--chaos-log"),
            report_dir=getoption("--chaos-report"),
            sweep=getoption("--chaos-sweep"),
            shard=getoption("--chaos-shard"),
            strict=getoption("--chaos-strict"),
            workerinput=workerinput,
        )

    def scenarios(
        self, spec: str | None, root: str | Path, ini: Sequence[str] = ()
    ) -> list[Scenario]:
        """The scenarios that parametrize the ``scenario`` fixture (chosen once per session):
        ``--chaos-scenarios``, else :func:`harness.scenario.default_spec`."""
        if self._scenarios is None:
            from harness.library_paths import default_spec
            from harness.scenario import select_scenarios

            source = "--chaos-scenarios"
            if not spec:
                spec, source = default_spec(root, ini)
            self._scenarios = select_scenarios(spec, project_root=root)
            self.scenario_source = source
        return self._scenarios

    def scenario_line(self) -> str | None:
        """Which scenario set the ``scenario`` fixture ran (None: no test asked for it)."""
        if self._scenarios is None:
            return None
        return messages.scenario_set(len(self._scenarios), self.scenario_source)

    def roles(self, root: str | Path, files: Iterable[str] = ()) -> RoleMap:
        """The project's role map (``[tool.chaos-harness.roles]``, ``chaos_roles`` files)."""
        if self._roles is None:
            from harness.roles import load_role_map

            self._roles = load_role_map(root, files)
        return self._roles

    def worker_input(self) -> dict[str, Any]:
        """What an xdist worker needs from the controller."""
        return {
            "chaos_seed": self.run_seed,
            "chaos_seed_source": self.seed_source,
            "chaos_args": list(self.args),
        }

    def header(self, spec: str | None, root: str | Path, ini: Sequence[str] = ()) -> list[str]:
        """pytest's header lines: the run seed, and which scenario set the ``scenario``
        fixture runs (``spec`` is ``--chaos-scenarios``)."""
        from harness.library_paths import default_spec

        source = "--chaos-scenarios" if spec else default_spec(root, ini)[1]
        return [
            messages.seed_header(self.run_seed, self.seed_source),
            messages.scenario_source_header(source),
        ]

    def in_shard(self, nodeid: str) -> bool:
        return self.shard is None or in_shard(nodeid, *self.shard)

    def test_seed(self, nodeid: str, fixed: int | None = None, sweep: int | None = None) -> int:
        return seed_for_test(self.run_seed, nodeid, fixed=fixed, sweep=sweep)

    def replay(self, nodeid: str, swept: bool = False) -> str:
        extra = shaping_args(self.args)
        extra += [f"--chaos-sweep {self.sweep}"] if swept and self.sweep > 1 else []
        return messages.replay(nodeid, self.run_seed, extra)

    def failure_section(self, state: ItemState) -> str:
        replay = self.replay(state.nodeid, swept=state.sweep is not None)
        return messages.failure_section(self.run_seed, state.test_seed, replay)

    def record_start(self, state: ItemState) -> None:
        """Note that a test started, before it runs: a test whose process dies under it
        (``os._exit``, a segfault, an xdist worker crash) writes no record of its own, and
        this one, a crash, stands for it (:func:`harness.report.crashed_records`)."""
        if self.records is None:
            return
        from harness.report import CRASHED

        crash = self._record(
            state,
            outcome="failed",
            exception=CRASHED,
            message=messages.test_crashed(state.nodeid),
        )
        self.records.write([{**crash, "started": True}])

    def record(self, state: ItemState) -> None:
        """Keep one test's record for the report."""
        if self.records is None:
            return
        from harness.report import Evidence, outcome_of

        exception, message, violations = state.failure
        record = self._record(
            state,
            outcome=outcome_of({when: outcome for when, (outcome, _) in state.phases.items()}),
            duration=round(sum(d for _, d in state.phases.values()), 4),
            exception=exception,
            message=message,
            evidence=Evidence.of(state.chaos) if state.chaos is not None else None,
            violations=violations,
            clock=state.clock,
            simulated_s=state.simulated_s,
            exploration=state.exploration.as_dict() if state.exploration is not None else None,
        )
        self.records.write([record])

    def _record(self, state: ItemState, **outcome: Any) -> dict[str, Any]:
        """A test's record for the report, as written: what the session knows of every test
        (ids, seeds, replay command) and ``outcome`` (:meth:`harness.report.Record.build`)."""
        from harness.report import Record

        return Record.build(
            nodeid=state.nodeid,
            test=state.test,
            scenario=state.scenario,
            run_seed=self.run_seed,
            test_seed=state.test_seed,
            sweep=state.sweep,
            replay=self.replay(state.nodeid, swept=state.sweep is not None),
            **outcome,
        ).to_dict()

    def standalone_log(self, nodeid: str) -> FaultLog:
        """A fault log for a test that applies faults without the chaos engine (toxics)."""
        return self.new_log(FaultLog.starting_now(self.run_seed, nodeid))

    def new_log(self, log: FaultLog) -> FaultLog:
        """With --chaos-log, make a test's log stream every event to disk as it fires."""
        if self.fault_log is not None:
            log.spool_to_disk()
        return log

    def write_log(self, log: FaultLog) -> None:
        """Add a test's fault-log events to the run's log (with --chaos-log)."""
        if self.fault_log is not None:
            log.copy_to(self.fault_log)

    def finish(self) -> None:
        """Controller only: merge the workers' fault logs and write the report."""
        if self.fault_log is not None:
            self.fault_log.merge()
        if self.records is not None:
            from harness.report import write_run_report

            write_run_report(
                self.records,
                run_seed=self.run_seed,
                duration=clock.real_wall() - self.started,
                sweep=self.sweep or None,
                shard=f"{self.shard[0]}/{self.shard[1]}" if self.shard else None,
                args=self.args,
            )


def sigterm_as_interrupt(add_cleanup: Callable[[Callable[[], object]], None]) -> None:
    """SIGTERM (a CI job's timeout) stops the run as Ctrl-C does, so fixtures stop their
    servers and the report is written with the test it cut short counted as crashed. Only
    when nothing else handles SIGTERM; ``add_cleanup`` (``config.add_cleanup``) puts the
    default back when pytest ends."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        return
    if signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL:
        return

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt(messages.terminated())

    signal.signal(signal.SIGTERM, interrupt)
    add_cleanup(lambda: signal.signal(signal.SIGTERM, signal.SIG_DFL))


_SHAPING_VALUE = frozenset(
    (
        "-c",
        "--config-file",
        "-p",
        "-o",
        "--override-ini",
        "--rootdir",
        "--chaos-scenarios",
        "--chaos-clock",
        "--chaos-explore",
    )
)
"""Options (with a value) that change what a test does, beyond its seed."""
_SHAPING_FLAGS = frozenset(("--chaos-strict", "--chaos-allow-network"))


def shaping_args(args: Sequence[str]) -> list[str]:
    """The options of a pytest command line that shape what a test does (config file,
    plugins, ini overrides, scenario set, clock), shell-quoted, so a replay command
    reproduces the run outside the default configuration."""
    import shlex

    out: list[str] = []
    items = list(args)
    i = 0
    while i < len(items):
        arg = items[i]
        name, eq, value = arg.partition("=")
        if arg in _SHAPING_FLAGS:
            out.append(arg)
        elif name in _SHAPING_VALUE and eq:
            out.append(f"{name}={shlex.quote(value)}")
        elif arg in _SHAPING_VALUE and i + 1 < len(items):
            out.append(f"{arg} {shlex.quote(items[i + 1])}")
            i += 1
        elif arg.startswith(("-p", "-c", "-o")) and len(arg) > 2 and not arg.startswith("--"):
            out.append(f"{arg[:2]} {shlex.quote(arg[2:])}")
        i += 1
    return out
