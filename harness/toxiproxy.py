"""A real Toxiproxy server for TCP faults: lifecycle, per-worker proxies, toxics.

* :func:`find_binary` looks for the server in ``TOXIPROXY_BIN``, the project's ``.tools/``
  (``make test`` installs it there with ``go install``), then ``PATH``;
  ``TOXIPROXY_URL`` names a running server to use instead of starting one.
* :class:`ToxiproxyServer` starts one on a free 127.0.0.1 port and stops it.
* :class:`Toxiproxy` wraps toxiproxy-python, which is synchronous and keeps the server
  address in class attributes: every call sets the address under a lock (so several
  servers and a non-default port work), and the ``a*`` methods run in a thread so async
  code never blocks its loop.
* :func:`load_config` reads ``toxiproxy.json`` (Toxiproxy's own format: a list of
  ``{name, listen, upstream, enabled}``); under xdist every worker creates its own copy of
  each proxy, its name suffixed with the worker id, listening on a free port.

Two facts about Toxiproxy v2 shape what the harness can promise: its ``-seed`` flag has no
effect (latency jitter, toxicity and slicer sizes are not reproducible), and toxicity is
rolled once per connection, not per request. The fault log records what was applied.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness import clock
from harness.errors import ToxiproxyError, messages
from harness.seeding import derive_seed

if TYPE_CHECKING:
    from harness.faultlog import FaultLog
    from harness.scenario import Scenario

__all__ = [
    "TOXIPROXY_MODULE",
    "TOXIPROXY_VERSION",
    "ProxySpec",
    "Toxiproxy",
    "ToxiproxyServer",
    "find_binary",
    "load_config",
    "project_proxies",
    "proxies_for_test",
    "proxy_suffix",
    "read_project_config",
]

TOXIPROXY_MODULE = "github.com/Shopify/toxiproxy/v2/cmd/server"
TOXIPROXY_VERSION = "v2.12.0"
_TOOLS = Path(".tools") / "toxiproxy" / "server"
_LOCK = threading.Lock()


def user_tools_dir() -> Path:
    """Where ``chaos-harness toxiproxy install`` puts the server: the user's cache folder
    (platformdirs; ``CHAOS_HARNESS_CACHE`` overrides it), one folder per version."""
    env = os.environ.get("CHAOS_HARNESS_CACHE")
    if env:
        base = Path(env)
    else:
        import platformdirs

        base = Path(platformdirs.user_cache_dir("trading-chaos-harness"))
    return base / "toxiproxy" / TOXIPROXY_VERSION


def find_binary(project_root: str | Path | None = None) -> Path | None:
    """The Toxiproxy server binary: ``TOXIPROXY_BIN``, the project's
    ``.tools/toxiproxy/server`` (``make toxiproxy`` in a checkout), the user cache of
    ``chaos-harness toxiproxy install``, or ``toxiproxy-server`` on the PATH."""
    env = os.environ.get("TOXIPROXY_BIN")
    if env:
        return Path(env) if Path(env).is_file() else None
    roots = [Path(project_root)] if project_root is not None else []
    roots += [Path.cwd()]
    candidates = [root / _TOOLS for root in roots] + [user_tools_dir() / "server"]
    candidates.append(Path(__file__).resolve().parent.parent / _TOOLS)  # the harness's checkout
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    found = shutil.which("toxiproxy-server")
    return Path(found) if found else None


def install(target: Path | None = None, go: str = "go") -> Path:
    """Build the Toxiproxy server with ``go install`` of its v2 module into ``target``
    (default :func:`user_tools_dir`) and return the binary; ``ToxiproxyError`` when Go is
    missing or the build fails. Never downloads a release binary."""
    target = target or user_tools_dir()
    if shutil.which(go) is None:
        raise ToxiproxyError(messages.toxiproxy_needs_go())
    target.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [go, "install", f"{TOXIPROXY_MODULE}@{TOXIPROXY_VERSION}"],
        env={**os.environ, "GOBIN": str(target), "GOFLAGS": "-modcacherw"},
        capture_output=True,
        text=True,
        check=False,
    )
    binary = target / "server"
    if done.returncode != 0 or not binary.is_file():
        raise ToxiproxyError(messages.toxiproxy_install_failed(done.returncode, done.stderr))
    return binary


def _die_with_parent() -> None:
    """In the child, before exec (Linux): SIGTERM when the process that started it dies,
    so a crashed or killed pytest (SIGKILL, os._exit) leaves no Toxiproxy behind."""
    import ctypes
    import signal

    pr_set_pdeathsig = 1
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(pr_set_pdeathsig, signal.SIGTERM, 0, 0, 0)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class ToxiproxyServer:
    """A Toxiproxy server process on 127.0.0.1 (or a running one named by TOXIPROXY_URL)."""

    def __init__(self, binary: Path | None = None, *, url: str | None = None) -> None:
        self.binary = binary
        self.url = url or ""
        self.process: subprocess.Popen[bytes] | None = None

    @classmethod
    def from_environment(cls, project_root: str | Path | None = None) -> ToxiproxyServer:
        url = os.environ.get("TOXIPROXY_URL")
        if url:
            return cls(url=url.rstrip("/"))
        binary = find_binary(project_root)
        if binary is None:
            raise ToxiproxyError.not_installed(TOXIPROXY_MODULE, TOXIPROXY_VERSION)
        return cls(binary)

    def start(self, timeout_s: float = 15.0, attempts: int = 5) -> str:
        if self.url and self.process is None and self.binary is None:
            self._wait(timeout_s)
            return self.url
        assert self.binary is not None
        import tempfile

        last: ToxiproxyError | None = None
        for _ in range(attempts):
            # The port is free when chosen, but another process may bind it before Toxiproxy
            # does (xdist workers open loopback servers all the time): then Toxiproxy exits,
            # and a new port is tried.
            port = _free_port()
            # An anonymous file (no name on disk): whatever ends this process and the
            # server, even SIGKILL, leaves no log behind. Closed by stop().
            self._log_file = tempfile.TemporaryFile()  # noqa: SIM115
            self.process = subprocess.Popen(
                [str(self.binary), "-host", "127.0.0.1", "-port", str(port)],
                stdout=self._log_file,
                stderr=subprocess.STDOUT,
                preexec_fn=_die_with_parent if sys.platform == "linux" else None,
            )
            self.url = f"http://127.0.0.1:{port}"
            try:
                self._wait(timeout_s)
                return self.url
            except ToxiproxyError as exc:
                last = exc
                self.stop()
        assert last is not None  # attempts >= 1
        raise last

    def log_tail(self, lines: int = 20) -> str:
        """The end of the server's own log (where it says why it stopped)."""
        log = getattr(self, "_log_file", None)
        if log is None:
            return ""
        try:
            # pread: the server shares the file offset, which must stay at the end.
            fd = log.fileno()
            text = os.pread(fd, os.fstat(fd).st_size, 0).decode(errors="replace")
        except (OSError, ValueError, AttributeError):  # AttributeError: no os.pread (Windows)
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def alive(self) -> bool:
        return self.process is None or self.process.poll() is None

    def _wait(self, timeout_s: float) -> None:
        deadline = clock.real_monotonic() + timeout_s
        api = Toxiproxy(self.url)
        while clock.real_monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                code = self.process.returncode
                raise ToxiproxyError.did_not_start(self.url, timeout_s, code, self.log_tail(5))
            try:
                if api.is_toxiproxy() and (self.process is None or self.process.poll() is None):
                    return
            except ToxiproxyError:
                pass
            time.sleep(0.05)
        raise ToxiproxyError.did_not_start(self.url, timeout_s, None, "")

    def stop(self) -> None:
        log = getattr(self, "_log_file", None)
        if log is not None:
            log.close()
            self._log_file = None
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
            self.process = None


@dataclass(frozen=True)
class ProxySpec:
    """One entry of toxiproxy.json."""

    name: str
    listen: str = "127.0.0.1:0"
    upstream: str = ""
    enabled: bool = True


def load_config(path: str | Path) -> list[ProxySpec]:
    """Read a toxiproxy.json file, with errors that name the entry and the field."""
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ToxiproxyError.config(path, "", f"cannot read Toxiproxy config: {exc}") from None
    if not isinstance(data, list):
        problem = f"expected a JSON list of proxies, got {type(data).__name__}"
        raise ToxiproxyError.config(path, "", problem)
    specs, names = [], set()
    for i, entry in enumerate(data):
        where = f"[{i}]"
        if not isinstance(entry, dict):
            problem = "expected an object {name, listen, upstream, enabled}"
            raise ToxiproxyError.config(path, where, problem)
        unknown = set(entry) - {"name", "listen", "upstream", "enabled"}
        if unknown:
            raise ToxiproxyError.config(path, where, f"unknown field(s) {sorted(unknown)}")
        name, upstream = entry.get("name"), entry.get("upstream")
        if not isinstance(name, str) or not name:
            raise ToxiproxyError.config(path, f"{where}.name", "a non-empty string is required")
        if name in names:
            raise ToxiproxyError.config(path, f"{where}.name", f"{name!r} is used twice")
        if not isinstance(upstream, str) or not (upstream == "mock_server" or ":" in upstream):
            problem = f'expected "mock_server" or host:port, got {upstream!r}'
            raise ToxiproxyError.config(path, f"{where}.upstream", problem)
        if upstream != "mock_server" and upstream.rsplit(":", 1)[0] not in (
            "127.0.0.1",
            "localhost",
            "[::1]",
        ):
            problem = f"{upstream!r} is not on loopback (tests reach 127.0.0.1 only)"
            raise ToxiproxyError.config(path, f"{where}.upstream", problem)
        enabled = entry.get("enabled", True)
        if not isinstance(enabled, bool):
            problem = f"expected true or false, got {enabled!r}"
            raise ToxiproxyError.config(path, f"{where}.enabled", problem)
        names.add(name)
        specs.append(ProxySpec(name, str(entry.get("listen", "127.0.0.1:0")), upstream, enabled))
    return specs


@dataclass
class Proxy:
    """A proxy this harness created: its name on the server and where it listens."""

    name: str
    listen: str
    upstream: str
    toxics: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://{self.listen}"


class Toxiproxy:
    """The Toxiproxy API of one server, through toxiproxy-python, safe for several servers."""

    def __init__(self, url: str) -> None:
        host, _, port = url.removeprefix("http://").rstrip("/").rpartition(":")
        self.url = url
        self.host, self.port = host, int(port)

    @contextmanager
    def _api(self) -> Iterator[Any]:
        from requests import RequestException
        from toxiproxy import Toxiproxy as _Client
        from toxiproxy.api import APIConsumer
        from toxiproxy.exceptions import InvalidToxic, NotFound, ProxyExists

        with _LOCK:
            saved = (APIConsumer.host, APIConsumer.port)
            APIConsumer.host, APIConsumer.port = self.host, self.port
            try:
                yield _Client()
            except (RequestException, OSError) as exc:
                raise ToxiproxyError.api(self.url, exc) from None
            except (InvalidToxic, NotFound, ProxyExists) as exc:
                raise ToxiproxyError.api(self.url, exc) from None
            finally:
                APIConsumer.host, APIConsumer.port = saved

    def version(self) -> str:
        with self._api() as api:
            raw = api.version()
        text = raw.decode() if isinstance(raw, bytes) else str(raw)
        try:
            return str(json.loads(text).get("version", text))
        except (ValueError, AttributeError):
            return text

    def is_toxiproxy(self) -> bool:
        """True when Toxiproxy answers at this address (not some other loopback server)."""
        with self._api() as api:
            raw = api.version()
        try:
            return "version" in json.loads(raw.decode() if isinstance(raw, bytes) else str(raw))
        except (ValueError, TypeError):
            return False

    def proxies(self) -> dict[str, Any]:
        with self._api() as api:
            found = api.proxies()
        if not isinstance(found, dict):
            raise ToxiproxyError.not_toxiproxy(self.url)
        return dict(found)

    def create(
        self, name: str, upstream: str, listen: str = "127.0.0.1:0", enabled: bool = True
    ) -> Proxy:
        with self._api() as api:
            made = api.create(upstream=upstream, name=name, listen=listen, enabled=enabled)
            return Proxy(made.name, made.listen, made.upstream)

    def add_toxic(
        self,
        proxy: str,
        type: str,
        attributes: dict[str, Any],
        *,
        stream: str = "downstream",
        toxicity: float = 1.0,
        name: str | None = None,
    ) -> str:
        toxic = name or f"{type}_{stream}"
        with self._api() as api:
            api.get_proxy(proxy).add_toxic(
                type=type, attributes=attributes, stream=stream, toxicity=toxicity, name=toxic
            )
        return toxic

    def toxics(self, proxy: str) -> dict[str, Any]:
        with self._api() as api:
            return dict(api.get_proxy(proxy).toxics())

    def remove_toxic(self, proxy: str, toxic: str) -> None:
        with self._api() as api:
            api.get_proxy(proxy).destroy_toxic(toxic)

    def set_enabled(self, proxy: str, enabled: bool) -> None:
        with self._api() as api:
            p = api.get_proxy(proxy)
            p.enable() if enabled else p.disable()

    def destroy(self, proxy: str) -> None:
        with self._api() as api:
            api.get_proxy(proxy).destroy()

    # async versions: the same calls in a worker thread, never on the event loop
    async def acreate(self, *args: Any, **kwargs: Any) -> Proxy:
        return await asyncio.to_thread(self.create, *args, **kwargs)

    async def aadd_toxic(self, *args: Any, **kwargs: Any) -> str:
        return await asyncio.to_thread(self.add_toxic, *args, **kwargs)

    async def aremove_toxic(self, *args: Any, **kwargs: Any) -> None:
        await asyncio.to_thread(self.remove_toxic, *args, **kwargs)


class ProxySet:
    """The proxies of one test: created from specs, toxics tracked, all removed at the end.
    Every toxic applied is written to the test's fault log."""

    def __init__(self, api: Toxiproxy, suffix: str, log: FaultLog | None = None) -> None:
        self.api = api
        self.suffix = suffix
        self.proxies: dict[str, Proxy] = {}
        self.log = log

    def create(self, name: str, upstream: str, enabled: bool = True) -> Proxy:
        made = self.api.create(f"{name}-{self.suffix}", upstream, "127.0.0.1:0", enabled)
        self.proxies[name] = made
        return made

    def __getitem__(self, name: str) -> Proxy:
        if name not in self.proxies:
            raise ToxiproxyError.no_proxy(name, list(self.proxies))
        return self.proxies[name]

    def url(self, name: str) -> str:
        return self[name].url

    def add_toxic(
        self,
        name: str,
        type: str,
        attributes: dict[str, Any] | None = None,
        *,
        stream: str = "downstream",
        toxicity: float = 1.0,
        scenario: str | None = None,
    ) -> str:
        proxy = self[name]
        if type == "down":
            self.api.set_enabled(proxy.name, False)
            toxic = "down"
        else:
            toxic = self.api.add_toxic(
                proxy.name,
                type,
                dict(attributes or {}),
                stream=stream,
                toxicity=toxicity,
                name=f"{type}_{stream}_{len(proxy.toxics)}",
            )
        proxy.toxics.append(toxic)
        if self.log is not None:
            from harness.scenario import toxic_kind, toxic_traits

            params = {"proxy": name, "stream": stream, "toxicity": toxicity, **(attributes or {})}
            self.log.external(
                toxic_kind(type),
                params,
                scenario=scenario,
                path=proxy.name,
                traits=toxic_traits(type),
            )
        return toxic

    def apply(self, scenario: Scenario) -> None:
        """Add a scenario's toxics: each to its ``proxy``, or to every proxy of the test."""
        for toxic in scenario.toxics:
            for name in [toxic.proxy] if toxic.proxy else list(self.proxies):
                self.add_toxic(
                    name,
                    toxic.type,
                    toxic.attributes(),
                    stream=toxic.stream,
                    toxicity=toxic.toxicity,
                    scenario=scenario.name,
                )

    def clear_toxics(self) -> None:
        for proxy in self.proxies.values():
            for toxic in proxy.toxics:
                if toxic == "down":
                    self.api.set_enabled(proxy.name, True)
                else:
                    self.api.remove_toxic(proxy.name, toxic)
            proxy.toxics.clear()

    def close(self) -> None:
        errors: list[str] = []
        for proxy in list(self.proxies.values()):
            try:
                self.api.destroy(proxy.name)
            except ToxiproxyError as exc:
                errors.append(str(exc))
        self.proxies.clear()
        if errors:
            raise ToxiproxyError.cleanup(errors)


def apply_specs(proxies: ProxySet, specs: Sequence[ProxySpec], upstreams: dict[str, str]) -> None:
    for spec in specs:
        upstream = upstreams.get(spec.upstream, spec.upstream)
        proxies.create(spec.name, upstream, spec.enabled)


def read_project_config(root: str | Path) -> list[ProxySpec]:
    """The proxies of a project's ``toxiproxy.json`` (none when it has no such file)."""
    path = Path(root) / "toxiproxy.json"
    return load_config(path) if path.is_file() else []


def proxy_suffix(worker: str, nodeid: str) -> str:
    """A proxy-name suffix unique to one test on one xdist worker, the same on every run."""
    return f"{worker}-{derive_seed(0, nodeid) % 16**8:08x}"


@contextmanager
def project_proxies(
    server: ToxiproxyServer,
    root: str | Path,
    *,
    worker: str,
    nodeid: str,
    mock_server: Callable[[], Any],
    scenarios: Sequence[Scenario] = (),
    log: FaultLog | None = None,
) -> Iterator[ProxySet]:
    """The proxies of one pytest test, from the project's ``toxiproxy.json``: an upstream
    ``"mock_server"`` is the address of ``mock_server()`` (called only when needed)."""
    specs = read_project_config(root)
    upstreams = {}
    if any(spec.upstream == "mock_server" for spec in specs):
        upstreams["mock_server"] = mock_server().address
    suffix = proxy_suffix(worker, nodeid)
    with proxies_for_test(
        server, suffix, specs=specs, upstreams=upstreams, scenarios=scenarios, log=log
    ) as proxies:
        yield proxies


@contextmanager
def proxies_for_test(
    server: ToxiproxyServer | Toxiproxy | str,
    suffix: str,
    *,
    specs: Sequence[ProxySpec] = (),
    upstreams: dict[str, str] | None = None,
    scenarios: Sequence[Scenario] = (),
    log: FaultLog | None = None,
) -> Iterator[ProxySet]:
    """One test's proxies on a Toxiproxy server: created from ``specs`` (an upstream named
    in ``upstreams`` is replaced by its address), with the toxics of ``scenarios``; every
    toxic and proxy is removed on the way out, pass or fail. Refused on virtual time."""
    clock.refuse_virtual("Toxiproxy", messages.real_time_because("toxiproxy"))
    if isinstance(server, ToxiproxyServer):
        if not server.alive():
            raise ToxiproxyError.stopped(server.log_tail(5))
        server = server.url
    api = server if isinstance(server, Toxiproxy) else Toxiproxy(server)
    proxies = ProxySet(api, suffix, log)
    try:
        apply_specs(proxies, specs, upstreams or {})
        for scenario in scenarios:
            proxies.apply(scenario)
        yield proxies
    finally:
        try:
            proxies.clear_toxics()
        finally:
            proxies.close()
