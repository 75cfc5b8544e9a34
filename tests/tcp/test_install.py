"""Toxiproxy for users who installed the wheel: `chaos-harness toxiproxy install` builds it
into their user cache with go install; without any Toxiproxy, tests needing it are skipped
with that command as the reason, or fail under --chaos-require-toxiproxy."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.usefixtures("clean_xdist_env")

NEEDS_TOXIPROXY = """
def test_through_a_proxy(toxiproxy_server):
    assert toxiproxy_server.url
"""


def no_toxiproxy(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A machine without any Toxiproxy (TOXIPROXY_BIN names a missing file, so neither this
    checkout's .tools/ nor the PATH is searched; the user cache is empty)."""
    monkeypatch.delenv("TOXIPROXY_URL", raising=False)
    monkeypatch.setenv("TOXIPROXY_BIN", str(tmp_path / "no-such-server"))
    monkeypatch.setenv("CHAOS_HARNESS_CACHE", str(tmp_path / "cache"))


def test_without_toxiproxy_a_test_is_skipped_saying_how_to_install_it(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    no_toxiproxy(monkeypatch, tmp_path)
    pytester.makepyfile(test_needs=NEEDS_TOXIPROXY)
    result = pytester.runpytest_subprocess("-p", "no:randomly", "-rs")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(
        ["*no Toxiproxy server: install it with `chaos-harness toxiproxy install`*"]
    )
    required = pytester.runpytest_subprocess("-p", "no:randomly", "--chaos-require-toxiproxy")
    required.assert_outcomes(errors=1)
    required.stdout.fnmatch_lines(["*ToxiproxyError: no Toxiproxy server*"])


@pytest.mark.skipif(shutil.which("go") is None, reason="needs the Go toolchain")
def test_install_builds_the_server_into_the_user_cache(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("TOXIPROXY_BIN", raising=False)
    env = {**os.environ, "CHAOS_HARNESS_CACHE": str(tmp_path / "cache")}
    done = subprocess.run(
        [sys.executable, "-m", "harness.cli", "toxiproxy", "install"],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    binary = tmp_path / "cache" / "toxiproxy" / "v2.12.0" / "server"
    assert f"Toxiproxy server installed: {binary}" in done.stdout
    version = subprocess.run([str(binary), "-version"], capture_output=True, text=True, timeout=30)
    assert version.returncode == 0 and "toxiproxy-server version" in version.stdout
    # and the harness finds it there (cwd outside any checkout)
    found = subprocess.run(
        [sys.executable, "-m", "harness.cli", "toxiproxy", "where"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert found.returncode == 0 and found.stdout.strip() == str(binary)


def test_install_without_go_says_so(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from harness.errors import ToxiproxyError
    from harness.toxiproxy import install

    with pytest.raises(ToxiproxyError, match="builds Toxiproxy from source with Go"):
        install(tmp_path, go="no-such-go-binary")


@pytest.mark.skipif(sys.platform != "linux", reason="the parent-death signal is Linux's")
def test_a_killed_run_leaves_no_toxiproxy_behind(tmp_path: Path) -> None:
    """SIGKILL to the process that started Toxiproxy (a crashed pytest, os._exit) takes
    the server with it, and its log was never a file with a name."""
    import signal
    import time

    script = tmp_path / "starter.py"
    script.write_text(
        "import sys, time\n"
        "from harness.toxiproxy import ToxiproxyServer\n"
        "server = ToxiproxyServer.from_environment()\n"
        "server.start()\n"
        "import os\n"
        "print(server.process.pid, os.readlink(f'/proc/{server.process.pid}/fd/1'), flush=True)\n"
        "time.sleep(600)\n"
    )
    starter = subprocess.Popen(
        [sys.executable, str(script)], stdout=subprocess.PIPE, text=True, cwd=Path.cwd()
    )
    try:
        pid, log = starter.stdout.readline().split(" ", 1)  # type: ignore[union-attr]
        child = int(pid)
        os.kill(child, 0)  # running
        # its log has no name on disk: nothing is left behind whatever kills them
        assert log.strip().endswith("(deleted)"), log
        starter.send_signal(signal.SIGKILL)
        starter.wait(timeout=30)
        deadline = time.monotonic() + 30  # generous: the kernel signals it at once
        while time.monotonic() < deadline:
            try:
                os.kill(child, 0)
            except ProcessLookupError:
                return
            # reap it if it is our grandchild turned zombie under init: it is not ours
            time.sleep(0.1)
        pytest.fail(f"Toxiproxy (pid {child}) outlived the process that started it")
    finally:
        if starter.poll() is None:
            starter.kill()
