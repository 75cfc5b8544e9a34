"""The ``generic`` profile: a small clean JSON API (``/v1/...``) with
``{"error": {"code", "message"}}`` errors, and its stream format."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from harness.errors import ExchangeReject
from harness.exchange.core import ExchangeOrder, FakeExchange
from harness.exchange.profiles.base import Profile, as_float, as_int, ms, order_fields
from harness.mock.routes import Request, Response
from harness.mock.server import MockServer
from harness.mock.websocket import FeedState

__all__ = ["GenericFeed", "GenericProfile"]


def _error(status: int, code: str, message: str) -> Response:
    return Response(status, json={"error": {"code": code, "message": message}})


class GenericProfile(Profile):
    name = "generic"
    snapshot_path = "/v1/book"

    def _guard(self, handler: Callable[[Request], Any]) -> Callable[[Request], Any]:
        def run(request: Request) -> Any:
            try:
                return handler(request)
            except ExchangeReject as exc:
                return _error(exc.status, exc.code, exc.message)

        return run

    def mount(self, server: MockServer) -> None:
        g = self._guard
        now = self.exchange.now
        server.get("/v1/time", role="time").respond(g(lambda r: {"time": ms(now(self.offset(r)))}))
        server.get("/v1/bars", role="bars").respond(g(self._bars))
        server.get("/v1/book", role="book").respond(g(self._book))
        server.get("/v1/ticker", role="ticker").respond(g(self._ticker))
        server.post("/v1/orders", role="order_place").respond(g(self._place))
        server.get("/v1/orders/{order_id}", role="order_query").respond(
            g(lambda r: self._order(self.exchange.get(r.path_params["order_id"])))
        )
        server.get("/v1/orders", role="open_orders").respond(g(self._find))
        server.delete("/v1/orders/{order_id}", role="order_cancel").respond(
            g(lambda r: self._order(self.exchange.cancel(r.path_params["order_id"])))
        )
        server.websocket("/v1/stream", feed=GenericFeed(self.exchange))
        server.get("/v1/balances", role="account").respond(
            g(
                lambda r: {
                    asset: {
                        "free": self.exchange.free(asset),
                        "locked": self.exchange.locked.get(asset, 0.0),
                    }
                    for asset in sorted(self.exchange.balances)
                }
            )
        )

    @staticmethod
    def _symbol(request: Request) -> str:
        symbol = request.query.get("symbol")
        if not symbol:
            raise ExchangeReject("missing_parameter", "symbol is required", 400)
        return symbol

    def _bars(self, request: Request) -> Any:
        limit = as_int(request.query.get("limit", "100"), "limit")
        bars = self.exchange.bars(self._symbol(request), request.query.get("interval", "1m"), limit)
        return [
            {
                "ts": ms(b[0]),
                "open": round(b[1], 2),
                "high": round(b[2], 2),
                "low": round(b[3], 2),
                "close": round(b[4], 2),
                "volume": round(b[5], 6),
            }
            for b in bars
        ]

    def _book(self, request: Request) -> Any:
        symbol = self._symbol(request)
        book = self.exchange.book(symbol, as_int(request.query.get("depth", "10"), "depth"))
        return {
            "symbol": symbol,
            "seq": self.exchange.book_update_id,
            "time": ms(self.exchange.now(self.offset(request))),
            **book,
        }

    def _ticker(self, request: Request) -> Any:
        symbol = self._symbol(request)
        price = self.exchange.step(symbol)
        return {
            "symbol": symbol,
            "price": price,
            "time": ms(self.exchange.now(self.offset(request))),
        }

    def _place(self, request: Request) -> Any:
        try:
            body = request.json()
        except ValueError:
            raise ExchangeReject("bad_json", "the body is not JSON", 400) from None
        if not isinstance(body, dict):
            raise ExchangeReject("bad_json", "the body must be a JSON object", 400)
        missing = [k for k in ("symbol", "side", "type", "qty") if k not in body]
        if missing:
            raise ExchangeReject("missing_parameter", f"missing {', '.join(missing)}", 400)
        order = self.exchange.place_order(
            body["symbol"],
            body["side"],
            body["type"],
            as_float(body["qty"], "qty"),
            as_float(body["price"], "price") if body.get("price") is not None else None,
            body.get("client_order_id"),
            request_index=request.index,
        )
        return Response(201, json=self._order(order))

    def _find(self, request: Request) -> Any:
        client_id = request.query.get("client_order_id")
        if client_id is not None:
            order = self.exchange.by_client_id(client_id)
            return [self._order(order)] if order is not None else []
        status = request.query.get("status")
        return [
            self._order(o)
            for o in self.exchange.orders.values()
            if status is None or (status == "open" and o.open) or o.status == status
        ]

    @staticmethod
    def _order(order: ExchangeOrder) -> dict[str, Any]:
        return order_fields(order, ms(order.created_at))


CHANNELS = ("trades", "bars", "book", "ticker")


class GenericFeed:
    """The generic stream: ``{"op": "subscribe", "channels": ["book:BTCUSDT"]}`` ->
    ``{"op": "subscribed", ...}``; data ``{"channel": "book:BTCUSDT", "seq": 7, "data": {...}}``
    (book diffs numbered from the same counter as ``GET /v1/book``'s ``seq``);
    ``{"op": "heartbeat"}``."""

    def __init__(self, market: FakeExchange) -> None:
        self.market = market

    def channels_from_path(self, rest: str) -> list[str]:
        return []

    @staticmethod
    def _valid(channel: str) -> bool:
        kind, _, symbol = channel.partition(":")
        return kind in CHANNELS and bool(symbol)

    def control(self, body: Any, state: FeedState) -> Any:
        if not isinstance(body, dict):
            return {"op": "error", "message": "expected a JSON object"}
        channels = [str(c) for c in body.get("channels", [])]
        if body.get("op") == "subscribe":
            accepted = [c for c in channels if self._valid(c) and c not in state.channels]
            state.channels.extend(accepted)
            return {"op": "subscribed", "channels": accepted}
        if body.get("op") == "unsubscribe":
            state.channels[:] = [c for c in state.channels if c not in channels]
            return {"op": "unsubscribed", "channels": channels}
        return {"op": "error", "message": f"unknown op {body.get('op')!r}"}

    def heartbeat(self) -> Any:
        return {"op": "heartbeat", "ts": ms(self.market.now())}

    def numbered(self, message: Any) -> bool:
        return isinstance(message, dict) and "seq" in message

    def skip(self, message: Any, skip: int, state: FeedState) -> Any:
        channel = message.get("channel", "")
        state.seq[channel] = state.seq.get(channel, 0) + skip
        message["seq"] += skip
        if channel.startswith("book:"):
            self.market.book_update_id += skip
        return message

    def message(self, channel: str, state: FeedState) -> Any:
        kind, _, symbol = channel.partition(":")
        market = self.market
        now_ms = ms(market.now())
        price = market.step(symbol)
        data: dict[str, Any]
        if kind == "trades":
            data = {
                "trade_id": str(len(market.fills) + now_ms),
                "price": price,
                "qty": 0.01,
                "side": "buy",
                "ts": now_ms,
            }
        elif kind == "bars":
            bar = market.bars(symbol, "1s", 1)[-1]
            data = {
                "ts": int(bar[0] * 1000),
                "open": bar[1],
                "high": bar[2],
                "low": bar[3],
                "close": bar[4],
                "volume": bar[5],
            }
        elif kind == "book":
            book = market.book(symbol, 3)
            data = {"bids": book["bids"][:1], "asks": book["asks"][:1], "ts": now_ms}
        else:
            data = {"symbol": symbol, "price": price, "time": now_ms}
        if kind == "book":
            market.book_update_id += 1
            seq = state.seq[channel] = market.book_update_id
        else:
            seq = state.next_seq(channel)
        return {"channel": channel, "seq": seq, "data": data}
