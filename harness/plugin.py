"""The pytest plugin: hooks and fixtures over the library, nothing else.

Options, markers and fixture names are declared in :mod:`harness.options`; the session's
seed, writers and report records live in :mod:`harness.session`. Every fixture imports
what it needs when it runs, so loading the plugin costs a project's pytest run little.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from typing import TYPE_CHECKING, Any

import pytest

from harness import options
from harness.errors import UsageError, messages
from harness.session import ChaosSession, ItemState, sigterm_as_interrupt

if TYPE_CHECKING:
    from harness.chaos.engine import Chaos
    from harness.exchange import MockExchange
    from harness.market import MarketData
    from harness.mock.server import MockServer
    from harness.scenario import Scenario

__all__ = ["item_state", "run_seed", "scenarios_of", "session_of", "uses_harness"]

_SESSION = pytest.StashKey[ChaosSession]()
_STATE = pytest.StashKey[ItemState]()


pytest_addoption = options.register  # the hook takes (parser), as register does


def pytest_configure(config: pytest.Config) -> None:
    for marker in options.MARKERS:
        config.addinivalue_line("markers", marker)
    workerinput = getattr(config, "workerinput", None)
    args = list(config.invocation_params.args)
    try:
        config.stash[_SESSION] = ChaosSession.from_options(config.getoption, workerinput, args)
    except UsageError as exc:
        raise pytest.UsageError(str(exc)) from None
    if workerinput is None:
        sigterm_as_interrupt(config.add_cleanup)


@pytest.hookimpl(trylast=True)  # after pytest tore down what an interrupt left running
def pytest_sessionfinish(session: pytest.Session) -> None:
    if not hasattr(session.config, "workerinput"):
        session.config.stash[_SESSION].finish()


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """xdist controller: every worker gets the controller's run seed."""
    node.workerinput.update(node.config.stash[_SESSION].worker_input())


def pytest_report_header(config: pytest.Config) -> list[str]:
    ini = config.getini("chaos_scenarios")
    return config.stash[_SESSION].header(
        config.getoption("--chaos-scenarios"), config.rootpath, ini
    )


def run_seed(config: pytest.Config) -> int:
    """The run seed of this pytest session."""
    return config.stash[_SESSION].run_seed


def session_of(config: pytest.Config) -> ChaosSession:
    return config.stash[_SESSION]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    config = metafunc.config
    sweep = config.stash[_SESSION].sweep
    if sweep > 1 and metafunc.definition.get_closest_marker("chaos") is not None:
        metafunc.fixturenames.append("_chaos_sweep")
        metafunc.parametrize("_chaos_sweep", range(sweep), ids=[f"sweep{i}" for i in range(sweep)])
    if "scenario" in metafunc.fixturenames:
        found = config.stash[_SESSION].scenarios(
            config.getoption("--chaos-scenarios"), config.rootpath, config.getini("chaos_scenarios")
        )
        metafunc.parametrize("scenario", found, ids=[s.name for s in found], indirect=True)


def pytest_report_collectionfinish(config: pytest.Config) -> str | None:
    return config.stash[_SESSION].scenario_line()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    session = config.stash[_SESSION]
    drop = [item for item in items if not session.in_shard(item.nodeid)]
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = [item for item in items if session.in_shard(item.nodeid)]


def uses_harness(item: pytest.Item) -> bool:
    names = getattr(item, "fixturenames", ())
    return item.get_closest_marker("chaos") is not None or not options.FIXTURES.isdisjoint(names)


def item_state(item: pytest.Item) -> ItemState:
    """What the plugin keeps of this test (made on first use)."""
    if _STATE not in item.stash:
        params = dict(getattr(getattr(item, "callspec", None), "params", {}))
        marker = item.get_closest_marker("chaos")
        fixed, sweep = marker.kwargs.get("seed") if marker else None, params.get("_chaos_sweep")
        item.stash[_STATE] = ItemState(
            nodeid=item.nodeid,
            test=getattr(item, "originalname", None) or item.name,
            test_seed=item.config.stash[_SESSION].test_seed(item.nodeid, fixed, sweep),
            scenario=getattr(params.get("scenario"), "name", None),
            sweep=sweep,
        )
    return item.stash[_STATE]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    """A test whose scenario fired nothing is skipped (--chaos-strict: failed); a chaos test
    is then judged by its scenarios' invariants: a violation fails the test itself."""
    __tracebackhide__ = True
    result = yield
    chaos = item_state(item).chaos
    if chaos is not None:
        from harness.invariants import check_after_test

        inert = check_after_test(chaos, invariants=item.get_closest_marker("chaos") is not None)
        if inert is not None:
            (pytest.fail if item.config.stash[_SESSION].strict else pytest.skip)(inert)
    return result


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    if uses_harness(item):
        item.config.stash[_SESSION].record_start(item_state(item))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    state = item_state(item)
    state.note(report.when, report.outcome, report.duration, call.excinfo and call.excinfo.value)
    if uses_harness(item):
        session = item.config.stash[_SESSION]
        if report.when == "teardown":
            session.record(state)
            # what chaos-harness run counts (an attribute: it crosses xdist, not junit.xml)
            report.chaos_faults = state.chaos.log.total if state.chaos is not None else 0
        if report.failed:
            report.sections.append(("chaos", session.failure_section(state)))
    return report


# -- fixtures ---------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def _chaos_autouse(request: pytest.FixtureRequest) -> Iterator[None]:
    """Block live endpoints in tests using the harness; give chaos_scenario tests their chaos."""
    if request.config.getoption("--chaos-allow-network") or not uses_harness(request.node):
        yield
        return
    from harness.guard import LiveEndpointGuard

    with LiveEndpointGuard():
        if request.node.get_closest_marker("chaos_scenario") is not None:
            request.getfixturevalue("chaos")
        yield


@pytest.fixture
def chaos_seed(request: pytest.FixtureRequest) -> int:
    """This test's seed: derived from the run seed and the node id (same under any -n)."""
    return item_state(request.node).test_seed


@pytest.fixture
def market_data(chaos_seed: int) -> MarketData:
    """A seeded market-data factory (``market_data.ohlcv(rows=500)``): same seed, same data."""
    from harness.market import MarketData

    return MarketData(chaos_seed)


@pytest.fixture
def mock_server_url() -> str:
    """Base URL of ``mock_server`` and ``mock_server_socket``; override it with your host."""
    from harness.mock.server import DEFAULT_BASE_URL

    return DEFAULT_BASE_URL


def _served(request: pytest.FixtureRequest, url: str, seed: int, socket: bool) -> Iterator[Any]:
    """A MockServer (with the test's chaos_cassette recordings); an unmatched request fails
    the test at teardown unless it already failed."""
    __tracebackhide__ = True
    from harness.mock.server import MockServer

    config, node = request.config, request.node
    roles = session_of(config).roles(config.rootpath, config.getini("chaos_roles"))
    server = MockServer(url, seed=seed, roles=roles or None)
    marked = [(m.args, m.kwargs) for m in reversed(list(node.iter_markers("chaos_cassette")))]
    if marked:
        from harness.recordings import load_marked

        socket = (
            load_marked(server, marked, [node.path.parent, config.rootpath]) == "socket" or socket
        )
    if socket:
        item_state(node).real_time.append(messages.real_time_because("socket"))
    with server.serve_in_thread() if socket else server.intercept():
        yield server
    if not item_state(node).failed:
        server.verify()


@pytest.fixture
def mock_server(
    request: pytest.FixtureRequest, mock_server_url: str, chaos_seed: int
) -> Iterator[MockServer]:
    """A MockServer intercepting aiohttp in-process (``mock_server(backend="socket")``: a socket)."""
    marker = request.node.get_closest_marker("mock_server")
    backend = marker.kwargs.get("backend", "inprocess") if marker is not None else "inprocess"
    if backend not in ("inprocess", "socket"):
        raise pytest.UsageError(messages.bad_backend(backend))
    yield from _served(request, mock_server_url, chaos_seed, socket=backend == "socket")


@pytest.fixture
def mock_server_socket(
    request: pytest.FixtureRequest, mock_server_url: str, chaos_seed: int
) -> Iterator[MockServer]:
    """A MockServer on a real 127.0.0.1 socket, served from a thread: any client, sync or async."""
    yield from _served(request, mock_server_url, chaos_seed, socket=True)


@pytest.fixture
def scenario(request: pytest.FixtureRequest) -> Scenario:
    """The scenario this test instance runs under (parametrized by --chaos-scenarios)."""
    if getattr(request, "param", None) is None:
        raise pytest.UsageError(messages.scenario_fixture_unparametrized(request.node.nodeid))
    return request.param  # type: ignore[no-any-return]


def scenarios_of(request: pytest.FixtureRequest) -> list[Scenario]:
    """Its chaos_scenario markers' scenarios, then its scenario parameter."""
    from harness.scenario import resolve

    markers = reversed(list(request.node.iter_markers("chaos_scenario")))
    found = resolve([n for m in markers for n in m.args], request.config.rootpath)
    if "scenario" in request.fixturenames:
        found.append(request.getfixturevalue("scenario"))
    return found


@pytest.fixture
def chaos(
    request: pytest.FixtureRequest, mock_server: MockServer, chaos_seed: int
) -> Iterator[Chaos]:
    """This test's chaos engine on ``mock_server``, with its scenarios loaded."""
    from harness.chaos.engine import Chaos

    node, session = request.node, request.config.stash[_SESSION]
    engine = Chaos(mock_server, chaos_seed, run_seed=session.run_seed, test=node.nodeid)
    session.new_log(engine.log)
    for loaded in scenarios_of(request):
        engine.load(loaded)
        for kind in ("toxics", "streams"):
            if getattr(loaded, kind):
                item_state(node).real_time.append(messages.real_time_because(kind, loaded.name))
    item_state(node).chaos = engine
    try:
        yield engine
    finally:
        session.write_log(engine.log)
        engine.detach()


@pytest.fixture
def mock_exchange(
    request: pytest.FixtureRequest, mock_server: MockServer, chaos_seed: int
) -> MockExchange:
    """A stateful fake exchange on ``mock_server`` (profile: indirect param, else marker)."""
    from harness.exchange import MockExchange

    profile = getattr(request, "param", None)
    marker = request.node.get_closest_marker("exchange")
    if profile is None and marker is not None:
        profile = marker.args[0] if marker.args else marker.kwargs.get("profile")
    root = request.config.rootpath
    return MockExchange.create(profile or "generic", seed=chaos_seed, server=mock_server, root=root)
