"""``chaos-harness doctor``: is this machine ready for chaos runs? Each check says how to fix it."""

from __future__ import annotations

import socket
from dataclasses import dataclass

from harness.deps import installed, minimum_versions

__all__ = ["Check", "run_checks"]


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""


def _version_tuple(text: str) -> tuple[int, ...]:
    parts = []
    for piece in text.split(".")[:3]:
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits) if digits else 0)
    return tuple(parts)


def check_packages() -> list[Check]:
    out = []
    wanted = minimum_versions()
    have_all = installed(list(wanted))
    for name, want in wanted.items():
        have = have_all[name]
        if have is None:
            out.append(Check(name, False, "not installed", f"pip install '{name}>={want}'"))
            continue
        ok = _version_tuple(have) >= _version_tuple(want or "0")
        out.append(
            Check(
                name,
                ok,
                f"{have} (needs >= {want})",
                "" if ok else f"pip install -U '{name}>={want}'",
            )
        )
    return out


def check_loopback() -> Check:
    try:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        return Check("127.0.0.1 ports", True, f"bound a free port ({port})")
    except OSError as exc:
        return Check(
            "127.0.0.1 ports", False, str(exc), "the socket backend and Toxiproxy need loopback"
        )


def check_toxiproxy() -> list[Check]:
    from harness.errors import ToxiproxyError
    from harness.toxiproxy import (
        TOXIPROXY_MODULE,
        TOXIPROXY_VERSION,
        Toxiproxy,
        ToxiproxyServer,
        find_binary,
    )

    fix = (
        f"chaos-harness toxiproxy install (go install {TOXIPROXY_MODULE}@{TOXIPROXY_VERSION} "
        "into your user cache), or set TOXIPROXY_BIN / TOXIPROXY_URL"
    )
    try:
        server = ToxiproxyServer.from_environment()
    except ToxiproxyError as exc:
        return [Check("Toxiproxy binary", False, str(exc).split(":")[0], fix)]
    where = server.url or str(server.binary or find_binary())
    checks = [Check("Toxiproxy binary", True, where)]
    try:
        url = server.start()
        found = Toxiproxy(url).version()
        label = f"{found} (built from {TOXIPROXY_VERSION} sources)" if found == "git" else found
        checks.append(Check("Toxiproxy server", True, f"version {label} at {url}"))
    except ToxiproxyError as exc:
        checks.append(Check("Toxiproxy server", False, str(exc), fix))
    finally:
        server.stop()
    return checks


def check_scenarios() -> Check:
    from harness.errors import ScenarioError
    from harness.scenario import builtin_dir, load_library

    try:
        library = load_library()
    except ScenarioError as exc:
        return Check(
            "scenario library",
            False,
            f"{len(exc.problems)} problems",
            f"chaos-harness validate {builtin_dir()}",
        )
    return Check("scenario library", True, f"{len(library)} scenarios valid ({builtin_dir()})")


def run_checks() -> list[Check]:
    return [*check_packages(), check_loopback(), *check_toxiproxy(), check_scenarios()]
