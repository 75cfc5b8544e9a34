"""How an exchange's API says "no": its error bodies and its rate-limit headers.

Faults that answer instead of the exchange (``error``, ``rate_limit``, ``ack_lost`` with a
status) and the socket backend's answer to an unmatched request speak the dialect of the
server they act on, so a client library parses them as it parses its exchange's own
errors: Binance's ``{"code": -1003, "msg": ...}``, Alpaca's ``{"code", "message"}``, a
team's own format from its profile YAML. The generic dialect answers
``{"error": {"code": <status>, "message": ...}}``.
"""

from __future__ import annotations

import math
from typing import Any, Literal

from harness.mock.routes import Response

__all__ = ["REASONS", "Dialect", "ErrorReason", "reason_for", "retry_after_header"]

ErrorReason = Literal[
    "rate_limited",
    "banned",
    "internal",
    "bad_gateway",
    "maintenance",
    "gateway_timeout",
    "unmatched",
    "responder_error",
    "error",
]

REASONS: dict[str, tuple[int, str]] = {
    "rate_limited": (429, "Too many requests; current limit is exceeded"),
    "banned": (418, "IP banned until further notice for repeated rate-limit violations"),
    "internal": (500, "Internal server error"),
    "bad_gateway": (502, "Bad gateway"),
    "maintenance": (503, "Service unavailable: the exchange is under maintenance"),
    "gateway_timeout": (504, "Gateway timeout"),
    "unmatched": (404, "Not found"),
    "responder_error": (500, "Internal server error"),
}
"""Each reason's usual status and a message in the generic dialect."""

_BY_STATUS = {
    status: reason
    for reason, (status, _) in REASONS.items()
    if reason not in ("unmatched", "responder_error")
}


def reason_for(status: int) -> str:
    """The reason a status usually means (``error`` for one without a usual reason)."""
    return _BY_STATUS.get(status, "error")


def retry_after_header(seconds: float) -> str:
    """``Retry-After`` as exchanges send it: whole seconds, rounded up (a fraction below 1)."""
    return str(max(1, math.ceil(seconds))) if seconds >= 1 or seconds == 0 else f"{seconds:g}"


class Dialect:
    """The generic dialect; a profile subclasses it (or builds one from its YAML)."""

    name = "generic"

    def body(self, status: int, reason: str, message: str) -> Any:
        """The JSON body of an error answer."""
        return {"error": {"code": status, "message": message}}

    def headers(self, status: int, reason: str) -> dict[str, str]:
        """Headers every error answer carries (a used-weight counter, say)."""
        return {}

    def error(
        self,
        status: int,
        reason: str | None = None,
        message: str | None = None,
        *,
        retry_after_s: float | None = None,
    ) -> Response:
        """An error answer in this dialect; ``Retry-After`` when ``retry_after_s`` is given."""
        reason = reason or reason_for(status)
        text = message or REASONS.get(reason, (status, f"HTTP {status}"))[1]
        headers = self.headers(status, reason)
        if retry_after_s is not None:
            headers["Retry-After"] = retry_after_header(retry_after_s)
        return Response(status, json=self.body(status, reason, text), headers=headers)

    def __repr__(self) -> str:
        return f"<Dialect {self.name}>"
