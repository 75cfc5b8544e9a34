"""The one redaction policy (harness.redaction) and the places that use it."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest
from hypothesis import given
from hypothesis import strategies as st

from harness.mock.journal import JournalEntry
from harness.mock.routes import Request
from harness.redaction import (
    REDACTED,
    is_secret_header,
    is_secret_key,
    redact_body_text,
    redact_headers,
    redact_json,
    redact_query,
    redact_text,
)
from harness.report.model import failure_of

_AROUND = "symbol btcusdt apisecret signature timestamp apikey password token recvwindow"
secret_values = st.text(
    alphabet=st.characters(codec="ascii", categories=("L", "N")), min_size=6, max_size=40
).filter(lambda s: s.lower() not in _AROUND)  # a secret that is also a key or a symbol
# would be found in the redacted text though it was redacted


@pytest.mark.parametrize(
    "name", ["signature", "apiKey", "api_key", "API-SECRET", "password", "passphrase", "token"]
)
def test_secret_keys(name: str) -> None:
    assert is_secret_key(name)


@pytest.mark.parametrize("name", ["symbol", "quantity", "side", "timestamp", "recvWindow"])
def test_ordinary_keys(name: str) -> None:
    assert not is_secret_key(name)


@pytest.mark.parametrize(
    "name", ["X-MBX-APIKEY", "Authorization", "cookie", "APCA-API-SECRET-KEY", "X-Custom-Token"]
)
def test_secret_headers(name: str) -> None:
    assert is_secret_header(name)
    assert redact_headers({name: "v", "Accept": "json"}) == {name: REDACTED, "Accept": "json"}


def test_query_keeps_repeats_and_hides_secrets() -> None:
    query = {"symbol": "BTCUSDT", "signature": "abc123"}.items()
    assert redact_query(dict(query)) == {"symbol": "BTCUSDT", "signature": REDACTED}


def test_nested_json_fields_are_redacted() -> None:
    body = {"order": {"qty": 1, "apiKey": "k"}, "auth": [{"token": "t"}], "secret": {"a": 1}}
    assert redact_json(body) == {
        "order": {"qty": 1, "apiKey": REDACTED},
        "auth": [{"token": REDACTED}],
        "secret": {"a": 1},  # a structure under a secret name is searched, not dropped
    }


@given(secret=secret_values)
def test_json_and_form_bodies_never_keep_the_secret(secret: str) -> None:
    json_body = json.dumps({"symbol": "BTCUSDT", "apiSecret": secret}).encode()
    form_body = urlencode({"symbol": "BTCUSDT", "signature": secret}).encode()
    for body, kind in ((json_body, "application/json"), (form_body, "x-www-form-urlencoded")):
        text = redact_body_text(body, kind)
        assert secret not in text and "BTCUSDT" in text


def test_a_body_without_secrets_is_kept_byte_for_byte() -> None:
    body = b'{"symbol": "BTCUSDT",  "qty": 1}'
    assert redact_body_text(body, "application/json") == body.decode()


@given(
    secret=secret_values,
    name=st.sampled_from(["signature", "apiKey", "api_secret", "sign"]),
    frame=st.sampled_from(
        [
            "binance GET https://api.binance.com/api/v3/account?timestamp=1&{pair}",
            "RequestTimeout: GET http://x/y?{pair}&recvWindow=5000",
            "POST body {pair} failed",
        ]
    ),
)
def test_free_text_loses_secret_values_and_keeps_the_rest(
    secret: str, name: str, frame: str
) -> None:
    text = frame.format(pair=f"{name}={secret}")
    cleaned = redact_text(text)
    assert secret not in cleaned
    assert f"{name}={REDACTED}" in cleaned
    assert cleaned.replace(f"{name}={REDACTED}", "") == text.replace(f"{name}={secret}", "")


@given(secret=secret_values)
def test_a_repr_of_headers_loses_its_secrets(secret: str) -> None:
    text = f"headers {{'X-MBX-APIKEY': '{secret}', 'Accept': 'application/json'}}"
    cleaned = redact_text(text)
    assert secret not in cleaned and "'Accept': 'application/json'" in cleaned


def test_the_journal_redacts_query_headers_and_body() -> None:
    request = Request.build(
        "POST",
        "http://x/api/v3/order?symbol=BTCUSDT&signature=s1g",
        {"X-MBX-APIKEY": "key", "Content-Type": "application/json"},
        json.dumps({"qty": 1, "apiKey": "key2"}).encode(),
    )
    entry = JournalEntry.from_request(request, 0.0, "/api/v3/order")
    written = json.dumps(entry.to_dict(), default=str)
    assert "s1g" not in written and '"key"' not in written and "key2" not in written
    assert "BTCUSDT" in written


def test_the_report_keeps_a_failure_without_its_secrets() -> None:
    exc = TimeoutError("binance GET https://api.binance.com/api/v3/account?signature=deadbeef99")
    kind, first, violations = failure_of(exc)
    assert (kind, violations) == ("TimeoutError", [])
    assert "deadbeef99" not in first and "signature=***" in first


def test_a_query_mismatch_never_echoes_a_secret_value() -> None:
    from harness.mock.patterns import Query

    pattern = Query({"signature": "expected-sig", "symbol": "ETHUSDT"})
    request = Request.build("GET", "http://x/a?signature=sent-sig&symbol=BTCUSDT")
    said = " ".join(str(m) for m in pattern.difference(request)) + pattern.describe()
    assert "sent-sig" not in said and "expected-sig" not in said
    assert "ETHUSDT" in said and "BTCUSDT" in said
