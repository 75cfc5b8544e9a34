"""The recording proxy: record an upstream API's answers as a VCR.py cassette.

A client talks to the proxy (aiohttp.web on 127.0.0.1, a free port unless one is given, as
the socket backend serves); the proxy forwards each request to the upstream, answers the
client with the upstream's answer, and writes the cassette after every interaction,
atomically (a reader sees the previous cassette or the new one, never half of one).

The cassette is VCR.py's own format, byte for byte what its YAML serializer writes
(``yaml.safe_dump``: sorted keys, header names as plain ``str``, bodies as text when they
are UTF-8 and as ``!!binary`` otherwise); a ``*.json`` output gets its JSON serializer's
format. Recorded ``uri``\\ s are the upstream's URLs, so the harness and VCR.py replay the
cassette against the host that was recorded. Answers are stored decoded (aiohttp
decompresses them), without ``Content-Encoding`` and with the decoded ``Content-Length``:
what VCR.py's ``decode_compressed_response=True`` stores.

Secrets never reach the file: the journal's secret headers and query parameters, secret
fields of JSON and form bodies (``signature``, ``apiKey``, ``apiSecret``, ``password``,
``passphrase``, ``token``...) are stored as ``***``, and an answer that echoes one of the
request's secrets has it replaced too. The client still gets the real answer.

``chaos-harness record --upstream URL --out cassette.yaml [--port N]`` calls
:func:`run_recorder`; tests and programs use :func:`record` or :class:`RecordingProxy`.
"""

from __future__ import annotations

import asyncio
import contextlib
import warnings
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

import aiohttp
from aiohttp import web
from multidict import CIMultiDict
from yarl import URL

from harness.errors import HarnessWarning, MockConfigError, messages
from harness.recordings.formats import dump_cassette, text_or_bytes, write_atomically
from harness.recordings.secrets import (
    REDACTED,
    header_secrets,
    is_secret_header,
    redact_body,
    redact_pairs,
    scrub,
    scrub_text,
)

__all__ = ["RecordingProxy", "record", "run_recorder"]

_NOT_FORWARDED = frozenset(
    ("host", "content-length", "transfer-encoding", "connection", "keep-alive")
)
_NOT_RETURNED = frozenset(
    ("content-encoding", "content-length", "transfer-encoding", "connection", "keep-alive")
)
_SHUTDOWN_TIMEOUT = 0.5


def _upstream(value: str) -> URL:
    try:
        url = URL(value)
    except (TypeError, ValueError):
        url = None
    if url is None or url.scheme not in ("http", "https") or not url.host:
        raise MockConfigError(
            "record",
            f"upstream={value!r}",
            "expected an absolute http(s) URL such as 'https://api.binance.com'",
        )
    return url.with_query(None).with_fragment(None)


class RecordingProxy:
    """A proxy to ``upstream`` that writes every interaction to the cassette ``out``.

    The cassette is (re)written from the start: an existing file at ``out`` is replaced
    when the proxy starts.
    """

    def __init__(self, upstream: str, out: str | Path) -> None:
        self.upstream = _upstream(upstream)
        self.out = Path(out)
        self.format = "json" if self.out.suffix.lower() == ".json" else "yaml"
        self.interactions: list[dict[str, Any]] = []
        self.url = ""
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None

    @property
    def count(self) -> int:
        """Interactions recorded so far."""
        return len(self.interactions)

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Listen; returns the proxy's URL (clients use it instead of the upstream's)."""
        self._save()
        self._session = aiohttp.ClientSession(
            auto_decompress=True, cookie_jar=aiohttp.DummyCookieJar()
        )
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(
            app, access_log=None, shutdown_timeout=_SHUTDOWN_TIMEOUT, handle_signals=False
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        try:
            await site.start()
        except BaseException:
            await self.stop()
            raise
        bound = self._runner.addresses[0]
        self.url = f"http://{host}:{bound[1]}"
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self._session is not None:
            await self._session.close()
            self._session = None

    # -- one interaction ---------------------------------------------------------------------
    async def _handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.read()
        target = URL(str(self.upstream).rstrip("/") + request.raw_path, encoded=True)
        forwarded: CIMultiDict[str] = CIMultiDict(
            (k, v) for k, v in request.headers.items() if k.lower() not in _NOT_FORWARDED
        )
        assert self._session is not None
        try:
            async with self._session.request(
                request.method,
                target,
                headers=forwarded,
                data=body or None,
                allow_redirects=False,
                skip_auto_headers=("Accept-Encoding", "User-Agent", "Accept", "Content-Type"),
            ) as upstream:
                answer = await upstream.read()
                status, reason = upstream.status, upstream.reason
                headers = list(upstream.headers.items())
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            message = messages.recorder_upstream_failed(str(self.upstream), exc)
            return web.json_response(
                {"error": {"code": "upstream_unreachable", "message": message}}, status=502
            )
        self._record(request, target, body, status, reason, headers, answer)
        returned: CIMultiDict[str] = CIMultiDict(
            (k, v) for k, v in headers if k.lower() not in _NOT_RETURNED
        )
        return web.Response(
            status=status,
            reason=reason,
            body=answer if request.method != "HEAD" else None,
            headers=returned,
        )

    def _record(
        self,
        request: web.Request,
        target: URL,
        body: bytes,
        status: int,
        reason: str | None,
        headers: list[tuple[str, str]],
        answer: bytes,
    ) -> None:
        secrets: list[str] = []
        request_headers = _headers(request.headers.items(), _NOT_FORWARDED, secrets)
        uri = _redacted_uri(target, secrets)
        stored_body, found = redact_body(body, request.headers.get("Content-Type", ""))
        secrets.extend(value for _, value in found)
        response_headers = _headers(headers, _NOT_RETURNED, secrets)
        answer_ctype = next((v for k, v in headers if k.lower() == "content-type"), "")
        stored_answer, found = redact_body(answer, answer_ctype)
        stored_answer = scrub(stored_answer, [*secrets, *(value for _, value in found)])
        if request.method == "HEAD":
            length = next((v for k, v in headers if k.lower() == "content-length"), None)
            if length is not None:
                response_headers["Content-Length"] = [length]
        else:
            response_headers["Content-Length"] = [str(len(answer))]
        response_headers = {
            k: [scrub_text(v, secrets) for v in vs] for k, vs in response_headers.items()
        }
        interaction = {
            "request": {
                "method": request.method,
                "uri": uri,
                "body": text_or_bytes(stored_body) if body else None,
                "headers": request_headers,
            },
            "response": {
                "status": {"code": status, "message": reason or ""},
                "headers": response_headers,
                "body": {"string": text_or_bytes(stored_answer)},
            },
        }
        if self.format == "json" and (
            isinstance(interaction["request"]["body"], bytes)
            or isinstance(interaction["response"]["body"]["string"], bytes)
        ):
            warnings.warn(
                messages.recorder_binary_json(request.method, request.path),
                HarnessWarning,
                stacklevel=2,
            )
            return
        self.interactions.append(interaction)
        self._save()

    def _save(self) -> None:
        write_atomically(self.out, dump_cassette(self.interactions, self.format))


def _headers(
    items: Iterable[tuple[str, str]], dropped: frozenset[str], secrets: list[str]
) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for name, value in items:
        if name.lower() in dropped:
            continue
        if is_secret_header(name):
            secrets.extend(header_secrets(name, value))
            value = REDACTED
        # str(): aiohttp's header names are multidict.istr, which yaml.safe_dump refuses
        out.setdefault(str(name), []).append(str(value))
    return out


def _redacted_uri(target: URL, secrets: list[str]) -> str:
    """The upstream URL as sent, with secret query values replaced (the query is only
    re-encoded when it held a secret)."""
    raw = target.raw_query_string
    if not raw:
        return str(target)
    pairs = parse_qsl(raw, keep_blank_values=True)
    cleaned, found = redact_pairs(pairs)
    if cleaned == pairs:
        return str(target)
    secrets.extend(value for _, value in found)
    query = urlencode(cleaned, safe="*")
    return str(target.with_query(None)) + "?" + query


async def record(
    upstream: str,
    out: str | Path,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    ready: Callable[[str], None] | None = None,
    stop: asyncio.Event | None = None,
) -> int:
    """Serve a recording proxy to ``upstream`` until ``stop`` is set (or the task is
    cancelled), writing the cassette ``out``; ``ready(url)`` is called once it listens.
    Returns the number of interactions recorded."""
    proxy = RecordingProxy(upstream, out)
    await proxy.start(host, port)
    try:
        if ready is not None:
            ready(proxy.url)
        await (stop or asyncio.Event()).wait()
    finally:
        await proxy.stop()
    return proxy.count


def run_recorder(upstream: str, out: str | Path, port: int = 0, *, host: str = "127.0.0.1") -> int:
    """Serve a recording proxy until interrupted (Ctrl-C); prints where it listens, and at
    the end what it recorded. Returns the number of interactions recorded."""
    proxy = RecordingProxy(upstream, out)

    async def serve() -> None:
        await proxy.start(host, port)
        print(messages.recorder_listening(proxy.url, str(proxy.upstream), proxy.out), flush=True)
        try:
            await asyncio.Event().wait()
        finally:
            await proxy.stop()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve())
    print(messages.recorder_stopped(proxy.count, proxy.out), flush=True)
    return proxy.count
