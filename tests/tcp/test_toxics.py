"""A real Toxiproxy server: each toxic's effect on a real client, isolation and cleanup."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import requests

from harness.errors import ToxiproxyError
from harness.mock import MockServer
from harness.toxiproxy import ProxySet, load_config

BIG = b"x" * 200_000


@pytest.fixture
def exchange(mock_server_socket: MockServer) -> MockServer:
    mock_server_socket.get("/v1/time").respond(json={"time": 1})
    mock_server_socket.get("/v1/big").respond(body=BIG)
    return mock_server_socket


def timed_get(url: str, **kwargs: object) -> tuple[requests.Response, float]:
    start = time.monotonic()
    resp = requests.get(url, timeout=kwargs.pop("timeout", 10), **kwargs)  # type: ignore[arg-type]
    return resp, time.monotonic() - start


def test_proxy_passes_traffic_through(exchange: MockServer, toxiproxy: ProxySet) -> None:
    url = toxiproxy.url("exchange")
    assert url.startswith("http://127.0.0.1:") and not url.endswith(":0")
    assert requests.get(url + "/v1/time", timeout=5).json() == {"time": 1}
    assert exchange.journal.last.path == "/v1/time"


def test_latency_adds_at_least_its_amount(exchange: MockServer, toxiproxy: ProxySet) -> None:
    toxiproxy.add_toxic("exchange", "latency", {"latency": 300})
    resp, took = timed_get(toxiproxy.url("exchange") + "/v1/time")
    assert resp.status_code == 200 and took >= 0.3


def test_reset_peer_resets(exchange: MockServer, toxiproxy: ProxySet) -> None:
    toxiproxy.add_toxic("exchange", "reset_peer", {"timeout": 0})
    with pytest.raises(requests.ConnectionError):
        requests.get(toxiproxy.url("exchange") + "/v1/time", timeout=5)


def test_timeout_toxic_makes_the_client_time_out(exchange: MockServer, toxiproxy: ProxySet) -> None:
    toxiproxy.add_toxic("exchange", "timeout", {"timeout": 0})
    with pytest.raises(requests.ReadTimeout):
        requests.get(toxiproxy.url("exchange") + "/v1/time", timeout=0.5)


def test_bandwidth_slows_a_large_body(exchange: MockServer, toxiproxy: ProxySet) -> None:
    fast, fast_took = timed_get(toxiproxy.url("exchange") + "/v1/big")
    toxiproxy.add_toxic("exchange", "bandwidth", {"rate": 200})  # KB/s: 200 KB take about 1 s
    slow, slow_took = timed_get(toxiproxy.url("exchange") + "/v1/big")
    assert fast.content == slow.content == BIG
    assert slow_took >= 0.5 and slow_took > fast_took


def test_down_disables_the_proxy(exchange: MockServer, toxiproxy: ProxySet) -> None:
    toxiproxy.add_toxic("exchange", "down")
    with pytest.raises(requests.ConnectionError):
        requests.get(toxiproxy.url("exchange") + "/v1/time", timeout=5)


def test_toxics_are_removed_after_the_test(exchange: MockServer, toxiproxy: ProxySet) -> None:
    toxiproxy.add_toxic("exchange", "latency", {"latency": 1000})
    name = toxiproxy["exchange"].name
    assert toxiproxy.api.toxics(name)
    toxiproxy.clear_toxics()
    assert toxiproxy.api.toxics(name) == {}
    assert requests.get(toxiproxy.url("exchange") + "/v1/time", timeout=5).status_code == 200


@pytest.mark.chaos_scenario("toxic-latency-jitter")
def test_scenario_toxics_are_applied_and_logged(exchange: MockServer, toxiproxy: ProxySet) -> None:
    toxics = toxiproxy.api.toxics(toxiproxy["exchange"].name)
    assert [t.type for t in toxics.values()] == ["latency"]
    assert toxiproxy.log is not None
    assert toxiproxy.log[0].kind == "toxic:latency" and toxiproxy.log[0].has("delays")
    assert toxiproxy.log[0].scenario == "toxic-latency-jitter"


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("{}", "expected a JSON list"),
        ('[{"name": "a"}]', "upstream"),
        ('[{"name": "a", "upstream": "10.0.0.1:80"}]', "not on loopback"),
        (
            '[{"name": "a", "upstream": "mock_server"}, {"name": "a", "upstream": "mock_server"}]',
            "used twice",
        ),
        ('[{"name": "a", "upstream": "mock_server", "lisen": "x"}]', "unknown field"),
        ("not json", "cannot read"),
    ],
)
def test_bad_toxiproxy_json(tmp_path: Path, content: str, fragment: str) -> None:
    path = tmp_path / "toxiproxy.json"
    path.write_text(content)
    with pytest.raises(ToxiproxyError, match=fragment):
        load_config(path)


def test_the_project_config_is_valid() -> None:
    specs = load_config(Path(__file__).resolve().parents[2] / "toxiproxy.json")
    assert [s.name for s in specs] == ["exchange"] and json.dumps(
        specs[0].upstream
    ) == '"mock_server"'
