"""API profiles: mount a FakeExchange on a MockServer as an exchange's REST API.

``generic``: a small clean JSON API (``/v1/...``) with ``{"error": {"code", "message"}}``
errors. ``binance-spot``: the subset of Binance's spot REST API a bot uses, with its
paths, parameters, response shapes (klines as arrays of strings), ``{"code", "msg"}``
errors, ``X-MBX-USED-WEIGHT-1M`` and signed-endpoint rules (``timestamp``, ``signature``,
``recvWindow`` checked against the exchange clock, so ``clock_skew`` gives -1021).
"""

from __future__ import annotations

import math
import re
import time
from collections import deque
from collections.abc import Callable
from typing import Any, ClassVar

from multidict import MultiDict

from harness.errors import ExchangeReject, MockConfigError
from harness.exchange.core import ExchangeOrder, FakeExchange
from harness.mock.routes import Request, Response
from harness.mock.server import MockServer

__all__ = ["PROFILES", "BinanceSpotProfile", "GenericProfile", "Profile", "mount"]


class Profile:
    """Base: a named set of routes over one FakeExchange."""

    name: ClassVar[str] = ""
    base_url: ClassVar[str] = "https://api.exchange.test"
    order_path: ClassVar[str] = ""
    """The path pattern of the order-placing route (invariants look for it)."""
    market_data_paths: ClassVar[tuple[str, ...]] = ()
    snapshot_path: ClassVar[str] = ""
    """The REST order-book snapshot a client resyncs its streamed book from."""

    def __init__(self, exchange: FakeExchange) -> None:
        self.exchange = exchange

    def mount(self, server: MockServer) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    @staticmethod
    def offset(request: Request) -> float:
        return float(request.context.get("clock_offset_s", 0.0))


def _ms(seconds: float) -> int:
    return int(seconds * 1000)


# -- generic ---------------------------------------------------------------------------------


def _error(status: int, code: str, message: str) -> Response:
    return Response(status, json={"error": {"code": code, "message": message}})


class GenericProfile(Profile):
    name = "generic"
    order_path = "/v1/orders"
    market_data_paths = ("/v1/bars", "/v1/book", "/v1/ticker")
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
        server.get("/v1/time").respond(
            g(lambda r: {"time": _ms(self.exchange.now(self.offset(r)))})
        )
        server.get("/v1/bars").respond(g(self._bars))
        server.get("/v1/book").respond(g(self._book))
        server.get("/v1/ticker").respond(g(self._ticker))
        server.post("/v1/orders").respond(g(self._place))
        server.get("/v1/orders/{order_id}").respond(
            g(lambda r: self._order(self.exchange.get(r.path_params["order_id"])))
        )
        server.get("/v1/orders").respond(g(self._find))
        server.delete("/v1/orders/{order_id}").respond(
            g(lambda r: self._order(self.exchange.cancel(r.path_params["order_id"])))
        )
        server.websocket("/v1/stream", market=self.exchange)
        server.get("/v1/balances").respond(
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
        limit = _int(request.query.get("limit", "100"), "limit")
        bars = self.exchange.bars(self._symbol(request), request.query.get("interval", "1m"), limit)
        return [
            {
                "ts": _ms(b[0]),
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
        book = self.exchange.book(symbol, _int(request.query.get("depth", "10"), "depth"))
        return {
            "symbol": symbol,
            "seq": self.exchange.book_update_id,
            "time": _ms(self.exchange.now(self.offset(request))),
            **book,
        }

    def _ticker(self, request: Request) -> Any:
        symbol = self._symbol(request)
        price = self.exchange.step(symbol)
        return {
            "symbol": symbol,
            "price": price,
            "time": _ms(self.exchange.now(self.offset(request))),
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
            _float(body["qty"], "qty"),
            _float(body["price"], "price") if body.get("price") is not None else None,
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
        return {
            "order_id": order.order_id,
            "client_order_id": order.client_order_id,
            "symbol": order.symbol,
            "side": order.side,
            "type": order.type,
            "qty": order.qty,
            "price": order.price,
            "status": order.status,
            "filled_qty": order.filled_qty,
            "avg_price": order.avg_price,
            "created_at": _ms(order.created_at),
        }


def _int(value: Any, name: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ExchangeReject("bad_parameter", f"{name}={value!r} is not an integer", 400) from None


def _float(value: Any, name: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ExchangeReject("bad_parameter", f"{name}={value!r} is not a number", 400) from None
    if not math.isfinite(number):
        raise ExchangeReject("bad_parameter", f"{name}={value!r} is not finite", 400)
    return number


# -- binance-spot -----------------------------------------------------------------------------


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
_HEX64 = re.compile(r"^[0-9a-fA-F]{64}$")


class BinanceSpotProfile(Profile):
    name = "binance-spot"
    base_url = "https://api.binance.com"
    order_path = "/api/v3/order"
    snapshot_path = "/api/v3/depth"
    market_data_paths = (
        "/api/v3/klines",
        "/api/v3/depth",
        "/api/v3/ticker/price",
        "/api/v3/ticker/24hr",
    )

    def __init__(self, exchange: FakeExchange) -> None:
        super().__init__(exchange)
        self._weights: deque[tuple[int, int]] = deque()  # (minute, weight)

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
        minute = int(time.time() // 60)
        while self._weights and self._weights[0][0] != minute:
            self._weights.popleft()
        self._weights.append((minute, weight))
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
        server_time = _ms(self.exchange.now(self.offset(request)))
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
        r = self._route
        server.get("/api/v3/ping").respond(r("GET", "/api/v3/ping", lambda req, p: {}))
        server.get("/api/v3/time").respond(
            r(
                "GET",
                "/api/v3/time",
                lambda req, p: {"serverTime": _ms(self.exchange.now(self.offset(req)))},
            )
        )
        server.get("/api/v3/exchangeInfo").respond(r("GET", "/api/v3/exchangeInfo", self._info))
        server.get("/api/v3/klines").respond(r("GET", "/api/v3/klines", self._klines))
        server.get("/api/v3/depth").respond(r("GET", "/api/v3/depth", self._depth))
        server.get("/api/v3/ticker/price").respond(r("GET", "/api/v3/ticker/price", self._price))
        server.get("/api/v3/ticker/24hr").respond(r("GET", "/api/v3/ticker/24hr", self._24hr))
        server.post("/api/v3/order").respond(r("POST", "/api/v3/order", self._new_order, True))
        server.get("/api/v3/order").respond(r("GET", "/api/v3/order", self._query_order, True))
        server.delete("/api/v3/order").respond(r("DELETE", "/api/v3/order", self._cancel, True))
        server.get("/api/v3/openOrders").respond(
            r("GET", "/api/v3/openOrders", self._open_orders, True)
        )
        server.get("/api/v3/account").respond(r("GET", "/api/v3/account", self._account, True))
        server.websocket("/ws", protocol="binance", market=self.exchange)

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
            "serverTime": _ms(self.exchange.now(self.offset(request))),
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
        limit = min(1000, _int(params.get("limit", "500"), "limit"))
        bars = self.exchange.bars(symbol, interval, limit)
        step = bars[1][0] - bars[0][0] if len(bars) > 1 else 60
        return [
            [
                _ms(b[0]),
                f"{b[1]:.2f}",
                f"{b[2]:.2f}",
                f"{b[3]:.2f}",
                f"{b[4]:.2f}",
                f"{b[5]:.8f}",
                _ms(b[0] + step) - 1,
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
            self._need(params, "symbol"), min(100, _int(params.get("limit", "100"), "limit"))
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
        now = _ms(self.exchange.now(self.offset(request)))
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
            out["transactTime"] = _ms(order.created_at)
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
            out["time"] = _ms(order.created_at)
            out["updateTime"] = _ms(order.updated_at)
            out["isWorking"] = order.open
        return out

    def _new_order(self, request: Request, params: MultiDict[str]) -> Any:
        symbol = self._need(params, "symbol")
        side = self._need(params, "side")
        kind = self._need(params, "type")
        qty = _float(self._need(params, "quantity"), "quantity")
        price = _float(params["price"], "price") if params.get("price") else None
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
            "updateTime": _ms(self.exchange.now()),
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


PROFILES: dict[str, type[Profile]] = {p.name: p for p in (GenericProfile, BinanceSpotProfile)}


def mount(server: MockServer, exchange: FakeExchange, profile: str = "generic") -> Profile:
    """Mount ``exchange`` on ``server`` with the routes of ``profile``."""
    if profile not in PROFILES:
        raise MockConfigError(
            "exchange profile",
            f"{profile!r} is not known",
            f"use one of {', '.join(sorted(PROFILES))}",
        )
    instance = PROFILES[profile](exchange)
    instance.mount(server)
    return instance
