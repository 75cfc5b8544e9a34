"""The Toxiproxy server process: its log lives in an anonymous file, read for errors."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from harness.errors import ToxiproxyError
from harness.toxiproxy import ToxiproxyServer


def test_a_server_that_exits_at_once_says_why_from_its_log(tmp_path: Path) -> None:
    binary = tmp_path / "server"
    binary.write_text(
        "#!/bin/sh\necho 'starting'\necho 'listen tcp 127.0.0.1: bind: address already in use'\n"
        "exit 3\n"
    )
    binary.chmod(0o755)
    before = set(Path(tempfile.gettempdir()).iterdir())
    server = ToxiproxyServer(binary)
    with pytest.raises(ToxiproxyError, match=r"exited with 3: starting\nlisten tcp .* in use"):
        server.start(timeout_s=30, attempts=2)
    assert server.process is None and getattr(server, "_log_file", None) is None
    # no named log file was ever left in the temporary folder
    after = set(Path(tempfile.gettempdir()).iterdir())
    assert not [p for p in after - before if p.name.startswith("toxiproxy-")]
