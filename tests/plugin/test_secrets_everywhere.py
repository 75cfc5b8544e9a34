"""Planted secrets (a query signature, an API-key header, JSON and form body fields) appear
nowhere a run writes: pytest's output and tracebacks, junit.xml, the fault log, the
report's files."""

from __future__ import annotations

import pytest

from tests.written import everything_written

pytestmark = pytest.mark.usefixtures("clean_xdist_env")

SECRETS = ("QSECRETq1w2e3", "HSECRETa9s8d7", "JSECRETz1x2c3", "FSECRETm5n6b7")

LEAKY = """
import aiohttp
import pytest
from harness import faults

Q, H, J, F = (bytes.fromhex(x).decode() for x in HEXES)


async def send(mock_server, last):
    async with aiohttp.ClientSession(headers={"X-MBX-APIKEY": H}) as s:
        await s.post(mock_server.url + f"/api/v3/order?signature={Q}", json={"apiSecret": J})
        await s.post(mock_server.url + "/api/v3/order", data={"password": F, "qty": "1"})
        await s.get(mock_server.url + f"/api/v3/{last}?signature={Q}&apiKey={H}")


@pytest.mark.chaos
async def test_unmatched(mock_server, chaos):
    mock_server.route("*", "/api/v3/order").respond(json={"ok": True})
    chaos.inject(faults.Error(status=500), schedule={"first": 1})
    await send(mock_server, "nope")


@pytest.mark.chaos
async def test_client_fails(mock_server, chaos):
    mock_server.route("*", "/api/v3/**").respond(json={"ok": True})
    await send(mock_server, "order")
    raise AssertionError(f"the client failed after {mock_server.journal[-1].url}")
"""


def test_no_planted_secret_reaches_anything_a_run_writes(pytester: pytest.Pytester) -> None:
    hexes = tuple(s.encode().hex() for s in SECRETS)  # the test file holds no secret itself
    pytester.makepyfile(test_leaky=LEAKY.replace("HEXES", repr(hexes)))
    result = pytester.runpytest_subprocess(
        "-o", "asyncio_mode=auto", "-p", "no:randomly", "-rA",
        "--chaos-report", "rep", "--chaos-log", "log.jsonl", "--junitxml", "junit.xml",
    )  # fmt: skip
    result.assert_outcomes(failed=2)
    written = everything_written(pytester.path)
    assert {"rep/report.json", "rep/report.md", "rep/report.html", "junit.xml", "log.jsonl"} <= set(
        written
    )
    texts = {"pytest output": result.stdout.str() + result.stderr.str(), **written}
    leaks = [(where, s) for where, text in texts.items() for s in SECRETS if s in text]
    assert not leaks
    assert "signature=***" in texts["pytest output"]  # the evidence is there, redacted
