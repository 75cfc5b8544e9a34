"""Secrets never leave the client: a pytest run in which ccxt and python-binance sign every
private call, through faults and an unmatched route, on both backends, with the fault log
and the report on; then a grep of everything the run wrote (the journal as ``to_dict``
gives it, the fault log, report.json/.md/.html, records, pytest's own output) for the API
key, the secret and every signature the clients computed finds nothing."""

from __future__ import annotations

import pytest

from tests.written import everything_written

pytestmark = pytest.mark.usefixtures("clean_xdist_env")

KEY = "leakcheckKEY6b1f0e9d8c7b6a5f4e3d2c1b0a9f8e7d6c5b4a3f2e1d0c9b8a7f6e5d4c3b2a1f0e9d"
SECRET = "leakcheckSECRET3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b"

INNER = """
import json
import os
import pathlib
import re

import ccxt.async_support as ccxt
import pytest
from binance import AsyncClient

from harness import faults
from harness.exchange.profiles.binance import ccxt_urls, python_binance_urls

KEY, SECRET = os.environ["LEAK_KEY"], os.environ["LEAK_SECRET"]
SIGNATURES = pathlib.Path("signatures.txt")


def note(*texts):
    found = [s for t in texts for s in re.findall(r"signature=([0-9a-fA-F]{64})", t or "")]
    with SIGNATURES.open("a") as out:
        out.write("".join(s + "\\n" for s in found))


def ccxt_client(url):
    ex = ccxt.binance({"apiKey": KEY, "secret": SECRET, "enableRateLimit": False})
    if url is not None:
        ex.urls["api"] = ccxt_urls(url)
    sign = ex.sign

    def recording(*args, **kwargs):
        out = sign(*args, **kwargs)
        note(out["url"], out.get("body"))
        return out

    ex.sign = recording
    return ex


async def binance_client(url):
    cls = AsyncClient if url is None else type("M", (AsyncClient,), python_binance_urls(url))
    client = cls(KEY, SECRET)
    generate = client._generate_signature

    def recording(*args, **kwargs):
        signature = generate(*args, **kwargs)
        note("signature=" + signature)
        return signature

    client._generate_signature = recording
    await client.ping()
    return client


async def signed_run(mock_exchange, chaos, url):
    mock_exchange.profile.api_keys = {KEY: SECRET}
    ex = ccxt_client(url)
    client = await binance_client(url)
    try:
        await ex.load_markets()
        chaos.inject(faults.Error(preset="maintenance"), match={"role": "account"}, schedule={"first": 1})
        chaos.inject(faults.Latency(fixed_ms=1), match={"role": "order_place"})
        chaos.inject(faults.AckLost(mode="disconnect"), match={"role": "order_cancel"}, schedule={"first": 1})
        with pytest.raises(ccxt.BaseError):
            await ex.fetch_balance()  # 503 -1008
        await ex.fetch_balance()
        order = await ex.create_order("BTC/USDT", "limit", "buy", 0.01, 1000.0)
        with pytest.raises(ccxt.BaseError):
            await ex.cancel_order(order["id"], "BTC/USDT")  # the answer is lost, twice (resent)
        await client.get_account()
        placed = await client.order_limit_buy(symbol="BTCUSDT", quantity=0.01, price="1000")
        await client.cancel_order(symbol="BTCUSDT", orderId=placed["orderId"])  # a DELETE body
        await client.get_my_trades(symbol="BTCUSDT")
        with pytest.raises(Exception):  # no route: fails the test at teardown too
            await ex.fetch_deposit_address("BTC")
        with pytest.raises(Exception):
            await client.get_deposit_address(coin="BTC")
    finally:
        await ex.close()
        await client.close_connection()
    name = "inprocess" if url is None else "socket"
    entries = [entry.to_dict() for entry in mock_exchange.server.journal]
    pathlib.Path(f"journal-{name}.json").write_text(json.dumps(entries, default=str))
    pathlib.Path(f"unmatched-{name}.txt").write_text(
        "\\n".join(str(e) for e in mock_exchange.server.unmatched)
    )
    assert len(chaos.log) >= 3


@pytest.mark.chaos
@pytest.mark.exchange("binance-spot")
async def test_signed_inprocess(mock_exchange, chaos):
    await signed_run(mock_exchange, chaos, None)


@pytest.mark.chaos
@pytest.mark.exchange("binance-spot")
@pytest.mark.mock_server(backend="socket")
async def test_signed_socket(mock_exchange, chaos):
    await signed_run(mock_exchange, chaos, mock_exchange.url)
"""


def test_no_secret_in_anything_a_signed_run_wrote(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEAK_KEY", KEY)
    monkeypatch.setenv("LEAK_SECRET", SECRET)
    pytester.makepyfile(test_signed=INNER)
    result = pytester.runpytest_subprocess(
        "-o",
        "asyncio_mode=auto",
        "-p",
        "no:randomly",
        "-vv",
        "-rA",
        "--chaos-report",
        "report",
        "--chaos-log",
        "faults.jsonl",
    )
    # each test passes its body and errors at teardown: the unmatched routes
    result.assert_outcomes(passed=2, errors=2)
    output = result.stdout.str() + result.stderr.str()
    assert "reached the mock server without a matching route" in output
    signatures = set(pytester.path.joinpath("signatures.txt").read_text().split())
    assert len(signatures) >= 20
    written = everything_written(pytester.path, exclude=("test_signed.py", "signatures.txt"))
    for name in (
        "faults.jsonl",
        "report/report.json",
        "report/report.md",
        "report/report.html",
        "journal-inprocess.json",
        "journal-socket.json",
        "unmatched-inprocess.txt",
        "unmatched-socket.txt",
    ):
        assert written.get(name), f"the run wrote no {name}"
    assert "signature=***" in written["unmatched-socket.txt"]
    assert "signature=" in written["journal-socket.json"]  # the signed requests are there
    written["pytest output"] = output
    leaks = [
        (name, secret[:16])
        for name, text in written.items()
        for secret in (KEY, SECRET, *signatures)
        if secret in text or secret.lower() in text.lower()
    ]
    assert not leaks, f"secrets found in what the run wrote: {leaks[:10]}"


FAILING = """
import os

import ccxt.async_support as ccxt
import pytest

from harness import faults


@pytest.mark.chaos
@pytest.mark.exchange("binance-spot")
async def test_a_client_error_fails_the_test(mock_exchange, chaos):
    ex = ccxt.binance({"apiKey": os.environ["LEAK_KEY"], "secret": os.environ["LEAK_SECRET"]})
    ex.options["fetchCurrencies"] = False  # one signed call only: the one that times out
    ex.options["fetchMargins"] = False
    ex.timeout = 200
    try:
        await ex.load_markets()
        chaos.inject(faults.Hang(), match={"role": "account"})
        await ex.fetch_balance()  # ccxt: RequestTimeout("binance GET <url with signature>")
    finally:
        await ex.close()
"""


def test_no_signature_in_the_report_when_a_client_exception_fails_the_test(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LEAK_KEY", KEY)
    monkeypatch.setenv("LEAK_SECRET", SECRET)
    pytester.makepyfile(test_failing=FAILING)
    result = pytester.runpytest_subprocess(
        "-o", "asyncio_mode=auto", "-p", "no:randomly", "--chaos-report", "report"
    )
    result.assert_outcomes(failed=1)
    report = pytester.path.joinpath("report", "report.json").read_text()
    assert "signature=" not in report.replace("signature=***", "")
    assert KEY not in report and SECRET not in report
    assert "RequestTimeout" in report and "signature=***" in report  # redacted, not dropped
