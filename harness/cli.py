"""``chaos-harness``: the command line. Thin over the library: parse, call, print."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence

__all__ = ["main"]


def _cmd_version(args: argparse.Namespace) -> int:
    from importlib.metadata import version

    for dist in ("trading-chaos-harness", "aiohttp", "aioresponses", "pytest", "pandera"):
        try:
            print(f"{dist} {version(dist)}")
        except Exception:
            print(f"{dist} not installed")
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from harness.demo import run_demo

    return asyncio.run(run_demo())


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="chaos-harness",
        description="Chaos and resilience testing for trading API clients.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    sub.add_parser("version", help="print the versions of the harness and its parts").set_defaults(
        func=_cmd_version
    )
    sub.add_parser("demo", help="an example client meets the mock exchange").set_defaults(
        func=_cmd_demo
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
