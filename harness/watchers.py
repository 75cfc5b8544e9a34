"""Watch a client library you did not write (ccxt, python-binance) for the trading invariants.

The order invariants (``orders_reconciled``) need the client's own view of its orders, and
``recovers_within`` its completed trading cycles: an object with ``known_orders`` (order id
-> status) and ``cycles`` (:func:`harness.clock.monotonic` of each completed cycle) given to
``chaos.watch_client``. A bot built on ccxt or python-binance has neither; :func:`watch`
gives both without editing the client or the bot: a proxy that forwards every attribute
and call to the client, and reads the orders in what each call returns::

    exchange = watch(ccxt.async_support.binance({"apiKey": key, "secret": secret}))
    chaos.watch_client(exchange)          # the proxy is what the invariants read
    bot = MyBot(exchange)                 # the bot uses the proxy as it would the client
    async with exchange.cycle():          # one trading cycle; recorded when it completes
        await bot.step()
    exchange.known_orders                 # {"12": "filled", "13": "new"}
    exchange.cycles                       # [183722.41, ...]

``known_orders`` keeps the latest status the client saw for each order, normalised to the
harness's words (``new``, ``partially_filled``, ``filled``, ``canceled``, ``rejected``):
ccxt's unified orders (its ``info`` holds Binance's exact status, so ``open`` splits into
new and partially filled), Binance's raw answers as python-binance returns them (an ``ACK``
without a status counts as ``new``), and the generic profile's ``{"order_id", "status"}``.
Test orders (no id) and trades are not orders. A cycle is marked with ``cycle()`` (``with``
or ``async with``: recorded only when the block ends without an exception) or by calling
:meth:`WatchedClient.mark_cycle` from the bot's own loop.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from harness import clock

__all__ = ["WatchedClient", "normalize_status", "orders_in", "watch"]

_C = TypeVar("_C")

_STATUSES = {
    # Binance (raw, as python-binance returns it, and in ccxt's ``info``)
    "NEW": "new",
    "PENDING_NEW": "new",
    "PARTIALLY_FILLED": "partially_filled",
    "FILLED": "filled",
    "CANCELED": "canceled",
    "PENDING_CANCEL": "canceled",
    "EXPIRED": "canceled",
    "EXPIRED_IN_MATCH": "canceled",
    "REJECTED": "rejected",
    # ccxt's unified statuses (``open`` is decided by the filled amount)
    "closed": "filled",
    "canceled": "canceled",
    "canceling": "canceled",
    "expired": "canceled",
    "rejected": "rejected",
    # the harness's own words (the generic profile)
    "new": "new",
    "partially_filled": "partially_filled",
    "filled": "filled",
}


def normalize_status(status: Any, filled: Any = None) -> str | None:
    """A client's order status in the harness's words; None when it is not one.

    ``filled`` decides ccxt's ``open``: ``partially_filled`` when something filled, else ``new``.
    """
    if not isinstance(status, str):
        return None
    if status == "open":
        try:
            return "partially_filled" if float(filled or 0) > 0 else "new"
        except (TypeError, ValueError):
            return "new"
    return _STATUSES.get(status)


def _order(item: dict[str, Any]) -> tuple[str, str | None] | None:
    """(order id, normalised status or None) when ``item`` is an order, else None."""
    if "orderId" in item and "clientOrderId" in item:  # Binance: an order (not a trade)
        if item["orderId"] is None:
            return None
        return str(item["orderId"]), normalize_status(item.get("status"))
    if "info" in item and "id" in item and "status" in item and "amount" in item:  # ccxt
        if item["id"] is None:
            return None  # a test order, or a body the client could not read
        info = item["info"] if isinstance(item["info"], dict) else {}
        raw = normalize_status(info.get("status")) if "orderId" in info else None
        return str(item["id"]), raw or normalize_status(item["status"], item.get("filled"))
    if "order_id" in item and "status" in item and item["order_id"] is not None:  # generic
        return str(item["order_id"]), normalize_status(item["status"])
    return None


def orders_in(result: Any) -> list[tuple[str, str | None]]:
    """The orders in a client call's result (one order, or a list of them), as
    (order id, normalised status or None when the answer carried none)."""
    items = result if isinstance(result, (list, tuple)) else [result]
    found = []
    for item in items:
        if isinstance(item, dict):
            order = _order(item)
            if order is not None:
                found.append(order)
    return found


class WatchedClient(Generic[_C]):
    """A proxy for a client library object: every attribute and call goes to the client;
    the orders in what calls return are kept in :attr:`known_orders`."""

    def __init__(self, client: _C) -> None:
        object.__setattr__(self, "wrapped", client)
        object.__setattr__(self, "known_orders", {})
        object.__setattr__(self, "cycles", [])
        self.wrapped: _C
        self.known_orders: dict[str, str]
        """Order id -> the latest status the client saw, in the harness's words."""
        self.cycles: list[float]
        """The harness clock (:func:`harness.clock.monotonic`) at every completed cycle."""

    # -- what the invariants read -----------------------------------------------------------
    def record(self, result: Any) -> Any:
        """Note the orders in ``result`` (a call's return value); returns it unchanged."""
        for order_id, status in orders_in(result):
            if status is not None:
                self.known_orders[order_id] = status
            else:  # an acknowledgement without a status: the order exists and works
                self.known_orders.setdefault(order_id, "new")
        return result

    def mark_cycle(self) -> None:
        """Record one completed trading cycle, now."""
        self.cycles.append(clock.monotonic())

    def cycle(self) -> _Cycle:
        """A trading cycle: ``with`` or ``async with``; recorded when the block completes
        without an exception (a cycle that failed is not a completed one)."""
        return _Cycle(self)

    # -- the proxy --------------------------------------------------------------------------
    def __getattr__(self, name: str) -> Any:
        value = getattr(self.wrapped, name)
        if not callable(value) or inspect.isclass(value):
            return value
        return self._wrap(value)

    def _wrap(self, method: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(method)
        def call(*args: Any, **kwargs: Any) -> Any:
            result = method(*args, **kwargs)
            if inspect.isawaitable(result):
                return self._settle(result)
            return self.record(result)

        return call

    async def _settle(self, awaitable: Any) -> Any:
        return self.record(await awaitable)

    def __setattr__(self, name: str, value: Any) -> None:
        if name in ("wrapped", "known_orders", "cycles"):
            object.__setattr__(self, name, value)
        else:
            setattr(self.wrapped, name, value)

    async def __aenter__(self) -> WatchedClient[_C]:
        enter = getattr(self.wrapped, "__aenter__", None)
        if enter is not None:
            await enter()
        return self

    async def __aexit__(self, *exc: Any) -> Any:
        leave = getattr(self.wrapped, "__aexit__", None)
        return await leave(*exc) if leave is not None else None

    def __repr__(self) -> str:
        return (
            f"<WatchedClient {self.wrapped!r}: {len(self.known_orders)} orders, "
            f"{len(self.cycles)} cycles>"
        )


class _Cycle:
    """``with watched.cycle():`` / ``async with watched.cycle():``."""

    def __init__(self, watched: WatchedClient[Any]) -> None:
        self._watched = watched

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, *exc: object) -> None:
        if kind is None:
            self._watched.mark_cycle()

    async def __aenter__(self) -> None:
        return None

    async def __aexit__(self, kind: type[BaseException] | None, *exc: object) -> None:
        self.__exit__(kind)


def watch(client: _C) -> WatchedClient[_C]:
    """A :class:`WatchedClient` around ``client`` (a ccxt exchange, a python-binance
    ``AsyncClient`` or ``Client``, or any object whose calls return orders)."""
    return WatchedClient(client)
