"""The pytest plugin: the ``chaos`` marker, seed options, fixtures, and the live-endpoint guard.

Thin by design: it wires library objects to pytest's lifecycle and keeps no logic of
its own. Its state lives in ``config.stash``; the run seed is chosen once by the
controller and handed to every xdist worker, so per-test seeds do not depend on ``-n``.
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import pytest

from harness import invariants
from harness.chaos.engine import Chaos
from harness.errors import HarnessWarning, ToxiproxyError, messages
from harness.exchange import MockExchange
from harness.faultlog import FaultLogWriter, read_fault_log
from harness.guard import LiveEndpointGuard
from harness.market import MarketData
from harness.mock.server import MockServer
from harness.scenario import Scenario, load_scenario, select_scenarios
from harness.seeding import derive_seed, new_run_seed
from harness.toxiproxy import ProxySet, Toxiproxy, ToxiproxyServer, apply_specs, load_config

__all__ = ["DEFAULT_BASE_URL", "run_seed"]

DEFAULT_BASE_URL = "https://api.exchange.test"
HARNESS_FIXTURES = frozenset(
    (
        "mock_server",
        "chaos_seed",
        "chaos",
        "scenario",
        "market_data",
        "mock_exchange",
        "mock_server_socket",
        "toxiproxy",
    )
)

_RUN_SEED = pytest.StashKey[tuple[int, str]]()
_PHASE_REPORTS = pytest.StashKey[dict[str, pytest.TestReport]]()
_FAULT_LOG = pytest.StashKey[FaultLogWriter | None]()
_SCENARIOS = pytest.StashKey[list[Scenario]]()
_EXCHANGE = pytest.StashKey["MockExchange"]()
_PROXY_COUNTER = pytest.StashKey[list[int]]()


def _seed_arg(value: str) -> int:
    try:
        seed = int(value, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(messages.bad_seed(value)) from None
    if seed < 0:
        raise argparse.ArgumentTypeError(messages.bad_seed(value))
    return seed


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("chaos", "trading-chaos-harness")
    group.addoption(
        "--chaos-seed",
        type=_seed_arg,
        default=None,
        metavar="N",
        help="run seed for every fault and generator (default: a new random seed per run)",
    )
    group.addoption(
        "--chaos-allow-network",
        action="store_true",
        default=False,
        help="turn off the live-endpoint guard (tests using the harness may reach real hosts)",
    )
    group.addoption(
        "--chaos-log",
        metavar="PATH",
        default=None,
        help="write the fault log of the whole run (every xdist worker) to PATH as JSON lines",
    )
    group.addoption(
        "--chaos-report",
        metavar="DIR",
        default=None,
        help="write the resilience report (report.json, report.md, report.html) to DIR",
    )
    group.addoption(
        "--chaos-sweep",
        type=int,
        default=None,
        metavar="K",
        help="run every chaos test under K seeds derived from the run seed",
    )
    group.addoption(
        "--chaos-shard",
        metavar="I/N",
        default=None,
        help="run only shard I of N (a deterministic split of the tests, for CI jobs)",
    )
    group.addoption(
        "--chaos-scenarios",
        metavar="SPEC",
        default=None,
        help="scenarios for tests using the 'scenario' fixture: comma-separated names, files, "
        "folders or globs (default: the built-in library plus ./scenarios)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "chaos(seed=None): a chaos test; seed= fixes this test's seed (select with -m chaos)",
    )
    config.addinivalue_line(
        "markers",
        "chaos_scenario(*names_or_paths): load these scenarios into the test's chaos",
    )
    config.addinivalue_line(
        "markers", "exchange(profile): the API profile of mock_exchange (generic, binance-spot)"
    )
    config.addinivalue_line(
        "markers", "mock_server(backend='inprocess'): serve mock_server in-process or on a socket"
    )
    workerinput = getattr(config, "workerinput", None)
    log_path = config.getoption("--chaos-log", None)
    if workerinput is not None and "chaos_seed" in workerinput:
        config.stash[_RUN_SEED] = (int(workerinput["chaos_seed"]), workerinput["chaos_seed_source"])
        worker = str(workerinput.get("workerid", "worker"))
        config.stash[_FAULT_LOG] = FaultLogWriter(log_path, worker) if log_path else None
        report_dir = config.getoption("--chaos-report", None)
        config.stash[_REPORT] = (
            FaultLogWriter(Path(report_dir) / "records.jsonl", worker) if report_dir else None
        )
        return
    given = config.getoption("--chaos-seed", None)
    if given is not None:
        config.stash[_RUN_SEED] = (given, "from --chaos-seed")
    else:
        config.stash[_RUN_SEED] = (new_run_seed(), "random")
    if log_path:
        FaultLogWriter.discard_parts(log_path)
        config.stash[_FAULT_LOG] = FaultLogWriter(log_path, "main")
    else:
        config.stash[_FAULT_LOG] = None
    report_dir = config.getoption("--chaos-report", None)
    if report_dir:
        FaultLogWriter.discard_parts(Path(report_dir) / "records.jsonl")
        config.stash[_REPORT] = FaultLogWriter(Path(report_dir) / "records.jsonl", "main")
    else:
        config.stash[_REPORT] = None
    config.stash[_STARTED] = time.time()
    _shard(config)


def pytest_sessionfinish(session: pytest.Session) -> None:
    config = session.config
    if hasattr(config, "workerinput"):
        return
    writer = config.stash.get(_FAULT_LOG, None)
    if writer is not None:
        writer.merge()
    reporter = config.stash.get(_REPORT, None)
    if reporter is not None:
        from harness.report import Record, build_report, write_report

        reporter.merge()
        lines = read_fault_log(reporter.path) if reporter.path.exists() else []
        reporter.path.unlink(missing_ok=True)
        meta = {
            "run_seed": run_seed(config),
            "duration": round(time.time() - config.stash[_STARTED], 3),
            "sweep": config.getoption("--chaos-sweep", None),
            "shard": config.getoption("--chaos-shard", None),
            "args": list(config.invocation_params.args),
        }
        write_report(
            build_report([Record.from_dict(line) for line in lines], meta), reporter.path.parent
        )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    _sweep_params(metafunc)
    if "scenario" not in metafunc.fixturenames:
        return
    config = metafunc.config
    if _SCENARIOS not in config.stash:
        config.stash[_SCENARIOS] = select_scenarios(
            config.getoption("--chaos-scenarios", None), project_root=config.rootpath
        )
    scenarios = config.stash[_SCENARIOS]
    metafunc.parametrize("scenario", scenarios, ids=[s.name for s in scenarios], indirect=True)


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """xdist controller: every worker gets the controller's run seed."""
    seed, source = node.config.stash[_RUN_SEED]
    node.workerinput["chaos_seed"] = seed
    node.workerinput["chaos_seed_source"] = source


def pytest_report_header(config: pytest.Config) -> str:
    seed, source = config.stash[_RUN_SEED]
    return messages.seed_header(seed, source)


def run_seed(config: pytest.Config) -> int:
    """The run seed of this pytest session."""
    return config.stash[_RUN_SEED][0]


def _uses_harness(item: pytest.Item) -> bool:
    names = getattr(item, "fixturenames", ())
    return item.get_closest_marker("chaos") is not None or any(
        name in HARNESS_FIXTURES for name in names
    )


def _params(item: pytest.Item) -> dict[str, Any]:
    """The parametrization of a test item (empty when it has none)."""
    return dict(getattr(getattr(item, "callspec", None), "params", {}))


def _test_seed(item: pytest.Item) -> int:
    marker = item.get_closest_marker("chaos")
    if marker is not None and marker.kwargs.get("seed") is not None:
        return int(marker.kwargs["seed"])
    sweep = _params(item).get("_chaos_sweep")
    if sweep is not None:
        return derive_seed(
            run_seed(item.config), item.nodeid.replace(f"sweep{sweep}", ""), "sweep", sweep
        )
    return derive_seed(run_seed(item.config), item.nodeid)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    item.stash.setdefault(_PHASE_REPORTS, {})[report.when] = report
    if report.failed:
        _note_failure(item, call)
    if report.when == "teardown" and _uses_harness(item):
        reporter = item.config.stash.get(_REPORT, None)
        if reporter is not None:
            reporter.write([_record(item)])
    if report.failed and _uses_harness(item):
        report.sections.append(
            (
                "chaos",
                messages.failure_section(run_seed(item.config), _test_seed(item), item.nodeid),
            )
        )
    return report


def _test_failed(item: pytest.Item) -> bool:
    reports = item.stash.get(_PHASE_REPORTS, {})
    return any(r.failed for r in reports.values())


# -- fixtures ---------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _chaos_guard(request: pytest.FixtureRequest) -> Iterator[None]:
    """Block live endpoints for every test that uses the harness (see --chaos-allow-network)."""
    if request.config.getoption("--chaos-allow-network") or not _uses_harness(request.node):
        yield
        return
    with LiveEndpointGuard():
        yield


@pytest.fixture(autouse=True)
def _chaos_scenario_marker(request: pytest.FixtureRequest) -> None:
    """A test with @pytest.mark.chaos_scenario gets its chaos even without asking for it."""
    if request.node.get_closest_marker("chaos_scenario") is not None:
        request.getfixturevalue("chaos")


@pytest.fixture
def chaos_seed(request: pytest.FixtureRequest) -> int:
    """This test's seed: derived from the run seed and the node id (same under any -n)."""
    return _test_seed(request.node)


@pytest.fixture
def market_data(chaos_seed: int) -> MarketData:
    """A seeded market-data factory (``market_data.ohlcv(rows=500)``): same seed, same data."""
    return MarketData(chaos_seed)


@pytest.fixture
def mock_server_url() -> str:
    """Base URL of ``mock_server``; override this fixture to use your exchange's own host."""
    return DEFAULT_BASE_URL


@pytest.fixture
def mock_server(
    request: pytest.FixtureRequest, mock_server_url: str, chaos_seed: int
) -> Iterator[MockServer]:
    """An in-process MockServer intercepting every aiohttp request for the whole test.

    At teardown it fails the test if a request went unmatched (even when the client
    swallowed the error), unless the test already failed.
    """
    __tracebackhide__ = True
    server = MockServer(mock_server_url, seed=chaos_seed)
    marker = request.node.get_closest_marker("mock_server")
    backend = marker.kwargs.get("backend", "inprocess") if marker is not None else "inprocess"
    if backend not in ("inprocess", "socket"):
        raise pytest.UsageError(messages.bad_backend(backend))
    with server.intercept() if backend == "inprocess" else server.serve_in_thread():
        yield server
    if not _test_failed(request.node):
        server.verify()


@pytest.fixture
def mock_server_socket(request: pytest.FixtureRequest, chaos_seed: int) -> Iterator[MockServer]:
    """A MockServer on a real 127.0.0.1 socket (served from a background thread): any client
    reaches ``mock_server_socket.url``, from sync or async tests."""
    __tracebackhide__ = True
    server = MockServer(DEFAULT_BASE_URL, seed=chaos_seed)
    with server.serve_in_thread():
        yield server
    if not _test_failed(request.node):
        server.verify()


@pytest.fixture
def scenario(request: pytest.FixtureRequest) -> Scenario:
    """The scenario this test instance runs under (parametrized by --chaos-scenarios)."""
    param = getattr(request, "param", None)
    if param is None:
        raise pytest.UsageError(messages.scenario_fixture_unparametrized(request.node.nodeid))
    return param  # type: ignore[no-any-return]


@pytest.fixture
def chaos(
    request: pytest.FixtureRequest, mock_server: MockServer, chaos_seed: int
) -> Iterator[Chaos]:
    """Faults for this test, bound to ``mock_server`` and the test's seed.

    Loads the scenarios of ``@pytest.mark.chaos_scenario(...)`` and the ``scenario``
    parameter; ``chaos.inject(...)`` adds more. Fault-log lines go to ``chaos.log`` and,
    with ``--chaos-log``, to the run's log.
    """
    config = request.config
    engine = Chaos(mock_server, chaos_seed, run_seed=run_seed(config), test=request.node.nodeid)
    for loaded in _scenarios_of(request):
        engine.load(loaded)
    try:
        yield engine
        _collect_report_data(request.node, engine)
        if (
            request.node.get_closest_marker("chaos") is not None
            and not _test_failed(request.node)
            and not engine.invariants_checked
        ):
            _check_at_teardown(engine, request.node.stash.get(_EXCHANGE, None))
    finally:
        writer = config.stash.get(_FAULT_LOG, None)
        if writer is not None:
            writer.write(engine.log)
        engine.detach()


def _check_at_teardown(engine: Chaos, exchange: MockExchange | None) -> None:
    __tracebackhide__ = True
    specs = [spec for scenario in engine.scenarios for spec in scenario.invariants]
    if not specs:
        return
    ctx = invariants.context_for(engine, exchange)
    specs, skipped = invariants.checkable(specs, ctx)
    if skipped:
        warnings.warn(HarnessWarning(messages.invariants_not_checked(skipped)), stacklevel=1)
    engine.invariants_checked = True
    invariants.check_invariants(specs, ctx)


@pytest.fixture
def mock_exchange(
    request: pytest.FixtureRequest, mock_server: MockServer, chaos_seed: int
) -> MockExchange:
    """A stateful fake exchange mounted on ``mock_server``.

    The profile comes from indirect parametrization (``parametrize("mock_exchange",
    ["binance-spot"], indirect=True)``), else ``@pytest.mark.exchange("binance-spot")``,
    else ``generic``.
    """
    profile = getattr(request, "param", None)
    marker = request.node.get_closest_marker("exchange")
    if profile is None and marker is not None:
        profile = marker.args[0] if marker.args else marker.kwargs.get("profile")
    handle = MockExchange.create(profile or "generic", seed=chaos_seed, server=mock_server)
    request.node.stash[_EXCHANGE] = handle
    return handle


# -- Toxiproxy ------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def toxiproxy_server(pytestconfig: pytest.Config) -> Iterator[ToxiproxyServer]:
    """A real Toxiproxy server for this process (each xdist worker has its own), started on
    a free port unless TOXIPROXY_URL names one, stopped at the end of the session."""
    server = ToxiproxyServer.from_environment(pytestconfig.rootpath)
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def toxiproxy(
    request: pytest.FixtureRequest, toxiproxy_server: ToxiproxyServer
) -> Iterator[ProxySet]:
    """This test's proxies, from the project's toxiproxy.json (an ``"upstream": "mock_server"``
    points at ``mock_server_socket``), with the toxics of its scenarios applied. Every toxic
    and proxy is removed after the test, pass or fail."""
    config = request.config
    worker = str(getattr(config, "workerinput", {}).get("workerid", "main"))
    counter = config.stash.setdefault(_PROXY_COUNTER, [0])
    counter[0] += 1
    lines: list[dict[str, Any]] = []
    seed, t0 = run_seed(config), time.monotonic()

    def log(line: dict[str, Any]) -> None:
        lines.append(
            {
                "seed": seed,
                "test": request.node.nodeid,
                "index": None,
                "method": None,
                "t": round(time.monotonic() - t0, 6),
                **line,
            }
        )

    if not toxiproxy_server.alive():
        raise ToxiproxyError(
            f"the Toxiproxy server of this session stopped: {toxiproxy_server.log_tail(5)}"
        )
    proxies = ProxySet(Toxiproxy(toxiproxy_server.url), f"{worker}-{counter[0]}", log)
    proxies.log = lines  # type: ignore[attr-defined]
    try:
        config_file = config.rootpath / "toxiproxy.json"
        specs = load_config(config_file) if config_file.is_file() else []
        upstreams: dict[str, str] = {}
        if any(spec.upstream == "mock_server" for spec in specs):
            socket_server: MockServer = request.getfixturevalue("mock_server_socket")
            upstreams["mock_server"] = socket_server.url.removeprefix("http://").split("/")[0]
        apply_specs(proxies, specs, upstreams)
        for scenario in _scenarios_of(request):
            proxies.apply(scenario)
        yield proxies
    finally:
        try:
            proxies.clear_toxics()
        finally:
            proxies.close()
            writer = config.stash.get(_FAULT_LOG, None)
            if writer is not None:
                writer.write(lines)


def _scenarios_of(request: pytest.FixtureRequest) -> list[Scenario]:
    """The scenarios a test runs under: its chaos_scenario markers, then its scenario param."""
    out = []
    for marker in reversed(list(request.node.iter_markers("chaos_scenario"))):
        for name in marker.args:
            out.append(
                name
                if isinstance(name, Scenario)
                else load_scenario(name, project_root=request.config.rootpath)
            )
    if "scenario" in request.fixturenames:
        out.append(request.getfixturevalue("scenario"))
    return out


# -- the resilience report, seed sweeps and shards ----------------------------------------------

_REPORT = pytest.StashKey[FaultLogWriter | None]()
_REPORT_DATA = pytest.StashKey[dict[str, Any]]()
_FAILURE = pytest.StashKey[tuple[str, str]]()
_STARTED = pytest.StashKey[float]()


def _shard(config: pytest.Config) -> tuple[int, int] | None:
    value = config.getoption("--chaos-shard", None)
    if not value:
        return None
    try:
        index, total = (int(v) for v in str(value).split("/"))
    except ValueError:
        raise pytest.UsageError(messages.bad_shard(str(value))) from None
    if not 1 <= index <= total:
        raise pytest.UsageError(messages.bad_shard(str(value)))
    return index, total


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    shard = _shard(config)
    if shard is None:
        return
    index, total = shard
    keep, drop = [], []
    for item in items:
        (keep if derive_seed(0, item.nodeid) % total == index - 1 else drop).append(item)
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


def _sweep_params(metafunc: pytest.Metafunc) -> None:
    sweep = metafunc.config.getoption("--chaos-sweep", None) or 0
    if sweep > 1 and metafunc.definition.get_closest_marker("chaos") is not None:
        metafunc.fixturenames.append("_chaos_sweep")
        metafunc.parametrize(
            "_chaos_sweep", range(sweep), ids=[f"sweep{i}" for i in range(sweep)], indirect=True
        )


@pytest.fixture
def _chaos_sweep(request: pytest.FixtureRequest) -> int:
    return int(request.param)


def _replay(item: pytest.Item) -> str:
    config = item.config
    command = f"pytest '{item.nodeid}' --chaos-seed {run_seed(config)}"
    sweep = config.getoption("--chaos-sweep", None) or 0
    if sweep > 1 and "_chaos_sweep" in _params(item):
        command += f" --chaos-sweep {sweep}"
    return command


def _scenario_name(item: pytest.Item, data: dict[str, Any]) -> str | None:
    params = _params(item)
    if isinstance(params.get("scenario"), Scenario):
        return params["scenario"].name
    names = data.get("scenarios") or []
    return ", ".join(names) if names else None


def _record(item: pytest.Item) -> dict[str, Any]:
    reports = item.stash.get(_PHASE_REPORTS, {})
    call = reports.get("call")
    if any(r.failed for w, r in reports.items() if w != "call"):
        outcome = "error"
    elif call is not None and call.failed:
        outcome = "failed"
    elif any(r.skipped for r in reports.values()):
        outcome = "skipped"
    else:
        outcome = "passed"
    data = item.stash.get(_REPORT_DATA, {})
    exception, message = item.stash.get(_FAILURE, (None, None))
    params = _params(item)
    return {
        "nodeid": item.nodeid,
        "test": getattr(item, "originalname", None) or item.name,
        "scenario": _scenario_name(item, data),
        "outcome": outcome,
        "duration": round(sum(r.duration for r in reports.values()), 4),
        "run_seed": run_seed(item.config),
        "test_seed": _test_seed(item),
        "sweep": params.get("_chaos_sweep"),
        "exception": exception,
        "message": message,
        "faults": data.get("faults", []),
        "violations": data.get("violations", []),
        "latencies_ms": data.get("latencies_ms", []),
        "injected_ms": data.get("injected_ms", []),
        "replay": _replay(item),
    }


def _note_failure(item: pytest.Item, call: pytest.CallInfo[None]) -> None:
    if call.excinfo is None or item.stash.get(_FAILURE, None) is not None:
        return
    exc = call.excinfo.value
    item.stash[_FAILURE] = (type(exc).__name__, str(exc).splitlines()[0][:300] if str(exc) else "")
    violations = getattr(exc, "violations", None)
    if violations:
        data = item.stash.setdefault(_REPORT_DATA, {})
        data["violations"] = [
            {
                "invariant": v.invariant,
                "message": v.message,
                "evidence": json.loads(json.dumps(v.evidence[:6], default=str)),
            }
            for v in violations
        ]


def _collect_report_data(item: pytest.Item, engine: Chaos) -> None:
    """What the report needs from a chaos test: its faults, and what its clients waited."""
    data = item.stash.setdefault(_REPORT_DATA, {})
    data["faults"] = list(engine.log)
    data["scenarios"] = engine.scenario_names
    data["latencies_ms"] = [
        round(e.duration * 1000, 3) for e in engine.server.journal if e.duration is not None
    ]
    data["injected_ms"] = [
        line["params"]["delay_ms"] for line in engine.log if line["kind"] == "latency"
    ]
    item.user_properties.append(("chaos_faults", len(engine.log)))
