"""The pytest plugin's vocabulary: command-line options, ini settings and markers.

Declared here as data, so the plugin only registers them and ``chaos-harness run`` knows
which of its arguments shape a run.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field
from typing import Any

from harness.errors import messages

__all__ = [
    "FIXTURES",
    "INI",
    "MARKERS",
    "OPTIONS",
    "Option",
    "positive_int",
    "register",
    "seed_arg",
]

FIXTURES = frozenset(
    {
        "mock_server",
        "mock_server_socket",
        "chaos",
        "chaos_seed",
        "scenario",
        "market_data",
        "mock_exchange",
        "toxiproxy",
    }
)
"""The plugin's fixtures: a test using any of them (or marked ``chaos``) uses the harness."""


def seed_arg(value: str) -> int:
    """``--chaos-seed``: a non-negative integer (decimal or 0x...)."""
    try:
        seed = int(value, 0)
    except ValueError:
        raise argparse.ArgumentTypeError(messages.bad_seed(value)) from None
    if seed < 0:
        raise argparse.ArgumentTypeError(messages.bad_seed(value))
    return seed


def positive_int(value: str) -> int:
    """A count of at least 1 (``--chaos-explore N``)."""
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(messages.not_a_positive_count(value))
    return number


@dataclass(frozen=True)
class Option:
    flag: str
    help: str
    kwargs: dict[str, Any] = field(default_factory=dict)


OPTIONS: tuple[Option, ...] = (
    Option(
        "--chaos-seed",
        "run seed for every fault and generator (default: a new random seed per run)",
        {"type": seed_arg, "metavar": "N"},
    ),
    Option(
        "--chaos-allow-network",
        "turn off the live-endpoint guard (tests using the harness may reach real hosts)",
        {"action": "store_true", "default": False},
    ),
    Option(
        "--chaos-log",
        "write the fault log of the whole run (every xdist worker) to PATH as JSON lines",
        {"metavar": "PATH"},
    ),
    Option(
        "--chaos-report",
        "write the resilience report (report.json, report.md, report.html) to DIR",
        {"metavar": "DIR"},
    ),
    Option(
        "--chaos-sweep",
        "run every chaos test under K seeds derived from the run seed",
        {"type": positive_int, "metavar": "K"},
    ),
    Option(
        "--chaos-shard",
        "run only shard I of N (a deterministic split of the tests, for CI jobs)",
        {"metavar": "I/N"},
    ),
    Option(
        "--chaos-strict",
        "fail (instead of skip) a test whose scenario fired no fault: it tested nothing",
        {"action": "store_true", "default": False},
    ),
    Option(
        "--chaos-clock",
        "clock of chaos tests not marked chaos(clock=...): auto (virtual time for async "
        "in-process tests, real time for sockets, threads and sync tests), virtual, real "
        "(default: the chaos_clock ini setting, else auto)",
        {"choices": ("auto", "virtual", "real"), "default": None},
    ),
    Option(
        "--chaos-require-toxiproxy",
        "a test needing Toxiproxy errors when no server is installed (default: it is "
        "skipped, saying how to install it)",
        {"action": "store_true", "default": False},
    ),
    Option(
        "--chaos-explore",
        "explore every selected chaos test with N drawn fault schedules (a test marked "
        "chaos_explore: N instead of its max_examples)",
        {"type": positive_int, "metavar": "N"},
    ),
    Option(
        "--chaos-scenarios",
        "scenarios for tests using the 'scenario' fixture: comma-separated names, files, "
        "folders, globs (from the rootdir) or tag:NAME (default: the chaos_scenarios ini "
        "setting, else the project's scenarios/ folder, else the built-in library)",
        {"metavar": "SPEC"},
    ),
)

MARKERS: tuple[str, ...] = (
    "chaos(seed=None, clock=None, epoch=None, idle_timeout=10, noop_cycles=42): a chaos test "
    "(select with -m chaos); seed= fixes its seed; clock='auto'|'virtual'|'real' its clock, "
    "epoch= the wall clock where virtual time starts",
    "chaos_scenario(*names_or_paths): load these scenarios into the test's chaos",
    "exchange(profile): the API profile of mock_exchange (generic, binance-spot)",
    "mock_server(backend='inprocess'): serve mock_server in-process or on a socket",
    "chaos_explore(max_examples=200, kinds=None, roles=None, paths=None, max_faults=3, "
    "invariants=None): run the test once per drawn fault schedule; a failure is shrunk and "
    "written to scenarios/found/",
    "chaos_cassette(path, backend='inprocess', match_on=None): serve a VCR.py cassette (or a "
    ".har file; relative to the test file or the rootdir) from the test's mock_server",
)


INI: tuple[tuple[str, str, str], ...] = (
    (
        "chaos_roles",
        "files mapping routes to roles (TOML or YAML, relative to the rootdir), beside "
        "[tool.chaos-harness.roles] in pyproject.toml",
        "args",
    ),
    (
        "chaos_scenarios",
        "the scenario set of tests using the 'scenario' fixture when --chaos-scenarios is not "
        "given: names, files, folders, globs (from the rootdir) or tag:NAME (default: the "
        "project's scenarios/ folder when it has scenarios, else the built-in library)",
        "args",
    ),
    (
        "chaos_found",
        "folder of the scenarios exploration found, relative to the rootdir "
        "(default: scenarios/found)",
        "string",
    ),
    (
        "chaos_clock",
        "clock of chaos tests: auto (virtual time where it can run, else real), virtual, real",
        "string",
    ),
)
"""ini settings: (name, help, type)."""


def register(parser: Any) -> None:
    """Add the options and ini settings to a pytest ``Parser``."""
    group = parser.getgroup("chaos", "trading-chaos-harness")
    for option in OPTIONS:
        group.addoption(option.flag, help=option.help, **option.kwargs)
    for name, text, kind in INI:
        parser.addini(name, text, type=kind, default=[] if kind == "args" else "")
