"""Every exception of the harness, and every message a user reads.

One root, :class:`HarnessError`; one subclass per family, mixed with the builtin
it behaves like (a bad scenario is a ``ValueError``, a violated invariant an
``AssertionError``). Messages are built here and nowhere else, from facts the
caller passes in, so tests assert on types and facts rather than copied text.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "CheckFailure",
    "ExchangeReject",
    "FaultConfigError",
    "HarnessError",
    "HarnessWarning",
    "InvariantViolation",
    "LiveEndpointBlocked",
    "MarketDataError",
    "MissingEvidence",
    "MockConfigError",
    "RecordingError",
    "RecordingProblem",
    "ScenarioError",
    "ToxiproxyError",
    "UnmatchedRequestError",
    "UsageError",
    "Violation",
    "messages",
]


class HarnessError(Exception):
    """Root of every error the harness raises on purpose."""


class MockConfigError(HarnessError, ValueError):
    """A route, responder or server was defined with bad arguments."""

    def __init__(self, what: str, problem: str, hint: str | None = None) -> None:
        self.what = what
        self.problem = problem
        self.hint = hint
        text = f"{what}: {problem}"
        if hint:
            text += f" ({hint})"
        super().__init__(text)


class HarnessWarning(UserWarning):
    """Something the harness could not do, that does not fail the test."""


class UsageError(HarnessError, RuntimeError):
    """The harness was used in an order or a place where it cannot work."""


class FaultConfigError(HarnessError, ValueError):
    """A fault was built with an argument it cannot accept.

    The message names the fault kind, the argument and its value:
    ``latency: p99_ms=50 must be >= p50_ms=80``.
    """

    def __init__(self, kind: str, argument: str, value: object, expected: str) -> None:
        self.kind = kind
        self.argument = argument
        self.value = value
        self.expected = expected
        self.problems = [(argument, value, expected)]
        super().__init__(self._line(kind, argument, value, expected))

    @staticmethod
    def _line(kind: str, argument: str, value: object, expected: str) -> str:
        if not argument:  # a rule about several arguments together
            return f"{kind}: {expected}"
        return f"{kind}: {argument}={value!r} {expected}"

    @classmethod
    def from_problems(
        cls, kind: str, problems: Sequence[tuple[str, object, str]]
    ) -> FaultConfigError:
        """One error for several bad arguments, each named with its value."""
        argument, value, expected = problems[0]
        error = cls(kind, argument, value, expected)
        error.problems = list(problems)
        if len(problems) > 1:
            error.args = ("; ".join(cls._line(kind, a, v, e) for a, v, e in problems),)
        return error


@dataclass(frozen=True)
class ScenarioProblem:
    """One mistake in a scenario file, with its place."""

    file: str
    line: int | None
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        field = f" {self.field}:" if self.field else ""
        return f"{where}:{field} {self.message}"


class ScenarioError(HarnessError, ValueError):
    """A scenario file (or dict), or another YAML file of the harness (an API profile), is
    not valid. Carries every problem found, not the first."""

    def __init__(self, problems: Sequence[ScenarioProblem], what: str = "scenario") -> None:
        self.problems = list(problems)
        self.what = what
        head = f"{messages.plural(len(self.problems), 'problem')} in {what}"
        super().__init__(head + ":\n" + "\n".join(f"  {p}" for p in self.problems))


@dataclass(frozen=True)
class CheckFailure:
    """One failed check of a market-data contract: which rows, with which values."""

    column: str
    check: str
    rows: list[int]
    values: list[str]
    count: int

    def __str__(self) -> str:
        what = f"{self.column}: {self.check}" if self.column else self.check
        shown = self.rows[:10]
        rows = ", ".join(str(r) for r in shown) + (
            f" (+{len(self.rows) - 10} more)" if len(self.rows) > 10 else ""
        )
        values = "; ".join(self.values[:10])
        head = f"{what} failed for {self.count} value{'s' if self.count != 1 else ''}"
        return head + (f" at rows {rows}" if rows else "") + (f": {values}" if values else "")


class MarketDataError(HarnessError, ValueError):
    """Market data failed validation at the edge of the client.

    Names the source and lists every failed check with its rows and values (ten at most
    each), so a pytest failure says what was wrong without a megabyte of data.
    """

    def __init__(
        self, source: str | None, schema: str, rows: int, failures: Sequence[CheckFailure]
    ) -> None:
        self.source = source
        self.schema = schema
        self.rows = rows
        self.failures = list(failures)
        lines = [
            f"{_market_data(source)} failed {schema} validation ({rows} rows): "
            f"{messages.plural(len(self.failures), 'check')} failed"
        ]
        lines.extend(f"  - {failure}" for failure in self.failures)
        super().__init__("\n".join(lines))

    @classmethod
    def unreadable(cls, source: str | None, schema: str, reason: str) -> MarketDataError:
        """The payload could not even be read as rows (not JSON, not a list, mixed rows)."""
        error = cls(
            source, schema, 0, [CheckFailure("", "readable payload", [], [reason[:200]], 1)]
        )
        error.args = (f"{_market_data(source)} is not readable as {schema} rows: {reason[:200]}",)
        return error


def _market_data(source: str | None) -> str:
    return f"market data from {source}" if source else "market data"


class ExchangeReject(HarnessError, ValueError):
    """The fake exchange refuses a request; profiles answer it in their API's error format."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        self.code = code
        self.message = message
        self.status = status
        super().__init__(f"{code}: {message}")


@dataclass(frozen=True)
class Violation:
    """One way an invariant did not hold, with the evidence (journal entries, orders, faults)."""

    invariant: str
    message: str
    evidence: list[Any]

    def __str__(self) -> str:
        import json

        lines = [f"{self.invariant}: {self.message}"]
        for item in self.evidence[:6]:
            text = json.dumps(item, default=str, sort_keys=True)
            lines.append("      " + (text if len(text) <= 300 else text[:297] + "..."))
        return "\n".join(lines)


class InvariantViolation(HarnessError, AssertionError):
    """A trading invariant did not hold after a chaos test; lists every violation."""

    def __init__(self, violations: Sequence[Violation]) -> None:
        self.violations = list(violations)
        count = len(self.violations)
        names = sorted({v.invariant for v in self.violations})
        head = f"{count} invariant violation{'s' if count != 1 else ''} ({', '.join(names)}):"
        super().__init__("\n".join([head, *(f"  - {v}" for v in self.violations)]))


class MissingEvidence(HarnessError, AssertionError):
    """A chaos test named invariants it gave no evidence for: it fails rather than pass
    untested. Says which evidence is missing and how to provide it."""

    def __init__(self, lacking: dict[str, list[str]], how: dict[str, str]) -> None:
        self.lacking = dict(lacking)
        lines = [
            f"{messages.plural(len(lacking), 'invariant')} of this test's scenarios could not "
            "be checked: the test gave them no evidence"
        ]
        for name, missing in lacking.items():
            lines.append(f"  - {name} needs " + "; ".join(f"{m}: {how[m]}" for m in missing))
        lines.append("  (or mark the invariant optional in the scenario: {name: {optional: true}})")
        super().__init__("\n".join(lines))


class ToxiproxyError(HarnessError, RuntimeError):
    """The Toxiproxy server or one of its proxies could not be used."""

    @classmethod
    def not_installed(cls, module: str, version: str) -> ToxiproxyError:
        return cls(messages.toxiproxy_missing(module, version))

    @classmethod
    def did_not_start(
        cls, url: str, timeout_s: float, exit_code: int | None, log: str
    ) -> ToxiproxyError:
        if exit_code is not None:
            return cls(f"the Toxiproxy server exited with {exit_code}: {log}")
        return cls(f"the Toxiproxy server at {url} did not answer in {timeout_s} s")

    @classmethod
    def stopped(cls, log: str) -> ToxiproxyError:
        return cls(f"the Toxiproxy server of this session stopped: {log}")

    @classmethod
    def api(cls, url: str, exc: BaseException) -> ToxiproxyError:
        return cls(f"Toxiproxy at {url}: {type(exc).__name__}: {exc}")

    @classmethod
    def not_toxiproxy(cls, url: str) -> ToxiproxyError:
        return cls(f"{url} did not answer as a Toxiproxy server")

    @classmethod
    def no_proxy(cls, name: str, have: Sequence[str]) -> ToxiproxyError:
        return cls(f"no proxy {name!r} in this test; have {sorted(have)}")

    @classmethod
    def cleanup(cls, problems: Sequence[str]) -> ToxiproxyError:
        return cls("; ".join(problems))

    @classmethod
    def config(cls, path: object, where: str, problem: str) -> ToxiproxyError:
        """A mistake in toxiproxy.json: the file, the entry and field, what was expected."""
        return cls(f"{path}: {where}{': ' if where else ''}{problem}")


class LiveEndpointBlocked(HarnessError, RuntimeError):
    """A test that uses the harness tried to reach a host that is neither mocked nor loopback.

    Deliberately not an ``OSError``: a client's retry loop around network errors must
    not swallow it and keep trying to reach a real exchange.
    """

    def __init__(self, host: str, port: int | None = None, via: str = "socket") -> None:
        self.host = host
        self.port = port
        self.via = via
        where = f"{host}:{port}" if port is not None else host
        if is_ip_address(host):  # an address, not a name: a mock host does not fit
            fix = (
                "serve the mock on 127.0.0.1 (the mock_server_socket fixture, or "
                "`async with server.serve() as url`) and point the client at its URL"
            )
        else:
            fix = f'mock this host with MockServer("https://{host}")'
        super().__init__(
            f"live endpoint blocked: a test using trading-chaos-harness tried to reach "
            f"{where} ({via}). Only mocked routes and 127.0.0.1 are reachable while the "
            f"harness is active; {fix}, or pass --chaos-allow-network to turn the guard off."
        )


def is_ip_address(host: str) -> bool:
    """An IP address (v4, v6, bracketed or not) rather than a host name."""
    import ipaddress

    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


@dataclass(frozen=True)
class RouteMiss:
    """Why one registered route did not match a request (for UnmatchedRequestError)."""

    route: str
    reasons: tuple[str, ...]


class UnmatchedRequestError(HarnessError, AssertionError):
    """A request reached a MockServer but no route matched it.

    Never a network error: a missing route must not look like injected chaos.
    """

    def __init__(self, method: str, url: str, misses: Sequence[RouteMiss]) -> None:
        self.method = method
        self.url = url
        self.misses = list(misses)
        lines = [f"no route matches {method} {url}"]
        if not self.misses:
            lines.append("  the server has no routes registered")
        else:
            lines.append("  registered routes, closest first:")
            for miss in self.misses:
                lines.append(f"    {miss.route}  <- {'; '.join(miss.reasons)}")
        super().__init__("\n".join(lines))

    @classmethod
    def at_teardown(cls, errors: Sequence[UnmatchedRequestError]) -> UnmatchedRequestError:
        """One error for every unmatched request of a test, raised when the test ends.

        A client that catches every exception would otherwise hide a missing route.
        """
        first = errors[0]
        error = cls(first.method, first.url, first.misses)
        count = len(errors)
        error.args = (
            f"{count} request{'s' if count != 1 else ''} reached the mock server without a "
            f"matching route (the client may have swallowed the error); first:\n{first}",
        )
        return error


@dataclass(frozen=True)
class RecordingProblem:
    """One thing wrong in a recording: the interaction's index, the field (a path such as
    ``interactions[3].response.status.code``) and what is wrong. Never a recorded value
    that could be a secret."""

    index: int | None
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message


class RecordingError(HarnessError, ValueError):
    """A VCR.py cassette or a HAR file cannot be loaded; nothing of it was loaded.

    Names the file and, for each bad interaction, its index, the field and what is wrong.
    """

    def __init__(self, file: object, problems: Sequence[RecordingProblem]) -> None:
        self.file = str(file)
        self.problems = list(problems)
        first = self.problems[0]
        self.index = first.index
        self.field = first.field
        self.problem = first.message
        if len(self.problems) == 1:
            text = f"{self.file}: {first}"
        else:
            shown = [f"  {p}" for p in self.problems[:20]]
            if len(self.problems) > 20:
                shown.append(f"  (+{len(self.problems) - 20} more)")
            head = f"{self.file}: {messages.plural(len(self.problems), 'problem')}:"
            text = "\n".join([head, *shown])
        super().__init__(text)


class messages:
    """Message builders for text that is not an exception (warnings, report lines)."""

    @staticmethod
    def wrapped_payload(keys: Sequence[str]) -> str:
        listed = ", ".join(repr(k) for k in keys)
        hint = f": pass wrapper={keys[0]!r} (lists under {listed})" if keys else ""
        return f"expected a DataFrame, a list of objects or a list of rows, got an object{hint}"

    @staticmethod
    def alias_path(base_path: str) -> str:
        return f"an alias must have the base URL's path ({base_path or '/'!r})"

    @staticmethod
    def unknown_role(role: str, near: Sequence[str], known: Sequence[str]) -> str:
        hint = f" (did you mean {near[0]!r}?)" if near else ""
        return f"unknown role {role!r}{hint}; roles: {', '.join(known)}"

    @staticmethod
    def bad_role_map() -> str:
        return 'roles must be a mapping of "METHOD /path" (or "/path") to a role name'

    @staticmethod
    def cannot_read(exc: BaseException) -> str:
        return f"cannot read: {exc}"

    @staticmethod
    def name_taken(name: str, by: str | None) -> str:
        return f"scenario name {name!r} is also used by {by or 'a scenario built in Python'}"

    @staticmethod
    def plural(count: int, noun: str) -> str:
        """``1 problem``, ``2 problems``."""
        return f"{count} {noun}{'' if count == 1 else 's'}"

    # -- the command line ----------------------------------------------------------------
    @staticmethod
    def cli_no_scenario_files(paths: Sequence[str]) -> str:
        return f"no scenario files (*.yaml, *.yml) in {' '.join(paths)}"

    @staticmethod
    def cli_validate_failed(
        bad_files: int, files: int, problems: int, noun: str = "scenario file"
    ) -> str:
        return (
            f"{bad_files} of {messages.plural(files, noun)} invalid, "
            f"{messages.plural(problems, 'problem')}"
        )

    @staticmethod
    def cli_validate_ok(files: int) -> str:
        return f"{messages.plural(files, 'scenario')} valid"

    @staticmethod
    def cli_profiles_ok(files: int) -> str:
        return f"{messages.plural(files, 'profile')} valid"

    @staticmethod
    def cli_version(dist: str, have: str | None) -> str:
        return f"{dist} {have or 'not installed'}"

    @staticmethod
    def cli_report_usage(merge: bool) -> str:
        if merge:
            return "usage: chaos-harness report merge DIR... --out DIR"
        return "usage: chaos-harness report DIR  (re-renders report.md and report.html)"

    @staticmethod
    def cli_cannot_read_report(exc: BaseException) -> str:
        return f"chaos-harness report: cannot read a report: {exc}"

    @staticmethod
    def cli_report_written(out: object) -> str:
        return f"report written to {out}/ (report.json, report.md, report.html)"

    @staticmethod
    def cli_scenarios_written(count: int, out: object) -> str:
        return f"{messages.plural(count, 'scenario')} written to {out}"

    @staticmethod
    def cli_run_banner(args: Sequence[str]) -> str:
        return f"[bold]chaos-harness run[/bold]: pytest {' '.join(args)}"

    @staticmethod
    def cli_run_report(report_dir: str) -> str:
        return f"report: {report_dir}/report.html, report.md, report.json"

    @staticmethod
    def thread_did_not_start(error: BaseException | None) -> str:
        return f"the mock server thread did not start: {error!r}"

    @staticmethod
    def seed_header(seed: int, source: str) -> str:
        return f"chaos seed: {seed} ({source}; replay with --chaos-seed {seed})"

    @staticmethod
    def failure_section(run_seed: int, test_seed: int, replay: str) -> str:
        return f"run seed: {run_seed}   test seed: {test_seed}\nreplay:   {replay}"

    @staticmethod
    def not_called(routes: Sequence[str]) -> str:
        return "routes registered but never called:\n" + "\n".join(f"  {r}" for r in routes)

    @staticmethod
    def bad_seed(value: str) -> str:
        return f"--chaos-seed: {value!r} is not a non-negative integer"

    @staticmethod
    def scenario_fixture_unparametrized(nodeid: str) -> str:
        return (
            f"{nodeid}: the 'scenario' fixture is parametrized by the plugin; request it as a "
            "test argument (not through getfixturevalue) so --chaos-scenarios can apply"
        )

    @staticmethod
    def inert_scenarios(
        names: Sequence[str], targets: dict[str, list[str]], called: Sequence[str]
    ) -> str:
        lines = [
            f"nothing was tested: scenario {', '.join(repr(n) for n in names)} fired no fault "
            "in this test (pass --chaos-strict to make this a failure)"
        ]
        for name in names:
            lines.append(f"  {name} targets: {'; '.join(targets.get(name, [])) or 'nothing'}")
        lines.append(
            "  the client called: " + ("; ".join(called) if called else "nothing (no request)")
        )
        lines.append(
            "  give your routes roles (server.get(path, role=...), or [tool.chaos-harness.roles] "
            "in pyproject.toml) so role-based scenarios find them"
        )
        return "\n".join(lines)

    @staticmethod
    def bad_backend(value: str) -> str:
        return f"mock_server(backend={value!r}): expected 'inprocess' or 'socket'"

    @staticmethod
    def bad_shard(value: str) -> str:
        return f"--chaos-shard: {value!r} is not I/N with 1 <= I <= N (for example 2/4)"

    @staticmethod
    def replay(nodeid: str, run_seed: int, extra: Sequence[str] = ()) -> str:
        """The command that runs a test again with the same faults."""
        return " ".join([f"pytest '{nodeid}' --chaos-seed {run_seed}", *extra])

    @staticmethod
    def not_served(base_url: str) -> str:
        return (
            f"MockServer({base_url!r}) is not served on a socket (use serve() or serve_in_thread())"
        )

    @staticmethod
    def responder_raised(exc: BaseException) -> str:
        return f"the responder raised {exc!r}"

    # -- what a response may carry (harness.mock.headers) -----------------------------------
    @staticmethod
    def header_name_illegal(name: object) -> str:
        return f"header name {name!r} is not an HTTP token (letters, digits, !#$%&'*+-.^_`|~)"

    @staticmethod
    def headers_not_pairs(headers: object, exc: BaseException) -> str:
        return f"headers={headers!r:.80}: {exc} (give a mapping or (name, value) pairs)"

    @staticmethod
    def header_framing(name: str) -> str:
        return (
            f"header {name!r} is the server's: the body is sent as given, framed by the backend "
            "(Content-Length is set from it); give the plain body, or cut it with the truncate "
            "fault"
        )

    @staticmethod
    def header_value_illegal(name: str, value: object, char: str | None) -> str:
        if char is None:
            return (
                f"header {name!r}: the value {value!r:.60} is a {type(value).__name__}, not a str"
            )
        return (
            f"header {name!r}: the value {value!r:.60} holds {char!r}; a header value holds no "
            "control character but tab (CR or LF would split the answer on a socket)"
        )

    @staticmethod
    def reason_illegal(reason: object, char: str | None) -> str:
        if char is None:
            return f"reason={reason!r:.60} is a {type(reason).__name__}, not a str"
        return f"reason={reason!r:.60} holds {char!r}; a reason phrase holds no control character"

    @staticmethod
    def invalid_answer(route: str, problem: str) -> str:
        """What the client reads (500, in the API's error format) on both backends."""
        return f"route {route} answered what cannot be sent: {problem}. The test fails at teardown"

    @staticmethod
    def invalid_answers(count: int, first: str) -> str:
        return (
            f"{messages.plural(count, 'request')} got a 500 because the answer could not be "
            f"sent (the client may have swallowed it); first: {first}"
        )

    @staticmethod
    def scenario_loaded_twice(name: str) -> str:
        return f"scenario {name!r} is already loaded into this chaos"

    # -- invariants -------------------------------------------------------------------------
    @staticmethod
    def unknown_evidence(name: str, unknown: Sequence[str], known: Sequence[str]) -> str:
        return (
            f"invariant {name!r} needs unknown evidence {list(unknown)}; known: {', '.join(known)}"
        )

    @staticmethod
    def invariant_registered_twice(name: str) -> str:
        return f"invariant {name!r} is already registered"

    @staticmethod
    def bad_invariant_argument(name: str, argument: str, value: object, expected: str) -> str:
        return f"{name}: {argument}={value!r} must be {expected}"

    @staticmethod
    def bad_invariant_spec(spec: object) -> str:
        return f"an invariant is a name, or one key {{name: {{arguments}}}}; got {spec!r}"

    @staticmethod
    def unknown_invariant(name: str, near: Sequence[str], known: Sequence[str]) -> str:
        hint = f" (did you mean {near[0]!r}?)" if near else ""
        return f"unknown invariant {name!r}{hint}; known: {', '.join(known)}"

    @staticmethod
    def bad_invariant_arguments(name: str, allowed: Sequence[str], unknown: Sequence[str]) -> str:
        return (
            f"invariant {name!r} takes {', '.join(allowed) or 'no arguments'}; got {list(unknown)}"
        )

    @staticmethod
    def invariant_needs(name: str, missing: Sequence[str], how: dict[str, str]) -> str:
        return f"invariant {name!r} needs " + "; ".join(f"{m}: {how[m]}" for m in missing)

    # -- recordings: cassettes, HAR files, the recording proxy ----------------------------
    @staticmethod
    def recording_not_parsed(fmt: str, detail: str) -> str:
        return f"not valid {fmt}: {detail}"

    @staticmethod
    def recording_expected(expected: str, got: object) -> str:
        """A field of the wrong type or shape: names the type found, never the value."""
        kind = "null" if got is None else type(got).__name__
        return f"expected {expected}, got {kind}"

    @staticmethod
    def recording_missing(key: str) -> str:
        return f"missing {key!r}"

    @staticmethod
    def recording_bad_status(shown: str) -> str:
        return f"status {shown} is not an HTTP status (an int in 100..599)"

    @staticmethod
    def recording_version(shown: str, known: str) -> str:
        return f"unknown version {shown} (this reader knows {known})"

    @staticmethod
    def recording_pre_v1() -> str:
        return (
            "a list at the top level is the cassette format of VCR.py before 1.0; "
            "re-record it with a current VCR.py"
        )

    @staticmethod
    def recording_bad_url() -> str:
        return "not an absolute http(s) URL with a host"

    @staticmethod
    def recording_bad_base64() -> str:
        return "content.encoding is 'base64' but content.text is not valid base64"

    @staticmethod
    def recording_unknown_encoding(encoding: str) -> str:
        return f"unknown content.encoding {encoding!r} (HAR 1.2 knows 'base64', or none)"

    @staticmethod
    def recording_outside_base(path: str, base_path: str) -> str:
        return f"path {path} lies outside the server's base path {base_path}"

    @staticmethod
    def recording_bad_match_on(unknown: Sequence[str], known: Sequence[str]) -> str:
        return f"unknown matcher {', '.join(map(repr, unknown))}; matchers: {', '.join(known)}"

    @staticmethod
    def recording_secrets(file: str, fields: Sequence[str]) -> str:
        return (
            f"{file} holds unredacted secrets in {', '.join(fields)}: the harness keeps them "
            "out of journals, reports and errors, but the file itself should not be shared; "
            "replace the values with '***' (or re-record with `chaos-harness record`)"
        )

    @staticmethod
    def recorder_listening(url: str, upstream: str, out: object) -> str:
        return (
            f"recording proxy on {url} -> {upstream}; writing {out} after every interaction "
            "(Ctrl-C to stop)"
        )

    @staticmethod
    def recorder_stopped(count: int, out: object) -> str:
        return f"{messages.plural(count, 'interaction')} recorded in {out}"

    @staticmethod
    def recorder_upstream_failed(upstream: str, exc: BaseException) -> str:
        return f"the recording proxy could not reach {upstream}: {type(exc).__name__}: {exc}"

    @staticmethod
    def recorder_binary_json(method: str, path: str) -> str:
        return (
            f"{method} {path} not recorded: its body is not UTF-8 and a JSON cassette cannot "
            "hold bytes (VCR.py's JSON serializer neither); record to a .yaml cassette"
        )

    @staticmethod
    def unmatched_answer(method: str, target: str) -> str:
        """What a socket client reads (in the API's error format) when no route matched."""
        return f"no route matches {method} {target}; the test fails at teardown"

    @staticmethod
    def cassette_marker_needs_path() -> str:
        return "chaos_cassette(path, ...): give the recording's path (a cassette or a .har file)"

    # -- the clock ----------------------------------------------------------------------------
    @staticmethod
    def virtual_time_refused(what: str, why: str) -> str:
        return (
            f"{what} needs real time, and this test runs on virtual time: {why}. Use the "
            "in-process backend (mock_server, server.intercept()), or run the test on real "
            "time: @pytest.mark.chaos(clock='real')"
        )

    @staticmethod
    def virtual_time_impossible(nodeid: str, source: str, reason: str) -> str:
        return (
            f"{nodeid}: virtual time was asked for ({source}) but this test cannot run on it: "
            f"{reason}. Mark it @pytest.mark.chaos(clock='real'), or use clock='auto' to run "
            "such tests on real time by themselves"
        )

    @staticmethod
    def virtual_time_twice() -> str:
        return "a virtual clock is already on in this process: one test, one clock"

    @staticmethod
    def virtual_time_looptime_on() -> str:
        return (
            "looptime is already on for this loop (--looptime or @pytest.mark.looptime): use "
            "@pytest.mark.chaos(clock='virtual') alone, it turns looptime on itself"
        )

    @staticmethod
    def bad_clock(value: object, source: str) -> str:
        near = difflib.get_close_matches(str(value), ("auto", "virtual", "real"), n=1)
        hint = f" (did you mean {near[0]!r}?)" if near else ""
        return f"{source}: clock {value!r} is not one of 'auto', 'virtual', 'real'{hint}"

    @staticmethod
    def bad_marker_args(
        marker: str, nodeid: str, unknown: Iterable[str], known: Sequence[str]
    ) -> str:
        return (
            f"{nodeid}: @pytest.mark.{marker} does not take {', '.join(sorted(unknown))} "
            f"(it takes {', '.join(known)})"
        )

    @staticmethod
    def idle_on_virtual_time(idle_s: float) -> str:
        return (
            f"virtual time: for {idle_s:g} s of real time no task had a timer and no I/O came, "
            "so nothing could ever move the clock (a client awaiting a hung request with no "
            "timeout of its own?). Give the client a timeout, or raise "
            "chaos(clock='virtual', idle_timeout=...) if a thread outside the loop is working"
        )

    @staticmethod
    def real_time_because(kind: str, name: str = "") -> str:
        """Why a test must run on real time (shown when virtual time is asked for)."""
        return {
            "socket": "its mock_server is served from a thread on a real 127.0.0.1 socket",
            "toxiproxy": "it uses Toxiproxy, another process on a real socket",
            "toxics": f"scenario {name!r} has toxics (Toxiproxy: another process)",
            "streams": f"scenario {name!r} has WebSocket streams (served on a real socket)",
        }[kind]

    @staticmethod
    def real_socket_io() -> str:
        return (
            "the I/O of a real socket cannot be fast-forwarded (looptime would jump past it "
            "to the client's next timeout)"
        )

    # -- exploration --------------------------------------------------------------------------
    @staticmethod
    def explore_unknown_kind(kind: str, near: Sequence[str], known: Sequence[str]) -> str:
        hint = f" (did you mean {near[0]!r}?)" if near else ""
        return f"chaos_explore: no fault kind {kind!r} to explore{hint}; kinds: {', '.join(known)}"

    @staticmethod
    def explore_bad_option(name: str, value: object, allowed: str) -> str:
        return f"chaos_explore: {name}={value!r} is not allowed ({allowed})"

    @staticmethod
    def explore_needs(nodeid: str, what: str) -> str:
        return (
            f"{nodeid}: exploration needs {what}: it runs the test body once per drawn fault "
            "schedule on the test's chaos engine (an async test using the chaos fixture)"
        )

    @staticmethod
    def explore_baseline_fails(nodeid: str, broke: str) -> str:
        return (
            f"{nodeid}: the test fails without any fault ({broke}), so exploration cannot "
            "tell what a fault breaks: make it pass on its own first"
        )

    @staticmethod
    def explore_description(
        test: str, seed: int, first: int, examples: int, broke: str, replay: str, path: str
    ) -> str:
        return (
            f"Found by exploring {test} (test seed {seed}): example {first} failed, and "
            f"after {examples} examples (shrinking included) this is the smallest schedule "
            "that still fails. "
            f"What broke: {broke}. Replay: {replay} (this file is replayed first), or load "
            f"it in any chaos test: @pytest.mark.chaos_scenario({path!r})."
        )

    @staticmethod
    def explore_found(path: str, broke: str, faults: int, first: int, examples: int) -> str:
        return (
            f"exploration found a failure at example {first}, shrunk to "
            f"{messages.plural(faults, 'fault')} in {examples} examples: {broke}\n"
            f"minimal scenario written to {path}"
        )

    @staticmethod
    def explore_regression(path: str, broke: str) -> str:
        return f"a scenario exploration found before still fails: {path}\n{broke}"

    @staticmethod
    def explore_unchecked(unchecked: Mapping[str, Sequence[str]]) -> str:
        parts = [f"{name} (needs {', '.join(what)})" for name, what in unchecked.items()]
        return "exploration could not judge: " + "; ".join(parts)

    @staticmethod
    def explore_progress(examples: int, max_examples: int, failing: int, event: str) -> str:
        state = {
            "fail": "failed",
            "shrink": "shrinking",
            "pass": "ok",
            "skip": "skipped",
            "done": "done",
        }[event]
        return f"example {examples}/{max_examples}: {state}" + (
            f" ({messages.plural(failing, 'failing example')})" if failing else ""
        )

    @staticmethod
    def cli_explore_banner(nodeid: str, examples: int, seed: int | None) -> str:
        seed_text = f"run seed {seed}" if seed is not None else "a new run seed"
        return f"exploring {nodeid}: up to {examples} fault schedules, {seed_text}"

    @staticmethod
    def not_a_positive_count(value: object) -> str:
        return f"{value!r} is not a positive whole number"

    @staticmethod
    def terminated() -> str:
        return "SIGTERM: the run was stopped; fixtures stop their servers and the report is written"

    @staticmethod
    def test_crashed(nodeid: str) -> str:
        return (
            f"{nodeid} never finished: the process running it died (os._exit, a signal, a "
            "crashed xdist worker); its replay command runs it alone"
        )

    @staticmethod
    def faults_shown(shown: int, total: int) -> str:
        return f"the latest {shown} of {total} faults (counts are exact; --chaos-log has every one)"

    @staticmethod
    def scenario_set(count: int, source: str) -> str:
        return f"chaos scenarios: {messages.plural(count, 'scenario')} from {source}"

    @staticmethod
    def scenario_source_header(source: str) -> str:
        return f"chaos scenarios (the scenario fixture): {source}"

    @staticmethod
    def expected_unmatched(count: int | None, got: int) -> str:
        wanted = (
            "an unmatched request" if count is None else messages.plural(count, "unmatched request")
        )
        return f"expect_unmatched(): expected {wanted}, and {got} came"

    # -- Toxiproxy ------------------------------------------------------------------------------
    @staticmethod
    def toxiproxy_missing(module: str, version: str) -> str:
        return (
            "no Toxiproxy server: install it with `chaos-harness toxiproxy install` (go "
            f"install {module}@{version} into your user cache; in a checkout of the harness, "
            "`make toxiproxy`), or set TOXIPROXY_BIN to its binary or TOXIPROXY_URL to a "
            "running server"
        )

    @staticmethod
    def toxiproxy_skipped(module: str, version: str) -> str:
        return (
            messages.toxiproxy_missing(module, version)
            + "; skipped (--chaos-require-toxiproxy makes this an error)"
        )

    @staticmethod
    def toxiproxy_needs_go() -> str:
        return (
            "chaos-harness toxiproxy install builds Toxiproxy from source with Go, and `go` is "
            "not on the PATH: install Go (https://go.dev/dl/, or your system's golang package)"
        )

    @staticmethod
    def toxiproxy_install_failed(code: int, stderr: str) -> str:
        tail = "\n".join(stderr.strip().splitlines()[-8:])
        return f"go install of Toxiproxy failed (exit {code}):\n{tail}"

    @staticmethod
    def toxiproxy_installed(binary: object) -> str:
        return f"Toxiproxy server installed: {binary}"

    @staticmethod
    def toxiproxy_missing_short() -> str:
        return "no Toxiproxy server found: run `chaos-harness toxiproxy install`"

    @staticmethod
    def virtual_time_budget(elapsed_s: float) -> str:
        return (
            f"virtual time: the run reached its budget after {elapsed_s:,.0f} s of exchange "
            "time and was stopped (a client that never stops retrying, or waits out a "
            "timer that keeps moving?)"
        )

    @staticmethod
    def explore_flaky(nodeid: str, broke: str) -> str:
        return (
            f"{nodeid}: exploration saw a failure that did not happen again when its example "
            f"ran again ({broke}), so no scenario was kept. Something leaks between runs of "
            "the body (state in a fixture of your own, a task left running, real time) or "
            "the client is nondeterministic"
        )

    @staticmethod
    def explore_nothing(nodeid: str, why: str) -> str:
        return f"{nodeid}: exploration tested nothing: {why}"

    @staticmethod
    def explore_with_scenarios(nodeid: str, names: Sequence[str]) -> str:
        return (
            f"{nodeid}: exploration draws its own scenarios, and this test also loads "
            f"{', '.join(names)} (chaos_scenario marker or scenario fixture): remove one or "
            "the other"
        )

    @staticmethod
    def explore_nothing_explored(nodeid: str) -> str:
        return f"nothing was explored: {nodeid} ran no exploration (see the reason above)"

    @staticmethod
    def explore_example_budget(seconds: float) -> str:
        return (
            f"the example did not end within {seconds / 86400:g} days of exchange time: a "
            "client awaiting a hung request with no timeout of its own, or retrying forever"
        )

    # -- limits on what a YAML file may hold ------------------------------------------------------
    @staticmethod
    def yaml_file_too_big(size: int, limit: int) -> str:
        return f"the file is {size:,} bytes; scenario and profile files are limited to {limit:,}"

    @staticmethod
    def yaml_too_large(size: int, limit: int, aliased: bool) -> str:
        how = "its anchors and aliases expand to" if aliased else "it holds"
        return (
            f"{how} {size:,} YAML nodes, more than the {limit:,} a file may hold "
            "(nested aliases that multiply: a 'billion laughs' file?)"
        )

    @staticmethod
    def yaml_too_deep(depth: int | None, limit: int) -> str:
        found = f"{depth} levels" if depth is not None else "too many levels"
        return f"the file nests {found} deep; the limit is {limit}"

    @staticmethod
    def not_a_regular_file(path: str) -> str:
        return f"{path} is not a regular file (a FIFO, a device?): scenario files are plain files"

    # -- fault arguments that validate by type but cannot do what they say ---------------------
    @staticmethod
    def ws_close_code_reserved() -> str:
        return (
            "cannot be sent in a close frame (RFC 6455 7.4): use 1000-1003, 1007-1014 or "
            "3000-4999 (1004-1006 and 1015 are reserved, 1016-2999 unassigned: clients read "
            "them as a protocol error); for a lost connection, abrupt: true"
        )

    @staticmethod
    def not_a_report(file: str, exc: BaseException | None = None) -> str:
        why = f": {exc}" if exc is not None else ""
        return f"{file} is not a chaos report (a JSON object with meta and records){why}"

    @staticmethod
    def cli_cannot_write(path: object, exc: BaseException) -> str:
        return (
            f"cannot write {path}: {exc.strerror or exc}"
            if isinstance(exc, OSError)
            else (f"cannot write {path}: {exc}")
        )
