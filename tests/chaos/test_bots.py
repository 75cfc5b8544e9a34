"""The project's own chaos suite: the harness must catch the bugs NaiveBot has, and only those.

Every built-in scenario runs against both reference bots through the pytest plugin (the
``scenario``, ``mock_exchange`` and ``chaos`` fixtures). ResilientBot must keep every
invariant its scenario names. NaiveBot must violate exactly the invariants in the table
below: this is the proof that the harness detects real resilience bugs, and that it does
not cry wolf. Seeds are fixed (``chaos(seed=7)``) so the table describes one replayable run.

In-process scenarios run on virtual time (the plugin's ``auto`` clock); the ``realistic``
ones meet the bots at a production pace (``production()``: a cycle a minute, 10 s
timeouts, backoff to 30 s) under real-world durations: Retry-After of 45 s, bans of 2
minutes and more, a 30-minute maintenance, acks lost for 10 minutes. Hours of exchange
time, a fraction of a second of wall time.
"""

from __future__ import annotations

import asyncio
import re

import pytest

from harness import invariants
from harness.scenario import load_library
from harness.toxiproxy import ProxySpec, proxies_for_test, proxy_suffix
from strategies.naive import NaiveBot
from strategies.resilient import ResilientBot

CYCLES = 6
STREAM_CYCLES = 15  # stream scenarios trade off the book stream: longer runs, more messages
BUDGET_S = 8.0  # a hung naive bot is stopped here; its invariants are then checked
REALISTIC_BUDGET_S = 2 * 3600.0  # two hours of exchange time for the realistic set

# scenario -> the invariants NaiveBot violates (among those the scenario names), and why.
NAIVE_VIOLATES: dict[str, set[str]] = {
    # it trades on the duplicated / shuffled candles it never validates
    "bars-rows-out-of-order": {"no_trade_on_invalid_data"},
    # resets hit before the order is placed: its blind resend creates no duplicate
    "connection-resets": set(),
    # NaN, negative and swapped prices go straight into its signal and its order
    "corrupted-ohlcv": {"no_trade_on_invalid_data"},
    # it resends at once through the 503s, ignoring Retry-After
    "exchange-maintenance-503": {"respects_retry_after"},
    # every fifth request is dropped before the order exists: resending is harmless, and
    # the drops never come five in a row
    "flapping-connection": set(),
    # six 502s in a row: it tries the same request more than five times
    "gateway-errors-burst": {"bounded_retries"},
    # the HTML page makes its JSON parse fail, and its blind retry happens to fetch a good one
    "html-error-page": set(),
    # no timeout: it waits on the hung order endpoint until the test stops it
    "hung-order-endpoint": {"recovers_within"},
    # it keeps sending through 429s and then through the 418 ban
    "ip-ban-escalation": {"respects_retry_after", "no_requests_while_banned"},
    # latency alone does not break it
    "lognormal-latency": set(),
    "market-data-jitter": set(),
    "rest-latency-spikes": set(),
    # the lost ack makes it send the same order again; it never learns the first exists
    "order-ack-lost": {"no_duplicate_orders", "orders_reconciled"},
    # it hangs waiting for the ack (no timeout), never resends, never reconciles
    "order-ack-timeout": {"orders_reconciled"},
    # immediate retries into the limiter: too many attempts, no respect for Retry-After
    "rate-limit-storm": {"bounded_retries", "respects_retry_after"},
    # the wait outlasts its retries: it retries at once, then sends again next cycle
    "rate-limit-lockout": {"bounded_retries", "respects_retry_after"},
    "maintenance-window": {"bounded_retries", "respects_retry_after"},
    # slow acks arrive; but orders fill later and it never re-reads their status
    "slow-orders-timeouts": {"orders_reconciled"},
    # an hour-old bar or a replayed ticker looks fresh to it
    "stale-bars-clock-shift": {"no_trade_on_invalid_data"},
    "stale-ticker": {"no_trade_on_invalid_data"},
    # numbers as strings break its arithmetic (no order), which no invariant of this scenario covers
    "string-numbers": set(),
    # the cut body fails to parse and its retry fetches a whole one before it trades
    "truncated-klines": set(),
    # Toxiproxy scenarios run over a real proxy. Below HTTP the journal sees only what got
    # through, so these invariants hold for both bots: a slow or sliced line still lets
    # cycles complete; a black hole or a downed proxy lets no order reach the exchange.
    "toxic-latency-jitter": set(),
    "toxic-thin-pipe": set(),
    "toxic-black-hole": set(),
    "toxic-peer-resets": set(),
    "toxic-sliced-and-capped": set(),
    "toxic-exchange-down": set(),
    # Stream scenarios run over a socket, both bots trading off the order-book stream.
    # it reconnects at once, in a tight loop, each time the stream drops
    "ws-disconnects": {"reconnects_with_backoff"},
    "ws-abrupt-resets": {"reconnects_with_backoff"},
    # it never checks sequence numbers: it trades on a book with holes in it
    "ws-sequence-gaps": {"no_unhandled_gap"},
    "ws-message-loss": {"no_unhandled_gap"},
    "ws-duplicates-and-reorder": {"no_unhandled_gap"},
    # it keeps trading off the frozen book, which recovers_within cannot see: a known limit
    "ws-silence": set(),
    # its orders at NaN or negative prices are refused by the exchange; slow updates do not stop it
    "ws-slow-and-corrupt": set(),
    # The realistic set, at a production bot's pace on virtual time.
    # it retries into the empty bucket at once, is banned, and keeps sending through the bans
    "realistic-weight-limit-ban": {
        "respects_retry_after",
        "no_requests_while_banned",
        "bounded_retries",
    },
    # ten immediate retries into each 503, whatever the Retry-After of 300 s said
    "realistic-maintenance": {"respects_retry_after", "bounded_retries"},
    # aiohttp's 5-minute default timeout, then a blind resend: one order per lost ack
    "realistic-ack-lost": {"no_duplicate_orders", "orders_reconciled"},
    # with no timeout it waits the 10-30 s out and gets its answers; but its orders fill
    # later and it never re-reads their status
    "realistic-slow-orders": {"orders_reconciled"},
}


def readme_naive_table() -> dict[str, set[str]]:
    """The docs' "NaiveBot violates" table (docs/invariants.md): scenario -> invariants."""
    from tests.readme_tables import docs_text

    text = docs_text()
    rows = text.split("| scenario | NaiveBot violates |\n| --- | --- |\n", 1)[1].split("\n\n")[0]
    table: dict[str, set[str]] = {}
    for row in rows.splitlines():
        names, found = (cell.strip() for cell in row.strip("|").split("|"))
        for name in re.sub(r"\([^)]*\)", "", names).split(","):
            table[name.strip()] = set() if found == "none" else set(found.split(", "))
    return table


def test_the_readme_table_says_what_the_suite_checks() -> None:
    assert readme_naive_table() == NAIVE_VIOLATES


def test_the_table_covers_the_whole_library() -> None:
    library = load_library()
    assert set(NAIVE_VIOLATES) == set(library)
    for name, expected in NAIVE_VIOLATES.items():
        assert expected <= set(library[name].invariant_names()), name
    assert set().union(*NAIVE_VIOLATES.values()) == set(invariants.INVARIANTS)  # every one caught


async def run(
    bot: NaiveBot | ResilientBot, cycles: int = CYCLES, budget_s: float = BUDGET_S
) -> None:
    try:
        async with asyncio.timeout(budget_s):
            await bot.run(cycles)
    except TimeoutError:
        pass  # a bot stuck on a hung request


async def through_toxiproxy(bot_cls: type, scenario, mock_exchange, chaos, toxiproxy_server):
    """Serve the exchange on a socket behind a real Toxiproxy proxy carrying the scenario's
    toxics, and run the bot against the proxy."""
    async with mock_exchange.server.serve():
        spec = ProxySpec("exchange", upstream=mock_exchange.server.address)
        proxies = proxies_for_test(
            toxiproxy_server,
            proxy_suffix("bots", chaos.test),
            specs=[spec],
            scenarios=[scenario],
            log=chaos.log,
        )
        ready = await asyncio.to_thread(proxies.__enter__)
        try:
            bot = bot_cls(ready.url("exchange"))
            chaos.watch_client(bot)
            await run(bot)
        finally:
            await asyncio.to_thread(proxies.__exit__, None, None, None)
    return bot


async def violations(bot_cls: type, scenario, mock_exchange, chaos, request) -> set[str]:
    if scenario.toxics:
        server = request.getfixturevalue("toxiproxy_server")
        bot = await through_toxiproxy(bot_cls, scenario, mock_exchange, chaos, server)
    elif scenario.streams:
        # stream scenarios: WebSockets need the socket backend; the bots trade off the book stream
        async with mock_exchange.server.serve() as url:
            bot = bot_cls(url, stream=True, cycle_s=0.1)
            chaos.watch_client(bot)
            await run(bot, STREAM_CYCLES)
    elif "realistic" in scenario.tags:
        bot = bot_cls.production(mock_exchange.url)
        chaos.watch_client(bot)
        await run(bot, budget_s=REALISTIC_BUDGET_S)
    else:
        bot = bot_cls(mock_exchange.url)
        chaos.watch_client(bot)
        await run(bot)
    mock_exchange.server.cancel_tasks()
    return invariants.names(chaos.violations())


@pytest.mark.chaos(seed=7)
async def test_resilient_bot_keeps_every_invariant(scenario, mock_exchange, chaos, request) -> None:
    assert await violations(ResilientBot, scenario, mock_exchange, chaos, request) == set()
    if not {"timeout", "down"} & {t.type for t in scenario.toxics}:
        assert chaos.client.cycles, "the resilient bot must still trade"


@pytest.mark.chaos(seed=7)
async def test_naive_bot_breaks_exactly_the_expected_invariants(
    scenario, mock_exchange, chaos, request
) -> None:
    found = await violations(NaiveBot, scenario, mock_exchange, chaos, request)
    assert found == NAIVE_VIOLATES[scenario.name]
