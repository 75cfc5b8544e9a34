"""Toxiproxy under xdist and after failures, through pytester."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

pytestmark = pytest.mark.usefixtures("clean_xdist_env")
ROOT = Path(__file__).resolve().parents[2]

PARALLEL = """
import time
import pytest
import requests

@pytest.mark.parametrize("n", range(6))
def test_own_proxy(mock_server_socket, toxiproxy, n):
    mock_server_socket.get("/v1/n").respond(json={"n": n})
    toxiproxy.add_toxic("exchange", "latency", {"latency": 50 * n})
    start = time.monotonic()
    assert requests.get(toxiproxy.url("exchange") + "/v1/n", timeout=10).json() == {"n": n}
    assert time.monotonic() - start >= 0.05 * n
    names = list(toxiproxy.api.proxies())
    assert toxiproxy["exchange"].name in names
"""

FAILING = """
import requests

def test_fails_with_a_toxic(mock_server_socket, toxiproxy):
    toxiproxy.add_toxic("exchange", "latency", {"latency": 5000})
    assert False, "this test fails while its toxic is active"

def test_nothing_left_behind(toxiproxy_server):
    from harness.toxiproxy import Toxiproxy
    assert Toxiproxy(toxiproxy_server.url).proxies() == {}
"""


def _project(pytester: pytest.Pytester) -> None:
    shutil.copy(ROOT / "toxiproxy.json", pytester.path / "toxiproxy.json")


def test_parallel_workers_never_share_proxies(pytester: pytest.Pytester) -> None:
    _project(pytester)
    pytester.makepyfile(test_parallel=PARALLEL)
    result = pytester.runpytest_subprocess("-n", "2", "-p", "no:randomly")
    result.assert_outcomes(passed=6)


def test_a_failing_test_leaves_no_toxic_or_proxy(pytester: pytest.Pytester) -> None:
    _project(pytester)
    pytester.makepyfile(test_failing=FAILING)
    result = pytester.runpytest_subprocess("-p", "no:randomly")
    result.assert_outcomes(passed=1, failed=1)
