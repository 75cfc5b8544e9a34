"""The pytest plugin: the ``chaos`` marker, seed options, fixtures, and the live-endpoint guard.

Thin by design: it wires library objects to pytest's lifecycle and keeps no logic of
its own. Its state lives in ``config.stash``; the run seed is chosen once by the
controller and handed to every xdist worker, so per-test seeds do not depend on ``-n``.
"""

from __future__ import annotations

import argparse
from collections.abc import Generator, Iterator
from typing import Any

import pytest

from harness.errors import messages
from harness.guard import LiveEndpointGuard
from harness.mock.server import MockServer
from harness.seeding import derive_seed, new_run_seed

__all__ = ["DEFAULT_BASE_URL"]

DEFAULT_BASE_URL = "https://api.exchange.test"
HARNESS_FIXTURES = frozenset(("mock_server", "chaos_seed"))

_RUN_SEED = pytest.StashKey[tuple[int, str]]()
_PHASE_REPORTS = pytest.StashKey[dict[str, pytest.TestReport]]()


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


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "chaos(seed=None): a chaos test; seed= fixes this test's seed (select with -m chaos)",
    )
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None and "chaos_seed" in workerinput:
        config.stash[_RUN_SEED] = (int(workerinput["chaos_seed"]), workerinput["chaos_seed_source"])
        return
    given = config.getoption("--chaos-seed", None)
    if given is not None:
        config.stash[_RUN_SEED] = (given, "from --chaos-seed")
    else:
        config.stash[_RUN_SEED] = (new_run_seed(), "random")


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


def _test_seed(item: pytest.Item) -> int:
    marker = item.get_closest_marker("chaos")
    if marker is not None and marker.kwargs.get("seed") is not None:
        return int(marker.kwargs["seed"])
    return derive_seed(run_seed(item.config), item.nodeid)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    item.stash.setdefault(_PHASE_REPORTS, {})[report.when] = report
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


@pytest.fixture
def chaos_seed(request: pytest.FixtureRequest) -> int:
    """This test's seed: derived from the run seed and the node id (same under any -n)."""
    return _test_seed(request.node)


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
    with server.intercept():
        yield server
    if not _test_failed(request.node):
        server.verify()
