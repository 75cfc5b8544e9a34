"""The ``binance-spot`` profile: the subset of Binance's spot REST API a bot uses, with its
paths, parameters, response shapes (klines as arrays of strings), ``{"code", "msg"}``
errors, ``X-MBX-USED-WEIGHT-1M`` and signed-endpoint rules (``timestamp``, ``signature``,
``recvWindow`` checked against the exchange clock, so ``clock_skew`` gives -1021); and
Binance's stream format."""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable
from typing import Any

from multidict import MultiDict

from harness.errors import ExchangeReject
from harness.exchange.core import ExchangeOrder, FakeExchange
from harness.exchange.profiles.base import Profile, as_float, as_int, ms
from harness.mock.dialect import Dialect
from harness.mock.routes import Request, Response
from harness.mock.server import MockServer
from harness.mock.websocket import FeedState

__all__ = ["BinanceDialect", "BinanceFeed", "BinanceSpotProfile"]


class BinanceError(Exception):
    def __init__(self, code: int, msg: str, status: int = 400) -> None:
        self.code, self.msg, self.status = code, msg, status
        super().__init__(msg)


_BINANCE_STATUS = {
    "new": "NEW",
    "partially_filled": "PARTIALLY_FILLED",
    "filled": "FILLED",
    "canceled": "CANCELED",
    "rejected": "REJECTED",
}
_WEIGHTS = {
    ("GET", "/api/v3/ping"): 1,
    ("GET", "/api/v3/time"): 1,
    ("GET", "/api/v3/exchangeInfo"): 20,
    ("GET", "/api/v3/klines"): 2,
    ("GET", "/api/v3/depth"): 5,
    ("GET", "/api/v3/ticker/price"): 2,
    ("GET", "/api/v3/ticker/24hr"): 2,
    ("POST", "/api/v3/order"): 1,
    ("GET", "/api/v3/order"): 4,
    ("DELETE", "/api/v3/order"): 1,
    ("GET", "/api/v3/openOrders"): 6,
    ("GET", "/api/v3/account"): 20,
}
_ROLES = {
    ("GET", "/api/v3/ping"): "status",
    ("GET", "/api/v3/time"): "time",
    ("GET", "/api/v3/exchangeInfo"): "exchange_info",
    ("GET", "/api/v3/klines"): "bars",
    ("GET", "/api/v3/depth"): "book",
    ("GET", "/api/v3/ticker/price"): "ticker",
    ("GET", "/api/v3/ticker/24hr"): "ticker",
    ("POST", "/api/v3/order"): "order_place",
    ("GET", "/api/v3/order"): "order_query",
    ("DELETE", "/api/v3/order"): "order_cancel",
    ("GET", "/api/v3/openOrders"): "open_orders",
    ("GET", "/api/v3/account"): "account",
}
# Binance's error codes and texts for the answers faults give in its dialect
_DIALECT = {
    "rate_limited": (
        -1003,
        "Too much request weight used; current limit is 6000 request weight per 1 MINUTE. "
        "Please use WebSocket Streams for live updates to avoid polling the API.",
    ),
    "banned": (
        -1003,
        "Way too much request weight used; IP banned until further notice. "
        "Please use WebSocket Streams for live updates to avoid bans.",
    ),
    "internal": (-1001, "Internal error; unable to process your request. Please try again."),
    "maintenance": (
        -1008,
        "Server is currently overloaded with other requests. Please try again in a few minutes.",
    ),
    "gateway_timeout": (
        -1007,
        "Timeout waiting for response from backend server. "
        "Send status unknown; execution status unknown.",
    ),
    "unmatched": (-1000, "An unknown error occurred while processing the request."),
}


class BinanceDialect(Dialect):
    """``{"code": -1003, "msg": ...}`` with Binance's codes, and ``X-MBX-USED-WEIGHT-1M``."""

    name = "binance"

    def __init__(self, profile: BinanceSpotProfile) -> None:
        self.profile = profile

    def body(self, status: int, reason: str, message: str) -> Any:
        code, msg = _DIALECT.get(reason, (-1000, message))
        if reason == "unmatched":
            msg = f"{msg} ({message})"
        return {"code": code, "msg": msg}

    def headers(self, status: int, reason: str) -> dict[str, str]:
        return {"X-MBX-USED-WEIGHT-1M": str(self.profile.used_weight())}


_HEX64 = re.compile(r"^[0-9a-fA-F]{64}$")


class BinanceSpotProfile(Profile):
    name = "binance-spot"
    base_url = "https://api.binance.com"
    snapshot_path = "/api/v3/depth"

    def __init__(self, exchange: FakeExchange) -> None:
        super().__init__(exchange)
        self._weights: deque[tuple[int, int]] = deque()  # (minute, weight)
        self.dialect = BinanceDialect(self)

    def _route(
        self,
        method: str,
        path: str,
        handler: Callable[[Request, MultiDict[str]], Any],
        signed: bool = False,
    ) -> Callable[[Request], Response]:
        weight = _WEIGHTS[(method, path)]

        def run(request: Request) -> Response:
            used = self._use_weight(weight)
            try:
                params = self._params(request)
                if signed:
                    self._check_signed(request, params)
                body = handler(request, params)
                response = body if isinstance(body, Response) else Response(json=body)
            except BinanceError as exc:
                response = Response(exc.status, json={"code": exc.code, "msg": exc.msg})
            except ExchangeReject as exc:
                response = self._translate(exc)
            response.headers["X-MBX-USED-WEIGHT-1M"] = str(used)
            return response

        return run

    def _use_weight(self, weight: int) -> int:
        self._weights.append((int(self.exchange.now() // 60), weight))
        return self.used_weight()

    def used_weight(self) -> int:
        """Request weight used in the current minute (``X-MBX-USED-WEIGHT-1M``)."""
        minute = int(self.exchange.now() // 60)
        while self._weights and self._weights[0][0] != minute:
            self._weights.popleft()
        return sum(w for _, w in self._weights)

    @staticmethod
    def _params(request: Request) -> MultiDict[str]:
        params: MultiDict[str] = MultiDict(request.query)
        if request.body and "json" not in request.headers.get("Content-Type", ""):
            params.extend(request.form)
        return params

    def _check_signed(self, request: Request, params: MultiDict[str]) -> None:
        if not request.headers.get("X-MBX-APIKEY"):
            raise BinanceError(-2014, "API-key format invalid.", 401)
        for name in ("timestamp", "signature"):
            if not params.get(name):
                raise BinanceError(
                    -1102,
                    f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed.",
                )
        if not _HEX64.match(params["signature"]):
            raise BinanceError(-1022, "Signature for this request is not valid.")
        try:
            timestamp = int(params["timestamp"])
            recv_window = int(params.get("recvWindow", "5000"))
        except ValueError:
            raise BinanceError(
                -1100, "Illegal characters found in parameter 'timestamp'."
            ) from None
        if not 0 < recv_window <= 60000:
            raise BinanceError(-1131, "recvWindow must be less than 60000")
        server_time = ms(self.exchange.now(self.offset(request)))
        if not (timestamp < server_time + 1000 and server_time - timestamp <= recv_window):
            raise BinanceError(-1021, "Timestamp for this request is outside of the recvWindow.")

    @staticmethod
    def _translate(exc: ExchangeReject) -> Response:
        codes = {
            "duplicate_client_order_id": (-2010, "Duplicate order sent."),
            "unknown_order": (-2013, "Order does not exist."),
            "not_open": (-2011, "Unknown order sent."),
            "insufficient_balance": (
                -2010,
                "Account has insufficient balance for requested action.",
            ),
            "unknown_symbol": (-1121, "Invalid symbol."),
        }
        code, msg = codes.get(exc.code, (-1102, exc.message))
        return Response(400, json={"code": code, "msg": msg})

    def mount(self, server: MockServer) -> None:
        handlers: dict[tuple[str, str], tuple[Callable[[Request, MultiDict[str]], Any], bool]] = {
            ("GET", "/api/v3/ping"): (lambda req, p: {}, False),
            ("GET", "/api/v3/time"): (
                lambda req, p: {"serverTime": ms(self.exchange.now(self.offset(req)))},
                False,
            ),
            ("GET", "/api/v3/exchangeInfo"): (self._info, False),
            ("GET", "/api/v3/klines"): (self._klines, False),
            ("GET", "/api/v3/depth"): (self._depth, False),
            ("GET", "/api/v3/ticker/price"): (self._price, False),
            ("GET", "/api/v3/ticker/24hr"): (self._24hr, False),
            ("POST", "/api/v3/order"): (self._new_order, True),
            ("GET", "/api/v3/order"): (self._query_order, True),
            ("DELETE", "/api/v3/order"): (self._cancel, True),
            ("GET", "/api/v3/openOrders"): (self._open_orders, True),
            ("GET", "/api/v3/account"): (self._account, True),
        }
        for (method, path), (handler, signed) in handlers.items():
            route = server.route(method, path, role=_ROLES[(method, path)])
            route.respond(self._route(method, path, handler, signed))
        server.websocket("/ws", feed=BinanceFeed(self.exchange))

    @staticmethod
    def _need(params: MultiDict[str], name: str) -> str:
        value = params.get(name)
        if not value:
            raise BinanceError(
                -1102, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed."
            )
        return value

    def _info(self, request: Request, params: MultiDict[str]) -> Any:
        return {
            "timezone": "UTC",
            "serverTime": ms(self.exchange.now(self.offset(request))),
            "rateLimits": [
                {
                    "rateLimitType": "REQUEST_WEIGHT",
                    "interval": "MINUTE",
                    "intervalNum": 1,
                    "limit": 6000,
                },
                {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 100},
            ],
            "symbols": [
                {
                    "symbol": i.symbol,
                    "status": "TRADING",
                    "baseAsset": i.base,
                    "quoteAsset": i.quote,
                    "orderTypes": ["LIMIT", "MARKET"],
                    "filters": [
                        {
                            "filterType": "PRICE_FILTER",
                            "minPrice": f"{i.tick:.8f}",
                            "maxPrice": "1000000.00000000",
                            "tickSize": f"{i.tick:.8f}",
                        },
                        {
                            "filterType": "LOT_SIZE",
                            "minQty": f"{i.min_qty:.8f}",
                            "maxQty": "9000.00000000",
                            "stepSize": f"{i.step:.8f}",
                        },
                    ],
                }
                for i in self.exchange.instruments.values()
            ],
        }

    def _klines(self, request: Request, params: MultiDict[str]) -> Any:
        symbol = self._need(params, "symbol")
        interval = self._need(params, "interval")
        limit = min(1000, as_int(params.get("limit", "500"), "limit"))
        bars = self.exchange.bars(symbol, interval, limit)
        step = bars[1][0] - bars[0][0] if len(bars) > 1 else 60
        return [
            [
                ms(b[0]),
                f"{b[1]:.2f}",
                f"{b[2]:.2f}",
                f"{b[3]:.2f}",
                f"{b[4]:.2f}",
                f"{b[5]:.8f}",
                ms(b[0] + step) - 1,
                f"{b[4] * b[5]:.8f}",
                int(b[5] * 100) + 1,
                f"{b[5] / 2:.8f}",
                f"{b[4] * b[5] / 2:.8f}",
                "0",
            ]
            for b in bars
        ]

    def _depth(self, request: Request, params: MultiDict[str]) -> Any:
        book = self.exchange.book(
            self._need(params, "symbol"), min(100, as_int(params.get("limit", "100"), "limit"))
        )
        return {
            "lastUpdateId": self.exchange.book_update_id,
            "bids": [[f"{p:.2f}", f"{q:.8f}"] for p, q in book["bids"]],
            "asks": [[f"{p:.2f}", f"{q:.8f}"] for p, q in book["asks"]],
        }

    def _price(self, request: Request, params: MultiDict[str]) -> Any:
        symbol = self._need(params, "symbol")
        return {"symbol": symbol, "price": f"{self.exchange.step(symbol):.8f}"}

    def _24hr(self, request: Request, params: MultiDict[str]) -> Any:
        symbol = self._need(params, "symbol")
        bars = self.exchange.bars(symbol, "1h", 24)
        last, first = bars[-1][4], bars[0][1]
        now = ms(self.exchange.now(self.offset(request)))
        return {
            "symbol": symbol,
            "priceChange": f"{last - first:.8f}",
            "priceChangePercent": f"{(last - first) / first * 100:.3f}",
            "lastPrice": f"{last:.8f}",
            "openPrice": f"{first:.8f}",
            "highPrice": f"{max(b[2] for b in bars):.8f}",
            "lowPrice": f"{min(b[3] for b in bars):.8f}",
            "volume": f"{sum(b[5] for b in bars):.8f}",
            "openTime": now - 86_400_000,
            "closeTime": now,
        }

    def _order_json(self, order: ExchangeOrder, full: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {
            "symbol": order.symbol,
            "orderId": int(order.order_id),
            "orderListId": -1,
            "clientOrderId": order.client_order_id or f"auto-{order.order_id}",
            "price": f"{order.price or 0:.8f}",
            "origQty": f"{order.qty:.8f}",
            "executedQty": f"{order.filled_qty:.8f}",
            "cummulativeQuoteQty": f"{order.filled_qty * (order.avg_price or 0):.8f}",
            "status": _BINANCE_STATUS[order.status],
            "timeInForce": "GTC",
            "type": order.type.upper(),
            "side": order.side.upper(),
        }
        if full:
            out["transactTime"] = ms(order.created_at)
            out["fills"] = [
                {
                    "price": f"{f.price:.8f}",
                    "qty": f"{f.qty:.8f}",
                    "commission": f"{f.fee:.8f}",
                    "commissionAsset": self.exchange.instruments[order.symbol].quote,
                    "tradeId": i,
                }
                for i, f in enumerate(self.exchange.fills)
                if f.order_id == order.order_id
            ]
        else:
            out["time"] = ms(order.created_at)
            out["updateTime"] = ms(order.updated_at)
            out["isWorking"] = order.open
        return out

    def _new_order(self, request: Request, params: MultiDict[str]) -> Any:
        symbol = self._need(params, "symbol")
        side = self._need(params, "side")
        kind = self._need(params, "type")
        qty = as_float(self._need(params, "quantity"), "quantity")
        price = as_float(params["price"], "price") if params.get("price") else None
        if kind.upper() == "LIMIT":
            self._need(params, "timeInForce")
            self._need(params, "price")
        order = self.exchange.place_order(
            symbol,
            side.lower(),
            kind.lower(),
            qty,
            price,
            params.get("newClientOrderId"),
            request_index=request.index,
        )
        return self._order_json(order, full=True)

    def _lookup(self, params: MultiDict[str]) -> ExchangeOrder:
        if params.get("orderId"):
            return self.exchange.get(params["orderId"])
        client = params.get("origClientOrderId")
        if not client:
            raise BinanceError(
                -1102,
                "Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!",
            )
        order = self.exchange.by_client_id(client)
        if order is None:
            raise BinanceError(-2013, "Order does not exist.")
        return order

    def _query_order(self, request: Request, params: MultiDict[str]) -> Any:
        self._need(params, "symbol")
        return self._order_json(self._lookup(params))

    def _cancel(self, request: Request, params: MultiDict[str]) -> Any:
        self._need(params, "symbol")
        order = self._lookup(params)
        try:
            return self._order_json(self.exchange.cancel(order.order_id))
        except ExchangeReject:
            raise BinanceError(-2011, "Unknown order sent.") from None

    def _open_orders(self, request: Request, params: MultiDict[str]) -> Any:
        return [self._order_json(o) for o in self.exchange.open_orders(params.get("symbol"))]

    def _account(self, request: Request, params: MultiDict[str]) -> Any:
        return {
            "makerCommission": 10,
            "takerCommission": 10,
            "canTrade": True,
            "canWithdraw": True,
            "canDeposit": True,
            "updateTime": ms(self.exchange.now()),
            "accountType": "SPOT",
            "balances": [
                {
                    "asset": a,
                    "free": f"{self.exchange.free(a):.8f}",
                    "locked": f"{self.exchange.locked.get(a, 0.0):.8f}",
                }
                for a in sorted(self.exchange.balances)
            ],
            "permissions": ["SPOT"],
        }


STREAMS = ("trade", "kline_1m", "depth")


class BinanceFeed:
    """Binance's streams: by path (``/ws/btcusdt@depth``) or
    ``{"method": "SUBSCRIBE", "params": [...], "id": 1}`` -> ``{"result": null, "id": 1}``;
    payloads as Binance sends them (``trade``, ``kline``, ``depthUpdate`` with ``U``/``u``
    update ids continuing ``lastUpdateId`` of ``/api/v3/depth``)."""

    def __init__(self, market: FakeExchange) -> None:
        self.market = market

    @staticmethod
    def _valid(channel: str) -> bool:
        symbol, _, stream = channel.partition("@")
        return bool(symbol) and stream in STREAMS

    def channels_from_path(self, rest: str) -> list[str]:
        channel = rest.lower()
        return [channel] if self._valid(channel) else []

    def control(self, body: Any, state: FeedState) -> Any:
        if not isinstance(body, dict) or body.get("method") not in ("SUBSCRIBE", "UNSUBSCRIBE"):
            return {"code": 2, "msg": "Invalid request"}
        params = [str(p).lower() for p in body.get("params", [])]
        if body["method"] == "SUBSCRIBE":
            state.channels.extend(c for c in params if self._valid(c) and c not in state.channels)
        else:
            state.channels[:] = [c for c in state.channels if c not in params]
        return {"result": None, "id": body.get("id")}

    def heartbeat(self) -> Any:
        return None  # Binance keeps streams alive with pings only

    def numbered(self, message: Any) -> bool:
        return isinstance(message, dict) and "U" in message

    def skip(self, message: Any, skip: int, state: FeedState) -> Any:
        message["U"] += skip
        message["u"] += skip
        self.market.book_update_id += skip
        return message

    def message(self, channel: str, state: FeedState) -> Any:
        symbol_lower, _, stream = channel.partition("@")
        symbol = symbol_lower.upper()
        market = self.market
        now_ms = ms(market.now())
        price = market.step(symbol)
        if stream == "trade":
            seq = state.next_seq(f"{symbol}@trade")
            return {
                "e": "trade",
                "E": now_ms,
                "s": symbol,
                "t": seq,
                "p": f"{price:.2f}",
                "q": "0.01000000",
                "T": now_ms,
                "m": False,
                "M": True,
            }
        if stream == "kline_1m":
            bar = market.bars(symbol, "1m", 1)[-1]
            return {
                "e": "kline",
                "E": now_ms,
                "s": symbol,
                "k": {
                    "t": int(bar[0] * 1000),
                    "T": int(bar[0] * 1000) + 59_999,
                    "s": symbol,
                    "i": "1m",
                    "o": f"{bar[1]:.2f}",
                    "c": f"{bar[4]:.2f}",
                    "h": f"{bar[2]:.2f}",
                    "l": f"{bar[3]:.2f}",
                    "v": f"{bar[5]:.8f}",
                    "x": False,
                },
            }
        book = market.book(symbol, 3)
        first = market.book_update_id + 1
        market.book_update_id += 2
        return {
            "e": "depthUpdate",
            "E": now_ms,
            "s": symbol,
            "U": first,
            "u": market.book_update_id,
            "b": [[f"{p:.2f}", f"{q:.8f}"] for p, q in book["bids"][:1]],
            "a": [[f"{p:.2f}", f"{q:.8f}"] for p, q in book["asks"][:1]],
        }
