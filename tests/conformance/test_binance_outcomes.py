"""The docs' ccxt / python-binance table is generated from real runs, and stays so.

The runs are those of :mod:`tests.conformance.binance_outcomes` (``python -m
tests.conformance.binance_outcomes`` prints the table): both clients, unmodified, under one fault of
each HTTP kind, on both backends. The backends must agree except where ccxt itself
behaves differently with a rewritten URL (its spot-only error map).
"""

from __future__ import annotations

from tests.conformance.binance_outcomes import disagreements, matrix, render
from tests.readme_tables import assert_current

MAINTENANCE = "`error` 503 `maintenance`"
# ccxt applies its spot-only error map to https://api.binance.com/ URLs only: -1008 is
# OperationFailed in-process (production URL) and ExchangeError over a socket.
KNOWN_DIFFERENCES = {
    (MAINTENANCE, "ccxt `fetch_ticker`"): ("OperationFailed", "ExchangeError"),
    (MAINTENANCE, "ccxt `create_order`"): ("OperationFailed", "ExchangeError"),
}


async def test_the_readme_table_is_generated_from_these_runs() -> None:
    results = await matrix()
    assert disagreements(results) == KNOWN_DIFFERENCES
    seen = {(label, call): out for (backend, label, call), out in results.items()}
    # the facts the docs state in words
    assert seen[("`error` 429 `rate_limited`", "ccxt `fetch_ticker`")] == "DDoSProtection"
    assert seen[("`reset`", "ccxt `fetch_ticker`")] == "ExchangeNotAvailable"
    assert seen[("`hang`", "ccxt `create_order`")] == "RequestTimeout"
    assert seen[("`corrupt` `html_error_page`", "ccxt `fetch_ticker`")].startswith("empty ticker")
    assert seen[("`ack_lost` `disconnect`", "ccxt `create_order`")].endswith("· order placed")
    assert seen[("`clock_skew` -30 s", "python-binance `create_order`")] == (
        "BinanceAPIException 400 / -1021"
    )
    assert_current(
        "binance-outcomes", render(results), "python -m tests.conformance.binance_outcomes"
    )
