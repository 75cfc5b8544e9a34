"""Reading VCR.py cassettes and HAR 1.2 files into interactions; writing cassettes.

**Why VCR.py is not imported here.** The cassette format is small and stable (version 1:
``{"interactions": [{"request": ..., "response": ...}], "version": 1}``), and PyYAML's safe
loader reads it. Importing ``vcr`` at run time would be hazardous: ``vcr.patch`` captures
``aiohttp.ClientSession._request`` when it is first imported, so importing it while the
harness intercepts aiohttp makes VCR.py's "real" request the harness's interceptor, and
its patches then fight the harness's own interception (the last patch applied answers). It
would also add a dependency, and its ``Request`` keeps only the first value of a repeated
request header. VCR.py stays a development dependency: the tests record cassettes with it
and check that it replays what :mod:`harness.recorder` writes.

YAML is parsed with the safe loader plus exactly the benign Python tags VCR.py's own
loader still accepts in old cassettes (``!!python/unicode``, ``!!python/str``,
``!!python/tuple``, a pickled ``BytesIO`` or ``iter`` request body, rebuilt from their
plain contents); any other ``!!python/...`` tag is refused, never executed. ``!!binary``
is standard YAML and reads as bytes.

**HAR 1.2** is read as its specification describes it (the JSON, with no HAR library:
the maintained ones are built for page timings, drop repeated headers and do not decode
base64). Entries with status 0 (blocked or aborted in the browser) and 101 (WebSocket
upgrades) are skipped: there is no HTTP answer to replay.

Bodies are normalised once, here: a cassette body is what the recording client handed its
caller, already decompressed for aiohttp, requests and httpx but still gzip'd for
``urllib``; a body whose ``Content-Encoding`` says gzip or deflate and that really is
compressed is decompressed, and ``Content-Encoding``, ``Content-Length``,
``Transfer-Encoding`` and hop-by-hop headers are dropped either way (the backends frame the
body themselves).
"""

from __future__ import annotations

import base64
import binascii
import gzip
import json
import os
import tempfile
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from yarl import URL

from harness.errors import RecordingError, RecordingProblem, messages
from harness.mock.headers import FORBIDDEN, TOKEN

__all__ = [
    "DROPPED_RESPONSE_HEADERS",
    "Interaction",
    "dump_cassette",
    "read_cassette",
    "read_har",
    "read_recording",
    "text_or_bytes",
    "write_atomically",
]

DROPPED_RESPONSE_HEADERS = frozenset(
    ("content-encoding", "content-length", "transfer-encoding", "connection", "keep-alive")
)
"""Headers a replayed answer never carries as recorded: the body is decoded, and framing
is the backend's business."""

_SKIPPED_HAR_STATUS = frozenset((0, 101))
CASSETTE_VERSION = 1


@dataclass(frozen=True)
class Interaction:
    """One recorded request and its answer, decoded and normalised.

    ``request_body`` is bytes, ``None`` (no body) or a mapping: aiohttp's ``json=`` and
    ``data=`` dicts are recorded by VCR.py as mappings, without saying which one they were.
    ``headers`` keep repeated names (``Set-Cookie`` twice) in their recorded order.
    """

    index: int
    method: str
    url: URL
    request_headers: tuple[tuple[str, str], ...]
    request_body: bytes | Mapping[str, Any] | None
    status: int
    reason: str | None
    headers: tuple[tuple[str, str], ...]
    body: bytes

    @property
    def origin(self) -> tuple[str, str, int]:
        """``(scheme, host, port)``: the port is explicit (80 and 443 by default)."""
        return (self.url.scheme, self.url.host or "", self.url.port or 0)

    def request_header(self, name: str) -> str:
        lower = name.lower()
        return next((v for k, v in self.request_headers if k.lower() == lower), "")


def _shown(value: Any) -> str:
    """A found value for a message: short scalars as they are, anything else by its type."""
    if value is None or isinstance(value, (bool, int, float)):
        return repr(value)
    if isinstance(value, str):
        return repr(value) if len(value) <= 40 else repr(value[:40]) + "..."
    return f"a {type(value).__name__}"


class _Bad(Exception):
    """One problem at one place, while reading one interaction."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


# -- reading files ---------------------------------------------------------------------------


_CACHE: dict[tuple[str, str, int, int], list[Interaction]] = {}
_CACHE_SIZE = 32


def read_recording(path: str | os.PathLike[str], kind: str = "auto") -> list[Interaction]:
    """Interactions of a cassette (``kind="cassette"``) or HAR file (``"har"``); ``auto``
    reads ``*.har`` as HAR and anything else as a cassette.

    A file read before and unchanged since (same size and modification time) is not parsed
    again: a cassette served to many tests is read once per process.
    """
    if kind == "auto":
        kind = "har" if str(path).lower().endswith(".har") else "cassette"
    try:
        stat = os.stat(path)
        key: tuple[str, str, int, int] | None = (
            kind,
            os.path.abspath(path),
            stat.st_mtime_ns,
            stat.st_size,
        )
    except OSError:
        key = None  # the readers say why
    if key is not None and key in _CACHE:
        return list(_CACHE[key])
    interactions = read_har(path) if kind == "har" else read_cassette(path)
    if key is not None:
        if len(_CACHE) >= _CACHE_SIZE:
            _CACHE.pop(next(iter(_CACHE)))
        _CACHE[key] = interactions
    return list(interactions)


def _read_text(path: str | os.PathLike[str]) -> str:
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise RecordingError(
            path, [RecordingProblem(None, "", messages.cannot_read(exc))]
        ) from None
    try:
        return data.decode("utf-8-sig")  # HAR: "tools must accept and ignore a BOM"
    except UnicodeDecodeError as exc:
        problem = messages.recording_not_parsed("UTF-8 text", f"byte {exc.start}: {exc.reason}")
        raise RecordingError(path, [RecordingProblem(None, "", problem)]) from None


def _fail(path: object, message: str, field: str = "", index: int | None = None) -> RecordingError:
    return RecordingError(path, [RecordingProblem(index, field, message)])


def _parse_json(text: str, path: object) -> Any:
    try:
        return json.loads(text)
    except ValueError as exc:
        where = f" at line {exc.lineno}" if isinstance(exc, json.JSONDecodeError) else ""
        msg = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
        raise _fail(path, messages.recording_not_parsed("JSON", msg + where)) from None


def _parse_yaml(text: str, path: object) -> Any:
    try:
        return yaml.load(text, Loader=_CassetteLoader)  # a safe loader (see above)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = exc.problem or exc.context or "unreadable"
        raise _fail(path, messages.recording_not_parsed("YAML", f"{problem}{where}")) from None
    except (yaml.YAMLError, ValueError, TypeError, RecursionError) as exc:
        detail = f"{type(exc).__name__}: {str(exc)[:200]}"
        raise _fail(path, messages.recording_not_parsed("YAML", detail)) from None


# -- VCR.py cassettes --------------------------------------------------------------------------

try:  # libyaml when present: the same safe constructors, several times faster
    _SafeLoader: type[yaml.SafeLoader] = yaml.CSafeLoader  # type: ignore[assignment]
except AttributeError:  # pragma: no cover - PyYAML built without libyaml
    _SafeLoader = yaml.SafeLoader


class _CassetteLoader(_SafeLoader):  # type: ignore[misc,valid-type]
    """YAML's safe loader plus the benign Python tags VCR.py's own loader accepts."""


def _python_str(loader: Any, node: Any) -> Any:
    return loader.construct_scalar(node)


def _python_tuple(loader: Any, node: Any) -> Any:
    return tuple(loader.construct_sequence(node))


def _bytesio(loader: Any, node: Any) -> Any:
    # an old pickled BytesIO request body: rebuilt from its buffer content only
    mapping = loader.construct_mapping(node, deep=True)
    state = mapping.get("state") or (b"",)
    data = state[0] if isinstance(state, (list, tuple)) and state else b""
    return data.encode("utf-8") if isinstance(data, str) else data


def _iter_body(loader: Any, node: Any) -> Any:
    # an old iterator request body: the sequence it iterated
    mapping = loader.construct_mapping(node, deep=True)
    args = mapping.get("args") or ([],)
    return list(args[0]) if isinstance(args, (list, tuple)) and args else []


_CassetteLoader.add_constructor("tag:yaml.org,2002:python/str", _python_str)
_CassetteLoader.add_constructor("tag:yaml.org,2002:python/unicode", _python_str)
_CassetteLoader.add_constructor("tag:yaml.org,2002:python/tuple", _python_tuple)
_CassetteLoader.add_constructor("tag:yaml.org,2002:python/object/new:_io.BytesIO", _bytesio)
_CassetteLoader.add_constructor("tag:yaml.org,2002:python/object/apply:builtins.iter", _iter_body)


def read_cassette(path: str | os.PathLike[str]) -> list[Interaction]:
    """The interactions of a VCR.py cassette (version 1; YAML, or JSON for ``*.json``).

    Raises :class:`~harness.errors.RecordingError` listing every bad interaction.
    """
    text = _read_text(path)
    is_json = str(path).lower().endswith(".json")
    data = _parse_json(text, path) if is_json else _parse_yaml(text, path)
    if isinstance(data, list):
        raise _fail(path, messages.recording_pre_v1())
    if not isinstance(data, Mapping):
        expected = "a mapping with 'interactions' and 'version' (a VCR.py cassette)"
        raise _fail(path, messages.recording_expected(expected, data))
    if "version" in data:
        version = data["version"]
        if type(version) is not int or version != CASSETTE_VERSION:
            known = "cassette version 1, written by VCR.py 1.0 and later"
            raise _fail(path, messages.recording_version(_shown(version), known), "version")
    if "interactions" not in data:
        raise _fail(path, messages.recording_missing("interactions"))
    items = data["interactions"]
    if not isinstance(items, list):
        raise _fail(path, messages.recording_expected("a list", items), "interactions")
    return _collect(path, items, "interactions", _cassette_interaction)


def _collect(
    path: object,
    items: Sequence[Any],
    where: str,
    read: Callable[[int, Any], Interaction | None],
) -> list[Interaction]:
    out: list[Interaction] = []
    problems: list[RecordingProblem] = []
    for index, item in enumerate(items):
        prefix = f"{where}[{index}]"
        try:
            interaction = read(index, item)
        except _Bad as bad:
            field = f"{prefix}.{bad.field}" if bad.field else prefix
            problems.append(RecordingProblem(index, field, bad.message))
            continue
        if interaction is not None:
            out.append(interaction)
    if problems:
        raise RecordingError(path, problems)
    return out


def _mapping(value: Any, field: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise _Bad(field, messages.recording_expected("a mapping", value))
    return value


def _need(mapping: Mapping[str, Any], key: str, field: str) -> Any:
    if key not in mapping:
        raise _Bad(field, messages.recording_missing(key))
    return mapping[key]


def _method(value: Any, field: str) -> str:
    if not isinstance(value, str) or not value.strip() or not value.strip().isalpha():
        raise _Bad(field, messages.recording_expected("an HTTP method such as 'GET'", value))
    return value.strip().upper()


def _url(value: Any, field: str) -> URL:
    if not isinstance(value, str):
        raise _Bad(field, messages.recording_expected("a URL string", value))
    try:
        url = URL(value.strip())
        ok = url.scheme in ("http", "https") and bool(url.host) and url.port is not None
    except (ValueError, TypeError):
        ok = False
    if not ok:
        raise _Bad(field, messages.recording_bad_url())
    return url.with_fragment(None)


def _status(value: Any, field: str) -> int:
    if type(value) is not int or not 100 <= value <= 599:
        if isinstance(value, (str, int, float)) or value is None:
            raise _Bad(field, messages.recording_bad_status(_shown(value)))
        raise _Bad(field, messages.recording_expected("an int status", value))
    return value


def _reason(value: Any, field: str) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or FORBIDDEN.search(value):
        raise _Bad(field, messages.recording_expected("a reason phrase (a string)", value))
    return value


def _bytes(value: Any, field: str) -> bytes:
    if value is None:
        return b""
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8", errors="surrogatepass")
    if isinstance(value, (list, tuple)):  # a body recorded as chunks
        if all(type(c) is int and 0 <= c < 256 for c in value):
            return bytes(value)
        return b"".join(_bytes(chunk, field) for chunk in value)
    raise _Bad(field, messages.recording_expected("a string or bytes", value))


def _header_name(name: Any, field: str) -> str:
    if not isinstance(name, str) or not TOKEN.fullmatch(name):
        raise _Bad(field, messages.recording_expected("a header name (an HTTP token)", name))
    return name


def _header_value(value: Any, field: str) -> str:
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or FORBIDDEN.search(value):
        raise _Bad(field, messages.recording_expected("a header value (one line of text)", value))
    return value


def _cassette_headers(value: Any, field: str) -> tuple[tuple[str, str], ...]:
    if value is None:
        return ()
    out: list[tuple[str, str]] = []
    for name, values in _mapping(value, field).items():
        name = _header_name(name, field)
        for item in values if isinstance(values, (list, tuple)) else [values]:
            if item is not None:
                out.append((name, _header_value(item, f"{field}.{name}")))
    return tuple(out)


def _cassette_interaction(index: int, item: Any) -> Interaction:
    item = _mapping(item, "")
    request = _mapping(_need(item, "request", ""), "request")
    response = _mapping(_need(item, "response", ""), "response")
    method = _method(_need(request, "method", "request"), "request.method")
    url = _url(_need(request, "uri", "request"), "request.uri")
    request_headers = _cassette_headers(request.get("headers"), "request.headers")
    raw_body = request.get("body")
    body: bytes | Mapping[str, Any] | None
    if raw_body is None:
        body = None
    elif isinstance(raw_body, Mapping):
        body = dict(raw_body)
    else:
        body = _bytes(raw_body, "request.body")
    status_field = _need(response, "status", "response")
    if isinstance(status_field, Mapping):
        status = _status(_need(status_field, "code", "response.status"), "response.status.code")
        reason = _reason(status_field.get("message"), "response.status.message")
    else:
        status, reason = _status(status_field, "response.status"), None
    headers = _cassette_headers(response.get("headers"), "response.headers")
    raw = response.get("body")
    if raw is None:
        payload = b""
    elif isinstance(raw, Mapping):
        payload = _bytes(raw.get("string"), "response.body.string")  # {} for a followed 3xx
    else:
        raise _Bad("response.body", messages.recording_expected("a mapping {string: ...}", raw))
    payload, headers = decode_body(payload, headers)
    return Interaction(index, method, url, request_headers, body, status, reason, headers, payload)


def decode_body(
    body: bytes, headers: Sequence[tuple[str, str]]
) -> tuple[bytes, tuple[tuple[str, str], ...]]:
    """Decompress a body that its ``Content-Encoding`` says, and its bytes show, is
    compressed; drop the encoding and framing headers either way."""
    kept: list[tuple[str, str]] = []
    codings: list[str] = []
    for name, value in headers:
        lower = name.lower()
        if lower not in DROPPED_RESPONSE_HEADERS:
            kept.append((name, value))
        elif lower == "content-encoding":
            codings.extend(c.strip().lower() for c in value.split(",") if c.strip())
    for coding in reversed(codings):
        body = _decompress(coding, body)
    return body, tuple(kept)


def _decompress(coding: str, body: bytes) -> bytes:
    try:
        if coding in ("gzip", "x-gzip") and body[:2] == b"\x1f\x8b":
            return gzip.decompress(body)
        if coding == "deflate" and body:
            try:
                return zlib.decompress(body)
            except zlib.error:
                return zlib.decompress(body, -zlib.MAX_WBITS)
        if coding == "br" and body:
            import brotli  # type: ignore[import-not-found]  # optional, as in aiohttp

            return bytes(brotli.decompress(body))
    except Exception:
        # not really compressed (the recording client had decoded it already): as it is
        return body
    return body


# -- HAR 1.2 -----------------------------------------------------------------------------------


def read_har(path: str | os.PathLike[str]) -> list[Interaction]:
    """The interactions of a HAR 1.2 file, in file order (entries with status 0 or 101
    are skipped). Raises :class:`~harness.errors.RecordingError` listing every bad entry."""
    data = _parse_json(_read_text(path), path)
    if not isinstance(data, Mapping):
        raise _fail(path, messages.recording_expected("a mapping with 'log' (HAR)", data))
    if "log" not in data:
        raise _fail(path, messages.recording_missing("log"))
    log = data["log"]
    if not isinstance(log, Mapping):
        raise _fail(path, messages.recording_expected("a mapping", log), "log")
    version = log.get("version")
    if version is not None and (not isinstance(version, str) or not version.startswith("1.")):
        raise _fail(
            path, messages.recording_version(_shown(version), "HAR 1.1 and 1.2"), "log.version"
        )
    if "entries" not in log:
        raise _fail(path, messages.recording_missing("entries"), "log")
    entries = log["entries"]
    if not isinstance(entries, list):
        raise _fail(path, messages.recording_expected("a list", entries), "log.entries")
    return _collect(path, entries, "log.entries", _har_interaction)


def _har_headers(value: Any, field: str) -> tuple[tuple[str, str], ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise _Bad(field, messages.recording_expected("a list of {name, value}", value))
    out = []
    for n, item in enumerate(value):
        item = _mapping(item, f"{field}[{n}]")
        name = _need(item, "name", f"{field}[{n}]")
        if isinstance(name, str) and name.startswith(":"):  # HTTP/2 pseudo-headers
            continue
        name = _header_name(name, f"{field}[{n}].name")
        out.append((name, _header_value(item.get("value", ""), f"{field}[{n}].value")))
    return tuple(out)


def _har_interaction(index: int, item: Any) -> Interaction | None:
    entry = _mapping(item, "")
    request = _mapping(_need(entry, "request", ""), "request")
    response = _mapping(_need(entry, "response", ""), "response")
    raw_status = _need(response, "status", "response")
    if type(raw_status) is int and raw_status in _SKIPPED_HAR_STATUS:
        return None  # blocked, aborted, or a WebSocket upgrade: nothing to replay
    status = _status(raw_status, "response.status")
    method = _method(_need(request, "method", "request"), "request.method")
    url = _url(_need(request, "url", "request"), "request.url")
    request_headers = _har_headers(request.get("headers"), "request.headers")
    body: bytes | None = None
    post = request.get("postData")
    if post is not None:
        post = _mapping(post, "request.postData")
        mime = post.get("mimeType")
        if post.get("text") is not None:
            body = _bytes(post["text"], "request.postData.text")
        else:  # "text and params are mutually exclusive"
            from urllib.parse import urlencode

            params = post.get("params") or []
            if not isinstance(params, list):
                raise _Bad("request.postData.params", messages.recording_expected("a list", params))
            pairs = []
            for n, p in enumerate(params):
                p = _mapping(p, f"request.postData.params[{n}]")
                pairs.append((str(p.get("name", "")), str(p.get("value", "") or "")))
            body = urlencode(pairs).encode()
        if (
            isinstance(mime, str)
            and mime
            and not any(k.lower() == "content-type" for k, _ in request_headers)
        ):
            request_headers = (*request_headers, ("Content-Type", mime))
    content = response.get("content") or {}
    content = _mapping(content, "response.content")
    text = content.get("text")
    encoding = content.get("encoding")
    if text is None:
        payload = b""  # exported without content
    elif not isinstance(text, str):
        raise _Bad("response.content.text", messages.recording_expected("a string", text))
    elif encoding in (None, ""):
        payload = text.encode("utf-8", errors="surrogatepass")
    elif encoding == "base64":
        try:
            payload = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            raise _Bad("response.content.text", messages.recording_bad_base64()) from None
    else:
        raise _Bad("response.content.encoding", messages.recording_unknown_encoding(encoding))
    headers = _har_headers(response.get("headers"), "response.headers")
    payload, headers = decode_body(payload, headers)
    reason = _reason(response.get("statusText"), "response.statusText")
    return Interaction(index, method, url, request_headers, body, status, reason, headers, payload)


# -- writing cassettes -------------------------------------------------------------------------


def text_or_bytes(data: bytes | None) -> str | bytes | None:
    """VCR.py's rule for a stored body: UTF-8 as text, anything else as bytes (``!!binary``)."""
    if data is None:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data


def dump_cassette(interactions: Sequence[Mapping[str, Any]], fmt: str = "yaml") -> str:
    """A cassette document as VCR.py writes it: ``yaml.safe_dump`` gives its YAML serializer's
    exact bytes (sorted keys, ``!!binary`` for bytes), ``json`` its JSON serializer's
    (``indent=4``, version first). Header names must be plain ``str``."""
    if fmt == "json":
        return (
            json.dumps({"version": CASSETTE_VERSION, "interactions": list(interactions)}, indent=4)
            + "\n"
        )
    return yaml.safe_dump({"interactions": list(interactions), "version": CASSETTE_VERSION})


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so that a reader sees the old file or the new one, never
    half of one (a temporary file in the same directory, then ``os.replace``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
