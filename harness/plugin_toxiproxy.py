"""The Toxiproxy part of the pytest plugin: a real Toxiproxy server per process, and each
test's proxies from the project's ``toxiproxy.json``. A plugin of its own (entry point
``chaos_harness_toxiproxy``) so a project without Toxiproxy can leave it out with
``-p no:chaos_harness_toxiproxy``; it builds on the main plugin's session and test state.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from harness.errors import messages
from harness.plugin import item_state, scenarios_of, session_of

if TYPE_CHECKING:
    from harness.toxiproxy import ProxySet, ToxiproxyServer


@pytest.fixture(scope="session")
def toxiproxy_server(pytestconfig: pytest.Config) -> Iterator[ToxiproxyServer]:
    """A real Toxiproxy server for this process (each xdist worker has its own)."""
    from harness.toxiproxy import TOXIPROXY_MODULE, TOXIPROXY_VERSION, ToxiproxyServer, find_binary

    # Without any Toxiproxy, tests that need it are skipped, saying how to install it
    # (unless the run requires it, as the project's own CI does).
    missing = not os.environ.get("TOXIPROXY_URL") and find_binary(pytestconfig.rootpath) is None
    if missing and not pytestconfig.getoption("--chaos-require-toxiproxy"):
        pytest.skip(messages.toxiproxy_skipped(TOXIPROXY_MODULE, TOXIPROXY_VERSION))
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
    """This test's proxies from toxiproxy.json, with its scenarios' toxics applied and logged."""
    from harness.toxiproxy import project_proxies

    config, node, session = request.config, request.node, session_of(request.config)
    item_state(node).real_time.append(messages.real_time_because("toxiproxy"))
    chaos = item_state(node).chaos
    if chaos is None and "chaos" in request.fixturenames:
        chaos = request.getfixturevalue("chaos")
    with project_proxies(
        toxiproxy_server,
        config.rootpath,
        worker=str(getattr(config, "workerinput", {}).get("workerid", "main")),
        nodeid=node.nodeid,
        mock_server=lambda: request.getfixturevalue("mock_server_socket"),
        scenarios=scenarios_of(request),
        log=chaos.log if chaos is not None else session.standalone_log(node.nodeid),
    ) as proxies:
        yield proxies
    if chaos is None and proxies.log is not None:
        session.write_log(proxies.log)
