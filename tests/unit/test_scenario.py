"""The scenario YAML loader: every error at once, with file:line, and the built-in library."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness import corruptions, faults
from harness.errors import ScenarioError
from harness.scenario import (
    Scenario,
    builtin_dir,
    load_file,
    load_library,
    load_scenario,
    parse_scenario,
    scenario_json_schema,
    select_scenarios,
)

GOOD = """\
# yaml-language-server: $schema=scenario.schema.json
name: order-ack-lost
description: The exchange accepts every third order but the acknowledgement never arrives.
tags: [orders, idempotency]
faults:
  - kind: ack_lost
    match: {method: POST, path: /v1/orders}
    mode: hang
    schedule: {every: 3}
invariants: [no_duplicate_orders, bounded_retries: {max_attempts: 3}]
"""

THREE_MISTAKES = """\
name: broken
description: three mistakes
faults:
  - kind: latency
    p50_ms: 80
    p99_ms: 50
  - kind: latncy
    fixed_ms: 3
  - kind: error
    status: 503
    schedule: {evry: 3}
"""


def test_good_scenario_loads_into_fault_objects() -> None:
    scenario = parse_scenario(GOOD, "order-ack-lost.yaml")
    assert scenario.name == "order-ack-lost" and scenario.source == "order-ack-lost.yaml"
    fault = scenario.faults[0]
    assert isinstance(fault, faults.AckLost) and fault.mode == "hang"
    assert fault.schedule.every == 3 and fault.match.path == "/v1/orders"
    assert scenario.invariant_names() == ["no_duplicate_orders", "bounded_retries"]
    assert scenario.kinds == ["ack_lost"]


def test_every_problem_is_reported_with_its_line_and_field() -> None:
    with pytest.raises(ScenarioError) as info:
        parse_scenario(THREE_MISTAKES, "path/broken.yaml")
    lines = [str(p) for p in info.value.problems]
    assert lines == [
        "path/broken.yaml:6: faults[0].latency.p99_ms: must be >= p50_ms=80",
        "path/broken.yaml:7: faults[1]: unknown fault kind 'latncy' (did you mean 'latency'?); "
        "known: " + ", ".join(sorted(faults.registry())),
        "path/broken.yaml:11: faults[2].error.schedule.evry: unknown field 'evry' "
        "(did you mean 'every'?)",
    ]
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("name: x\ndescription: d\nfaults: []\n", "needs at least one fault or toxic"),
        ("name: Bad Name\ndescription: d\nfaults: [{kind: reset}]\n", "name: string should match"),
        ("description: d\nfaults: [{kind: reset}]\n", ":1: name: field required"),
        ("name: x\ndescription: d\nfaults: [{fixed_ms: 3}]\n", "missing 'kind'"),
        (
            "name: x\ndescription: d\nfaults: [{kind: reset}]\nextra: 1\n",
            ":4: extra: unknown field 'extra'",
        ),
        (
            "name: x\ndescription: d\nfaults: [{kind: reset}]\ndescripton: e\n",
            "did you mean 'description'",
        ),
        (
            "name: x\nname: y\ndescription: d\nfaults: [{kind: reset}]\n",
            ":2: name: duplicate key 'name'",
        ),
        (
            "name: x\ndescription: d\nfaults:\n  - kind: corrupt\n    corruption: nann\n",
            ":5: faults[0].corrupt.corruption",
        ),
        (
            "name: x\ndescription: d\nfaults:\n  - kind: reset\n    match: {methd: GET}\n",
            "did you mean 'method'",
        ),
        ("name: [unclosed\n", "invalid YAML"),
        ("- just\n- a list\n", "a scenario is a mapping"),
        ("", "a scenario is a mapping"),
        (
            "name: x\ndescription: d\nfaults: [{kind: reset}]\ninvariants: [{a: {}, b: {}}]\n",
            "one key",
        ),
    ],
)
def test_loader_errors(text: str, fragment: str) -> None:
    with pytest.raises(ScenarioError) as info:
        parse_scenario(text, "s.yaml")
    assert fragment in str(info.value)


def test_built_in_library_is_valid_and_uses_every_fault_kind() -> None:
    library = load_library()
    assert len(library) >= 15
    used = {kind for s in library.values() for kind in s.kinds}
    assert {
        "latency",
        "hang",
        "error",
        "rate_limit",
        "disconnect",
        "reset",
        "truncate",
        "corrupt",
        "stale",
        "ack_lost",
    } <= used
    latency = {
        f.distribution for s in library.values() for f in s.faults if isinstance(f, faults.Latency)
    }
    assert {"lognormal", "spike", "uniform", "fixed"} <= latency
    for s in library.values():
        assert len(s.description) > 40, s.name  # a description a trader understands
        assert Path(s.source or "").stem == s.name  # one scenario a file, named after it


def test_scenario_files_reference_the_committed_schema_which_is_current() -> None:
    schema_file = builtin_dir() / "scenario.schema.json"
    assert json.loads(schema_file.read_text()) == scenario_json_schema()
    for file in builtin_dir().glob("*.yaml"):
        assert file.read_text().startswith("# yaml-language-server: $schema=scenario.schema.json")


def test_load_by_name_path_and_unknown_name(tmp_path: Path) -> None:
    assert load_scenario("order-ack-lost").name == "order-ack-lost"
    own = tmp_path / "scenarios"
    own.mkdir()
    (own / "mine.yaml").write_text(GOOD.replace("order-ack-lost", "my-own"))
    assert load_scenario("my-own", project_root=tmp_path).name == "my-own"
    assert load_scenario(own / "mine.yaml").name == "my-own"
    with pytest.raises(ScenarioError, match="did you mean 'order-ack-lost'"):
        load_scenario("order-ack-lsot")


def test_select_scenarios_by_names_globs_and_folders(tmp_path: Path) -> None:
    assert [s.name for s in select_scenarios("order-ack-lost,stale-ticker")] == [
        "order-ack-lost",
        "stale-ticker",
    ]
    assert {s.name for s in select_scenarios("order-*")} == {"order-ack-lost", "order-ack-timeout"}
    (tmp_path / "x.yaml").write_text(GOOD.replace("order-ack-lost", "from-folder"))
    assert [s.name for s in select_scenarios(str(tmp_path))] == ["from-folder"]
    assert len(select_scenarios(None)) == len(load_library())
    with pytest.raises(ScenarioError, match="matches no scenario"):
        select_scenarios("nothing-*")


def test_duplicate_names_in_a_library_are_refused(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(GOOD)
    (tmp_path / "b.yaml").write_text(GOOD)
    with pytest.raises(ScenarioError, match="also used by"):
        load_library([tmp_path])


def test_python_built_scenario() -> None:
    scenario = Scenario(name="py", description="built in Python", faults=[faults.Reset()])
    assert scenario.kinds == ["reset"] and scenario.source is None


# -- fuzzing: the loader either loads or raises ScenarioError -----------------------------

fault_dicts = st.fixed_dictionaries(
    {"kind": st.sampled_from([*faults.registry(), "bogus"])},
    optional={
        "fixed_ms": st.integers(-5, 50) | st.text(max_size=3),
        "p50_ms": st.floats(-1, 100, allow_nan=False),
        "p99_ms": st.floats(-1, 100, allow_nan=False),
        "status": st.integers(0, 700),
        "corruption": st.sampled_from([*corruptions.KINDS, "x"]),
        "schedule": st.dictionaries(
            st.sampled_from(["every", "first", "probability", "evry"]),
            st.integers(-1, 5),
            max_size=2,
        ),
        "match": st.dictionaries(
            st.sampled_from(["method", "path", "query", "x"]),
            st.sampled_from(["GET", "/v1/{a}", "/v1/{", 3, None]),
            max_size=2,
        ),
        "mode": st.sampled_from(["hang", "disconnect", 1]),
        "capacity": st.integers(-1, 5),
        "refill_per_s": st.integers(-1, 5),
    },
)
scenario_dicts = st.fixed_dictionaries(
    {},
    optional={
        "name": st.sampled_from(["ok-name", "Bad Name", ""]) | st.integers(),
        "description": st.text(max_size=10),
        "tags": st.lists(st.text(max_size=4), max_size=2) | st.integers(),
        "faults": st.lists(fault_dicts, max_size=3) | st.text(max_size=3),
        "invariants": st.lists(
            st.text(max_size=5) | st.dictionaries(st.text(max_size=3), st.just({}), max_size=2),
            max_size=2,
        ),
        "unknown": st.integers(),
    },
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenario_dicts)
def test_structured_yaml_loads_or_raises_scenario_error(data: dict) -> None:
    text = yaml.safe_dump(data)
    with contextlib.suppress(ScenarioError):
        parse_scenario(text, "fuzz.yaml")


@settings(max_examples=300, deadline=None)
@given(
    st.text(alphabet=st.sampled_from(list("name:kinds- {}[]\n\t'\"#&*!|>%@`0123456789.,?latency")))
)
def test_random_text_loads_or_raises_scenario_error(text: str) -> None:
    with contextlib.suppress(ScenarioError):
        parse_scenario(text, "fuzz.yaml")


@settings(max_examples=200, deadline=None)
@given(st.integers(0, len(GOOD) - 1), st.text(max_size=4))
def test_mutated_good_yaml_loads_or_raises_scenario_error(position: int, insert: str) -> None:
    with contextlib.suppress(ScenarioError):
        parse_scenario(GOOD[:position] + insert + GOOD[position + 1 :], "fuzz.yaml")


# -- hostile files: the loader's cost stays linear in the file's size ----------------------


def billion_laughs() -> str:
    lines = ["a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for i in range(1, 10):
        ref = ", ".join([f"*a{i - 1}"] * 10)
        lines.append(f"a{i}: &a{i} [{ref}]")
    return "\n".join(lines) + "\nname: lol\ndescription: d\nfaults: [{kind: reset}]\n"


def test_an_alias_bomb_is_refused_at_its_line_before_anything_expands(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import yaml

    def never(*args: object, **kwargs: object) -> None:
        raise AssertionError("the bomb reached construction: it would expand")

    monkeypatch.setattr(yaml, "load", never)  # construction and validation expand aliases
    text = billion_laughs()
    assert len(text) < 1000
    with pytest.raises(ScenarioError) as info:
        parse_scenario(text, "bomb.yaml")
    (problem,) = info.value.problems
    assert problem.line == 1  # the anchor the aliases multiply
    assert "anchors and aliases expand to 12,345,679,030 YAML nodes" in problem.message
    assert "billion laughs" in problem.message


def test_huge_and_deep_files_are_refused() -> None:
    from harness.scenario import MAX_DEPTH, MAX_FILE_BYTES

    huge = "name: big\ndescription: d\nfaults:\n" + "  - {kind: reset}\n" * (MAX_FILE_BYTES // 17)
    with pytest.raises(ScenarioError, match="scenario and profile files are limited to"):
        parse_scenario(huge, "big.yaml")
    deep = (
        "name: deep\ndescription: d\nfaults: [{kind: reset}]\ntags: " + "[" * 60 + "]" * 60 + "\n"
    )
    with pytest.raises(ScenarioError, match=f"nests 61 levels deep; the limit is {MAX_DEPTH}"):
        parse_scenario(deep, "deep.yaml")
    deeper = "tags: " + "[" * 5000 + "]" * 5000 + "\n"
    with pytest.raises(ScenarioError, match="too many levels"):
        parse_scenario(deeper, "deeper.yaml")


def test_a_file_of_many_faults_within_the_limits_loads() -> None:
    text = "name: many\ndescription: d\nfaults:\n" + "  - {kind: reset}\n" * 2000
    assert len(parse_scenario(text, "many.yaml").faults) == 2000


def test_what_is_not_a_regular_file_is_refused_before_reading(tmp_path) -> None:
    import os

    fifo = tmp_path / "fifo.yaml"
    os.mkfifo(fifo)
    with pytest.raises(ScenarioError, match="is not a regular file"):
        load_file(fifo)
    with pytest.raises(ScenarioError, match="is not a regular file"):
        load_file("/dev/zero")


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        ("{kind: error, status: 500, body: {a: !!binary aGVsbG8=}}", "must be JSON"),
        ("{kind: error, status: 500, body: !!set {a, b}}", "must be JSON"),
        ("{kind: error, status: 500, body: 2024-01-01}", "must be JSON"),
        ("{kind: ack_lost, status: 502, body: .nan}", "must be JSON"),
        ("{kind: error, status: 429, retry_after_s: .inf}", "finite"),
        ("{kind: error, status: 429, retry_after_s: 1e9}", "less than or equal to 604800"),
        ('{kind: error, status: 429, headers: {X-A: "a\\r\\nb"}}', "no control character"),
        ('{kind: error, status: 429, headers: {"bad name": x}}', "not an HTTP token"),
        ("{kind: rate_limit, capacity: 1, refill_per_s: 1, weights: {bars: .nan}}", "finite"),
        ("{kind: rate_limit, capacity: 1, refill_per_s: 1, ban_s: .inf}", "finite"),
        ("{kind: dribble, over_ms: .inf}", "finite"),
        ("{kind: clock_skew, offset_s: 1e308}", "ten years"),
        ("{kind: stale, shift_s: 1e308}", "less than or equal to 315360000"),
        ("{kind: reset, schedule: {first: 99999999999999999999}}", "less than or equal to"),
        ("{kind: latency, fixed_ms: 1e12}", "less than or equal to 86400000"),
    ],
)
def test_values_that_would_crash_a_client_are_refused(fault: str, message: str) -> None:
    """Accepted before, these crashed the client under test (OverflowError, a hang despite
    a timeout, a body that cannot be serialised, a header that splits the answer)."""
    with pytest.raises(ScenarioError) as info:
        parse_scenario(f"name: x\ndescription: d\nfaults:\n  - {fault}\n", "x.yaml")
    assert message in str(info.value)
    assert info.value.problems[0].line == 4


def test_toxic_integers_fit_toxiproxy() -> None:
    text = "name: x\ndescription: d\ntoxics:\n  - {type: latency, latency: 99999999999999999999}\n"
    with pytest.raises(ScenarioError, match="less than or equal to 2147483647"):
        parse_scenario(text, "x.yaml")
