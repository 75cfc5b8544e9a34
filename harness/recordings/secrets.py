"""Secrets in recordings: which fields hold them, whether a value is already redacted, and
how to take them out of recorded requests and answers.

The policy is :mod:`harness.redaction`'s (which header, parameter and field names are
secret); this module adds what only recordings need: telling a real secret from a
placeholder, collecting the secrets found, and scrubbing answers that echo them back.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl, urlencode

from harness.redaction import REDACTED, is_secret_header, is_secret_key

__all__ = [
    "REDACTED",
    "Found",
    "header_secrets",
    "is_placeholder",
    "is_secret_header",
    "is_secret_key",
    "redact_body",
    "redact_mapping",
    "redact_pairs",
    "scrub",
    "scrub_text",
]

_PLACEHOLDER_WORDS = ("REDACTED", "FILTERED", "HIDDEN", "REMOVED", "MASKED", "SCRUBBED")
_MIN_SCRUB = 4
"""Secret values shorter than this are not searched for in answers (too many false hits)."""


def is_placeholder(value: object) -> bool:
    """True when a recorded secret value is already redacted: empty, ``***``, ``REDACTED``,
    ``<API_KEY>``, ``xxxx``..."""
    text = str(value).strip()
    if not text or (text.startswith("<") and text.endswith(">")):
        return True
    core = text.strip("[]{}()\"' ").upper()
    if not core or set(core) <= {"*"} or set(core) <= {"X"}:
        return True
    return core.startswith(_PLACEHOLDER_WORDS)


Found = list[tuple[str, str]]
"""Secrets found while redacting: ``(field name, value)`` pairs (placeholders are not secrets)."""


def redact_pairs(pairs: Iterable[tuple[str, str]]) -> tuple[list[tuple[str, str]], Found]:
    """The pairs with secret values replaced, and the secrets found."""
    out: list[tuple[str, str]] = []
    found: Found = []
    for key, value in pairs:
        if is_secret_key(key):
            if not is_placeholder(value):
                found.append((key, value))
            value = REDACTED
        out.append((key, value))
    return out, found


def _redact_json(value: Any, found: Found) -> Any:
    if isinstance(value, Mapping):
        out = {}
        for key, item in value.items():
            if isinstance(key, str) and is_secret_key(key) and not isinstance(item, (dict, list)):
                if item is not None and not is_placeholder(item):
                    found.append((key, str(item)))
                out[key] = REDACTED
            else:
                out[key] = _redact_json(item, found)
        return out
    if isinstance(value, list):
        return [_redact_json(item, found) for item in value]
    return value


def redact_body(body: bytes, content_type: str) -> tuple[bytes, Found]:
    """A JSON or form body with the values of secret fields replaced by ``***``, and the
    secret values found. Other bodies, and bodies without a secret, are returned as they are
    (byte for byte)."""
    if not body:
        return body, []
    stripped = body.lstrip()
    if "json" in content_type or stripped[:1] in (b"{", b"["):
        try:
            parsed = json.loads(body)
        except ValueError:
            parsed = None
        else:
            found: Found = []
            cleaned = _redact_json(parsed, found)
            if cleaned == parsed:
                return body, []
            return json.dumps(cleaned, separators=(",", ":")).encode(), found
    if "x-www-form-urlencoded" in content_type:
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            return body, []
        pairs = parse_qsl(text, keep_blank_values=True)
        if not any(is_secret_key(k) for k, _ in pairs):
            return body, []
        cleaned_pairs, found = redact_pairs(pairs)
        return urlencode(cleaned_pairs, safe="*").encode(), found
    return body, []


def redact_mapping(value: Mapping[str, Any]) -> tuple[Any, Found]:
    """A request body recorded as a mapping (aiohttp's ``json=``/``data=``), redacted."""
    found: Found = []
    return _redact_json(value, found), found


def scrub(data: bytes, secrets: Iterable[str]) -> bytes:
    """``data`` with every occurrence of a secret value (of 4 characters or more) replaced."""
    for secret in sorted({s for s in secrets if len(s) >= _MIN_SCRUB}, key=len, reverse=True):
        needle = secret.encode("utf-8", errors="ignore")
        if needle and needle in data:
            data = data.replace(needle, REDACTED.encode())
    return data


def scrub_text(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every occurrence of a secret value (of 4 characters or more) replaced."""
    for secret in sorted({s for s in secrets if len(s) >= _MIN_SCRUB}, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    return text


def header_secrets(name: str, value: str) -> list[str]:
    """The secret values a secret header carries (``Bearer abc`` carries ``abc`` too)."""
    if is_placeholder(value):
        return []
    parts = [value]
    scheme, _, token = value.partition(" ")
    if token and scheme.isalpha() and not is_placeholder(token):
        parts.append(token.strip())
    if name.lower() == "cookie":
        for item in value.split(";"):
            _, _, cookie = item.partition("=")
            if cookie.strip() and not is_placeholder(cookie):
                parts.append(cookie.strip())
    return parts
