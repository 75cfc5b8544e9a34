"""The options a replay command carries over: those that shape what a test does."""

from __future__ import annotations

import shlex

from hypothesis import given
from hypothesis import strategies as st

from harness.session import shaping_args


def test_shaping_options_are_kept_and_the_rest_dropped() -> None:
    args = ["tests", "-c", "alt.toml", "--chaos-scenarios", "my a,b", "-p", "no:randomly"]
    args += ["-pno:cacheprovider", "--chaos-seed", "5", "-n", "auto", "--chaos-clock=real"]
    args += ["--chaos-strict", "-k", "x", "-o", "asyncio_mode=auto", "--chaos-report", "rep"]
    assert shaping_args(args) == [
        "-c alt.toml",
        "--chaos-scenarios 'my a,b'",
        "-p no:randomly",
        "-p no:cacheprovider",
        "--chaos-clock=real",
        "--chaos-strict",
        "-o asyncio_mode=auto",
    ]


values = st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\x00"), min_size=1)


@given(st.lists(st.tuples(st.sampled_from(["-c", "--chaos-scenarios", "-p", "-o"]), values)))
def test_a_replay_command_splits_back_into_the_same_options(pairs: list[tuple[str, str]]) -> None:
    args = [part for pair in pairs for part in pair]
    words = shlex.split(" ".join(shaping_args(args)))
    assert words == args
