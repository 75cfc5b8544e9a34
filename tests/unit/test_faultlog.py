"""The fault log stays bounded in memory, counts exactly, and streams every line to disk."""

from __future__ import annotations

import json
from pathlib import Path

from harness.faultlog import FaultEvent, FaultLog, FaultLogWriter, read_fault_log
from harness.report.model import REPORT_SAMPLES, Evidence, Record, Report, _spread


def event(i: int, test: str = "t::a", kind: str = "latency") -> FaultEvent:
    return FaultEvent(
        seed=1,
        test=test,
        scenario="s" if i % 2 else None,
        index=i,
        method="GET",
        path=f"/v1/{i % 3}",
        kind=kind,
        params={"delay_ms": 1.0},
        t=float(i),
    )


def test_window_keeps_the_latest_events_and_exact_counts() -> None:
    log = FaultLog(1, "t::a", lambda: 0.0, window=100)
    for i in range(2_500):
        log.append(event(i, kind="reset" if i % 5 == 0 else "latency"))
    assert len(log) == 100 and log[0].index == 2_400
    assert log.total == 2_500 and log.dropped == 2_400
    assert log.count() == 2_500 and log.count("reset") == 500 and log.count("latency") == 2_000
    assert log.by_scenario == {"s": 1_250, None: 1_250}
    assert sum(log.by_route.values()) == 2_500 and log.by_route["GET /v1/0"] == 834
    log.clear()
    assert not log and log.total == 0 and not log.by_kind


def test_spool_streams_every_event_and_clear_forgets_them(tmp_path: Path) -> None:
    log = FaultLog(1, "t::a", lambda: 0.0, window=10)
    log.spool_to_disk()
    for i in range(50):
        log.append(event(i))
    log.clear()  # an exploration example that was not kept
    for i in range(1_000):
        log.append(event(i))
    writer = FaultLogWriter(tmp_path / "chaos.log", "main")
    log.copy_to(writer)
    assert writer.merge() == 1_000
    lines = read_fault_log(tmp_path / "chaos.log")
    assert [line["index"] for line in lines] == list(range(1_000))
    assert lines[0] == json.loads(json.dumps(event(0).to_dict()))


def test_without_a_spool_the_window_is_written(tmp_path: Path) -> None:
    log = FaultLog(1, "t::a", lambda: 0.0, window=5)
    for i in range(8):
        log.append(event(i))
    writer = FaultLogWriter(tmp_path / "chaos.log", "main")
    log.copy_to(writer)
    assert writer.merge() == 5


def test_merge_orders_tests_across_parts_and_drops_a_line_cut_short(tmp_path: Path) -> None:
    target = tmp_path / "chaos.log"
    one, two = FaultLogWriter(target, "gw0"), FaultLogWriter(target, "gw1")
    one.write([event(0, "t::b"), event(1, "t::b")])
    two.write([event(0, "t::a")])
    one.write([event(0, "t::c")])
    two.write([event(1, "t::a")])
    with two.part.open("a", encoding="utf-8") as fh:
        fh.write('{"test": "t::z", "kind": "la')  # the worker died in the middle of a line
    assert FaultLogWriter(target, "main").merge() == 5
    lines = read_fault_log(target)
    assert [(line["test"], line["index"]) for line in lines] == [
        ("t::a", 0),
        ("t::a", 1),
        ("t::b", 0),
        ("t::b", 1),
        ("t::c", 0),
    ]
    assert not list(tmp_path.glob("*.part"))


def test_spread_keeps_the_order_and_the_bound() -> None:
    assert _spread([3.0, 1.0]) == [3.0, 1.0]
    values = [float(i) for i in range(10 * REPORT_SAMPLES + 7)]
    kept = _spread(values)
    assert len(kept) == REPORT_SAMPLES and kept == sorted(kept) and kept[0] == 0.0
    assert kept[-1] > values[-1] * 0.99


def test_a_record_counts_every_fault_but_keeps_few() -> None:
    evidence = Evidence(
        faults=[event(i).to_dict() for i in range(3)],
        faults_total=5_000,
        fault_kinds={"latency": 4_000, "reset": 1_000},
        fault_routes={"GET /v1/0": 5_000},
    )
    record = Record.build(
        nodeid="t::a", test="a", outcome="failed", run_seed=1, test_seed=2, evidence=evidence
    )
    assert record.fired == 5_000 and record.kinds_before_failure() == ["latency", "reset"]
    report = Report({}, [record, Record.from_dict(record.to_dict())])
    assert report.faults_by_kind() == {"latency": 8_000, "reset": 2_000}
    assert report.faults_by_route() == {"GET /v1/0": 10_000}


def test_a_record_from_an_older_report_counts_its_kept_events() -> None:
    old = {
        "nodeid": "t::a",
        "test": "a",
        "scenario": None,
        "outcome": "passed",
        "duration": 0.1,
        "run_seed": 1,
        "test_seed": 2,
        "faults": [event(i).to_dict() for i in range(4)],
    }
    record = Record.from_dict(old)
    assert record.fired == 4 and record.kind_counts() == {"latency": 4}
    assert sum(record.route_counts().values()) == 4


def test_a_test_that_started_and_never_finished_counts_as_crashed(tmp_path: Path) -> None:
    """The rows a session writes: a start (a crash record in advance) for every test, and
    the test's own record when it ends; the report keeps the crash only for a test that
    never wrote its own."""
    from harness.report.model import CRASHED, crashed_records
    from harness.session import ChaosSession, ItemState

    session = ChaosSession.start(seed=1, report_dir=str(tmp_path))
    a, b = ItemState("m::a", "t", test_seed=2), ItemState("m::b", "t", test_seed=3)
    session.record_start(a)
    session.record(a)
    session.record_start(b)  # its process dies here
    assert session.records is not None and session.records.merge() == 3
    a, b = crashed_records(read_fault_log(session.records.path))
    assert (a.nodeid, a.outcome, a.exception) == ("m::a", "passed", None)
    assert (b.nodeid, b.outcome, b.exception, b.test_seed) == ("m::b", "failed", CRASHED, 3)
    assert b.message is not None and "m::b never finished" in b.message
    assert b.replay == "pytest 'm::b' --chaos-seed 1"


async def test_routes_are_counted_by_route_not_by_path() -> None:
    """Order ids in paths do not make a new key each: the counts stay as small as the API."""
    import aiohttp

    from harness import MockServer, faults
    from harness.chaos import Chaos

    server = MockServer("https://api.exchange.test")
    server.get("/v1/orders/{id}").respond(json={"status": "NEW"})
    chaos = Chaos(server, seed=1)
    chaos.inject(faults.Latency(fixed_ms=0))
    async with server.intercept(), aiohttp.ClientSession() as session:
        for i in range(300):
            async with session.get(f"{server.url}/v1/orders/{i}") as resp:
                await resp.read()
    assert chaos.log.by_route == {"GET /v1/orders/{id}": 300}
    assert chaos.fired()[-1].route == "GET /v1/orders/{id}"
    assert chaos.fired()[-1].path == "/v1/orders/299"
