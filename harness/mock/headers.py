"""What a response may carry in its headers and reason phrase, on both backends alike.

HTTP (RFC 9110, sections 5.1 and 5.5) allows a header name that is a token, and a value
(or a reason phrase) with no control character but tab. aiohttp's server refuses to
write anything else and drops the connection, while the in-process backend would hand it
to the client untouched: every response is held to this rule, so both backends agree.
Scenario faults and recordings can check their headers with the same functions.
"""

from __future__ import annotations

import re
from typing import Any

from harness.errors import messages

__all__ = ["ENCODING", "FORBIDDEN", "FRAMING", "TOKEN", "header_problem", "reason_problem"]

TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
"""An HTTP token: what a header name must be (full match)."""
FORBIDDEN = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
"""What a header value or a reason phrase must not hold: a control character but tab (as
aiohttp's header writer, ``_safe_header``, refuses)."""


FRAMING = frozenset(("transfer-encoding",))
"""Headers that say how the body is framed on the wire: the backends send the body as
given and set Content-Length from it, so a response may not claim otherwise (a socket
client refuses the answer, an in-process one would not)."""
ENCODING = "content-encoding"
"""Said by a response whose body really is compressed; a fault's own answer never is, so a
fault may not say it (see ``harness.chaos.faults.base.legal_headers``)."""


def header_problem(name: Any, value: Any) -> str | None:
    """Why a header cannot be sent as given, or ``None`` when it can."""
    if not isinstance(name, str) or not TOKEN.fullmatch(name):
        return messages.header_name_illegal(name)
    if name.lower() in FRAMING:
        return messages.header_framing(name)
    if not isinstance(value, str):
        return messages.header_value_illegal(name, value, None)
    bad = FORBIDDEN.search(value)
    if bad is not None:
        return messages.header_value_illegal(name, value, bad.group())
    return None


def reason_problem(reason: Any) -> str | None:
    """Why a reason phrase cannot be sent, or ``None`` when it can."""
    if reason is None:
        return None
    if not isinstance(reason, str):
        return messages.reason_illegal(reason, None)
    bad = FORBIDDEN.search(reason)
    return None if bad is None else messages.reason_illegal(reason, bad.group())
