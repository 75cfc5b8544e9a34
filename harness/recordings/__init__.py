"""Recorded traffic as mock routes: VCR.py cassettes and HAR 1.2 files, with chaos on top.

``MockServer.from_cassette(path)`` / ``server.load_cassette(path)`` (and ``from_har`` /
``load_har``) are the usual doors; they call :func:`server_from_recording` and
:func:`load_recording`. :mod:`harness.recorder` writes cassettes through a recording proxy.

* :mod:`harness.recordings.formats`: reading both formats (no VCR.py import: see there
  why), writing cassettes byte for byte as VCR.py does;
* :mod:`harness.recordings.replay`: matching (VCR.py's ``match_on``), repeats, several
  hosts, roles;
* :mod:`harness.recordings.secrets`: what is a secret, and keeping it out of routes,
  journals and messages.
"""

from harness.recordings.formats import (
    Interaction,
    dump_cassette,
    read_cassette,
    read_har,
    read_recording,
)
from harness.recordings.replay import (
    DEFAULT_IGNORE_PARAMS,
    DEFAULT_MATCH_ON,
    MATCHERS,
    MatchOptions,
    RecordedRequest,
    load_marked,
    load_recording,
    server_from_recording,
    servers_by_host,
)

__all__ = [
    "DEFAULT_IGNORE_PARAMS",
    "DEFAULT_MATCH_ON",
    "MATCHERS",
    "Interaction",
    "MatchOptions",
    "RecordedRequest",
    "dump_cassette",
    "load_marked",
    "load_recording",
    "read_cassette",
    "read_har",
    "read_recording",
    "server_from_recording",
    "servers_by_host",
]
