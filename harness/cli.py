"""``chaos-harness``: the command line. Thin over the library: parse, call, print."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from typing import Any

__all__ = ["main"]


def _cmd_version(args: argparse.Namespace) -> int:
    from harness.deps import installed
    from harness.errors import messages

    for dist, have in installed().items():
        print(messages.cli_version(dist, have))
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from harness.demo import run_demo

    return asyncio.run(run_demo())


def _cmd_validate(args: argparse.Namespace) -> int:
    from harness.errors import messages
    from harness.scenario import check_files, load_library

    if args.profile:
        return _validate_profiles(args.paths)
    checked = check_files(args.paths, reserved=load_library())
    if checked.files == 0:
        print(messages.cli_no_scenario_files(args.paths), file=sys.stderr)
        return 2
    for problem in checked.problems:
        print(problem)
    if checked.problems:
        bad = len({p.file for p in checked.problems})
        summary = messages.cli_validate_failed(bad, checked.files, len(checked.problems))
        print(summary, file=sys.stderr)
        return 2
    print(messages.cli_validate_ok(checked.files))
    return 0


def _validate_profiles(paths: Sequence[str]) -> int:
    from harness.errors import ScenarioError, messages
    from harness.exchange.profiles.custom import load_profile
    from harness.scenario import find_scenario_files

    files = find_scenario_files(paths)
    if not files:
        print(messages.cli_no_scenario_files(list(paths)), file=sys.stderr)
        return 2
    problems = 0
    for file in files:
        try:
            load_profile(file)
        except ScenarioError as exc:
            problems += len(exc.problems)
            for problem in exc.problems:
                print(problem)
    if problems:
        print(
            messages.cli_validate_failed(problems and len(files), len(files), problems),
            file=sys.stderr,
        )
        return 2
    print(messages.cli_profiles_ok(len(files)))
    return 0


def _library(paths: Sequence[str]) -> dict[str, Any] | None:
    """The scenarios of ``paths`` (default: the built-in library), or None after printing why."""
    from harness.errors import ScenarioError
    from harness.scenario import builtin_dir, load_library

    try:
        return load_library(paths or [builtin_dir()])
    except ScenarioError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        return None


def _cmd_list(args: argparse.Namespace) -> int:
    import json

    library = _library(args.paths)
    if library is None:
        return 2
    rows = [
        {
            "name": s.name,
            "kinds": s.kinds,
            "tags": list(s.tags),
            "file": s.source,
            "origin": s.origin,
        }
        for s in sorted(library.values(), key=lambda s: s.name)
    ]
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"{len(rows)} scenarios")
    table.add_column("name", no_wrap=True)
    table.add_column("fault kinds")
    table.add_column("tags")
    if args.verbose:
        table.add_column("file", overflow="fold")
    origins = any(row["origin"] for row in rows)
    if origins:  # found by exploration: which test it came from
        table.add_column("origin", overflow="fold")
    for row in rows:
        cells = [row["name"], ", ".join(row["kinds"]), ", ".join(row["tags"])]
        cells += [_short(row["file"])] if args.verbose else []
        table.add_row(*cells, *([row["origin"] or ""] if origins else []))
    Console().print(table)
    return 0


def _short(path: str | None) -> str:
    from pathlib import Path

    if path is None:
        return ""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd()))
    except ValueError:
        return Path(path).name


def _cmd_doctor(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from harness.doctor import run_checks

    checks = run_checks()
    table = Table(title="chaos-harness doctor")
    for column in ("check", "", "detail", "fix"):
        table.add_column(column, overflow="fold")
    for check in checks:
        table.add_row(
            check.name,
            "[green]ok[/green]" if check.ok else "[red]FAIL[/red]",
            check.detail,
            check.fix,
        )
    Console().print(table)
    return 0 if all(c.ok for c in checks) else 1


def _cmd_report(args: argparse.Namespace) -> int:
    from harness.errors import messages
    from harness.report import load_report, merge_reports, write_report

    paths = list(args.paths)
    merge = bool(paths) and paths[0] == "merge"
    if (merge and (not args.out or len(paths) < 2)) or (not merge and len(paths) != 1):
        print(messages.cli_report_usage(merge), file=sys.stderr)
        return 2
    try:
        reports = [load_report(p) for p in (paths[1:] if merge else paths)]
    except (OSError, ValueError, KeyError) as exc:
        print(messages.cli_cannot_read_report(exc), file=sys.stderr)
        return 2
    try:
        report = merge_reports(reports) if merge else reports[0]
        out = write_report(report, args.out or paths[0])
    except OSError as exc:
        print(messages.cli_cannot_write(args.out or paths[0], exc), file=sys.stderr)
        return 2
    print(messages.cli_report_written(out))
    return 0


def _cmd_scenarios(args: argparse.Namespace) -> int:
    from harness.report.catalogue import catalogue

    library = _library(args.paths)
    if library is None:
        return 2
    text = catalogue(library.values())
    if args.out:
        from pathlib import Path

        from harness.errors import messages

        try:
            Path(args.out).write_text(text, encoding="utf-8")
        except OSError as exc:
            print(messages.cli_cannot_write(args.out, exc), file=sys.stderr)
            return 2
        print(messages.cli_scenarios_written(len(library), args.out))
    else:
        sys.stdout.write(text)
    return 0


def _cmd_record(args: argparse.Namespace) -> int:
    from harness.errors import MockConfigError
    from harness.recorder import run_recorder

    try:
        run_recorder(args.upstream, args.out, args.port)
    except MockConfigError as exc:  # a bad --upstream
        print(exc, file=sys.stderr)
        return 2
    except OSError as exc:  # the port is taken
        print(exc, file=sys.stderr)
        return 1
    return 0


def _cmd_run(args: argparse.Namespace, pytest_args: list[str]) -> int:
    from harness.runner import run_pytest

    return run_pytest(pytest_args, report_dir=args.report)


def _cmd_explore(args: argparse.Namespace, pytest_args: list[str]) -> int:
    from harness.runner import run_explore

    return run_explore(args.nodeid, args.examples, args.seed, pytest_args)


def _cmd_toxiproxy(args: argparse.Namespace) -> int:
    from harness.errors import ToxiproxyError, messages
    from harness.toxiproxy import find_binary, install

    if args.action == "where":
        found = find_binary()
        print(found if found is not None else messages.toxiproxy_missing_short())
        return 0 if found is not None else 1
    try:
        binary = install()
    except ToxiproxyError as exc:
        print(exc, file=sys.stderr)
        return 1
    print(messages.toxiproxy_installed(binary))
    return 0


def _cmd_schema(args: argparse.Namespace) -> int:
    if args.what == "profile":
        from harness.exchange.profiles.custom import profile_schema_text

        sys.stdout.write(profile_schema_text())
        return 0
    from harness.scenario import schema_text

    sys.stdout.write(schema_text())
    return 0


def build_parser() -> argparse.ArgumentParser:
    from harness.options import positive_int, seed_arg

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
    validate = sub.add_parser("validate", help="check scenario files; exit 2 on any problem")
    validate.add_argument("paths", nargs="+", metavar="PATH", help="files or folders")
    validate.add_argument("--profile", action="store_true", help="the files are API profiles")
    validate.set_defaults(func=_cmd_validate)
    listing = sub.add_parser("list", help="list scenarios (default: the built-in library)")
    listing.add_argument("paths", nargs="*", metavar="PATH", help="files or folders")
    listing.add_argument("--json", action="store_true", help="print a JSON array")
    listing.add_argument("-v", "--verbose", action="store_true", help="show each file's path")
    listing.set_defaults(func=_cmd_list)
    report = sub.add_parser(
        "report",
        help="re-render a report, or merge shard reports",
        description="chaos-harness report DIR | chaos-harness report merge DIR... --out DIR",
    )
    report.add_argument("paths", nargs="+", metavar="DIR")
    report.add_argument("--out", metavar="DIR", default=None)
    report.set_defaults(func=_cmd_report)
    scenarios = sub.add_parser(
        "scenarios", help="scenarios docs [PATH...] [--out FILE]: a Markdown catalogue"
    )
    scenarios.add_argument("action", choices=["docs"])
    scenarios.add_argument("paths", nargs="*", metavar="PATH")
    scenarios.add_argument("--out", metavar="FILE", default=None)
    scenarios.set_defaults(func=_cmd_scenarios)
    run = sub.add_parser(
        "run",
        help="run pytest -m chaos -n auto with live progress and write the report",
        description="Any argument chaos-harness does not know goes to pytest.",
    )
    run.add_argument("--report", metavar="DIR", default="chaos-report")
    run.set_defaults(func=None)
    explore = sub.add_parser(
        "explore",
        help="explore one chaos test: drawn fault schedules, a failure shrunk to scenarios/found/",
        description="Any argument chaos-harness does not know goes to pytest.",
    )
    explore.add_argument("nodeid", metavar="NODEID", help="the test: tests/test_bot.py::test_x")
    explore.add_argument(
        "--examples", type=positive_int, default=200, metavar="N", help="schedules (default 200)"
    )
    explore.add_argument("--seed", type=seed_arg, default=None, metavar="S", help="the run seed")
    explore.set_defaults(func=None)
    record = sub.add_parser(
        "record", help="a recording proxy: forward to --upstream, write a VCR.py cassette"
    )
    record.add_argument("--upstream", required=True, metavar="URL")
    record.add_argument("--out", required=True, metavar="FILE", help="cassette.yaml (or .json)")
    record.add_argument("--port", type=int, default=0, help="listen port (default: a free one)")
    record.set_defaults(func=_cmd_record)
    toxi = sub.add_parser(
        "toxiproxy",
        help="toxiproxy install: build the Toxiproxy server with go install; toxiproxy where",
    )
    toxi.add_argument("action", choices=["install", "where"])
    toxi.set_defaults(func=_cmd_toxiproxy)
    sub.add_parser(
        "doctor", help="check dependencies, Toxiproxy, loopback ports and scenarios"
    ).set_defaults(func=_cmd_doctor)
    schema = sub.add_parser("schema", help="print the JSON Schema of scenario (or profile) files")
    schema.add_argument("what", nargs="?", choices=["scenario", "profile"], default="scenario")
    schema.set_defaults(func=_cmd_schema)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["run"]:
        args, rest = parser.parse_known_args(argv)
        return _cmd_run(args, rest)
    if argv[:1] == ["explore"]:
        args, rest = parser.parse_known_args(argv)
        return _cmd_explore(args, rest)
    args = parser.parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
