"""The one redaction policy: which header, parameter and field names hold secrets, and how
they are taken out of everything the harness writes (journal, recordings, fault log,
report, error messages).

A name is secret when it is on the list of exchange API-key headers (``X-MBX-APIKEY``,
``APCA-API-SECRET-KEY``, ``OK-ACCESS-SIGN``...), or when, lowercased and without ``_``
and ``-``, it is a known secret field (``signature``, ``apiKey``, ``api_secret``,
``password``, ``token``...). Header names are also secret when they contain one of the
secret words (``X-Custom-Secret``). Values are replaced by ``***``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qsl, urlencode

__all__ = [
    "REDACTED",
    "is_secret_header",
    "is_secret_key",
    "redact_body_text",
    "redact_headers",
    "redact_json",
    "redact_query",
    "redact_text",
]

REDACTED = "***"

_SECRET_HEADERS = frozenset(
    (
        "authorization",
        "proxy-authorization",
        "cookie",
        "set-cookie",
        "x-mbx-apikey",
        "api-key",
        "apikey",
        "x-api-key",
        "ok-access-key",
        "ok-access-sign",
        "ok-access-passphrase",
        "cb-access-key",
        "cb-access-sign",
        "cb-access-passphrase",
        "x-bapi-api-key",
        "x-bapi-sign",
        "kc-api-key",
        "kc-api-sign",
        "kc-api-passphrase",
        "api-sign",
        "apca-api-key-id",
        "apca-api-secret-key",
    )
)
# Field names, lowercased and without "_" and "-", whose values are secrets.
_SECRET_KEYS = frozenset(
    (
        "apikey",
        "apisecret",
        "apisecretkey",
        "secret",
        "secretkey",
        "clientsecret",
        "privatekey",
        "password",
        "passphrase",
        "token",
        "accesstoken",
        "refreshtoken",
        "authtoken",
        "idtoken",
        "signature",
        "sign",
    )
)
_SECRET_HEADER_WORDS = ("secret", "signature", "passphrase", "password", "token", "apikey")


def _norm(name: str) -> str:
    return name.lower().replace("_", "").replace("-", "")


@lru_cache(maxsize=2048)
def is_secret_key(name: str) -> bool:
    """A query parameter or body field whose value is a secret (``signature``, ``apiKey``)."""
    return _norm(name) in _SECRET_KEYS


@lru_cache(maxsize=2048)
def is_secret_header(name: str) -> bool:
    """A header whose value is a secret (``X-MBX-APIKEY``, ``Authorization``, ``Cookie``)."""
    if name.lower() in _SECRET_HEADERS:
        return True
    norm = _norm(name)
    return any(word in norm for word in _SECRET_HEADER_WORDS)


def redact_headers(headers: Any) -> dict[str, str]:
    """A plain dict of headers with secret values replaced by ``***``."""
    return {k: (REDACTED if is_secret_header(k) else v) for k, v in headers.items()}


def redact_query(query: Any) -> dict[str, Any]:
    """Query parameters as a dict (lists for repeated keys), secrets replaced."""
    out: dict[str, Any] = {}
    for key, value in query.items():
        value = REDACTED if is_secret_key(key) else value
        if key in out:
            prev = out[key]
            out[key] = [*prev, value] if isinstance(prev, list) else [prev, value]
        else:
            out[key] = value
    return out


def redact_json(value: Any) -> Any:
    """A parsed JSON value with the values of secret fields, at any depth, replaced."""
    if isinstance(value, Mapping):
        return {
            k: (
                REDACTED
                if isinstance(k, str) and is_secret_key(k) and not isinstance(v, (dict, list))
                else redact_json(v)
            )
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [redact_json(item) for item in value]
    return value


def redact_body_text(body: bytes, content_type: str) -> str:
    """A request body as text for the journal: JSON and form bodies with secret fields
    replaced, other bodies decoded as they are."""
    text = body.decode("utf-8", errors="replace")
    stripped = text.lstrip()
    if "json" in content_type or stripped[:1] in ("{", "["):
        try:
            parsed = json.loads(text)
        except ValueError:
            return redact_text(text)
        cleaned = redact_json(parsed)
        return text if cleaned == parsed else json.dumps(cleaned, separators=(",", ":"))
    if "=" in text:
        pairs = parse_qsl(text, keep_blank_values=True)
        if any(is_secret_key(k) for k, _ in pairs):
            return urlencode([(k, REDACTED if is_secret_key(k) else v) for k, v in pairs], safe="*")
    return text


# name=value in URLs and form text; "name": "value" and 'name': 'value' in repr()s and JSON.
_PAIR = re.compile(r"(?P<name>[A-Za-z][A-Za-z0-9_\-]*)(?P<sep>=)(?P<value>[^&\s'\",;)\]}]+)")
_QUOTED = re.compile(
    r"(?P<q>['\"])(?P<name>[A-Za-z][A-Za-z0-9_\-]*)(?P=q)(?P<sep>\s*:\s*)"
    r"(?P<vq>['\"])(?P<value>[^'\"]*)(?P=vq)"
)


def _pair(match: re.Match[str]) -> str:
    if not is_secret_key(match["name"]):
        return match[0]
    return f"{match['name']}{match['sep']}{REDACTED}"


def _quoted(match: re.Match[str]) -> str:
    name = match["name"]
    if not (is_secret_key(name) or is_secret_header(name)):
        return match[0]
    q, vq = match["q"], match["vq"]
    return f"{q}{name}{q}{match['sep']}{vq}{REDACTED}{vq}"


def redact_text(text: str) -> str:
    """Free text (an exception message, a URL, a repr of headers) with the values of secret
    parameters and headers replaced: ``...&signature=ab12`` -> ``...&signature=***``."""
    if "=" not in text and ":" not in text:
        return text
    return _QUOTED.sub(_quoted, _PAIR.sub(_pair, text))
