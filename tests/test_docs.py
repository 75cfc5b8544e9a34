"""The documentation's examples run (README.md and every page of docs/): blocks marked
``# runnable`` as scripts, ``# runnable with pytest`` ones as test files; a script followed
by an ```` ```output ```` block must print exactly that (each line an fnmatch pattern)."""

from __future__ import annotations

import fnmatch
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.readme_tables import DOCS, ROOT

BLOCK = re.compile(r"```python\n(.*?)```(?:\s*\n(?:[^`\n][^\n]*\n|\n)*?```output\n(.*?)```)?", re.S)


def _blocks() -> list[tuple[str, str, str | None]]:
    out = []
    for page in DOCS:
        for i, (code, printed) in enumerate(BLOCK.findall(page.read_text())):
            out.append((f"{page.relative_to(ROOT)}#{i}", code, printed or None))
    return out


BLOCKS = _blocks()
# YAML blocks that start with "# file: PATH" are files the pytest examples use
FILES = {
    name: body
    for page in DOCS
    for name, body in re.findall(r"```yaml\n# file: (\S+)\n(.*?)```", page.read_text(), re.S)
}
SCRIPTS = [b for b in BLOCKS if b[1].startswith("# runnable\n")]
PYTEST_BLOCKS = [b for b in BLOCKS if b[1].startswith("# runnable with pytest")]


def test_the_docs_have_runnable_examples() -> None:
    assert SCRIPTS and PYTEST_BLOCKS and FILES
    assert any(printed for _, _, printed in SCRIPTS), "no example shows its output"


def test_every_output_block_follows_a_runnable_script() -> None:
    shown = sum(page.read_text().count("```output\n") for page in DOCS)
    assert shown == sum(1 for _, _, printed in SCRIPTS if printed)


@pytest.mark.parametrize(("where", "code", "printed"), SCRIPTS, ids=[b[0] for b in SCRIPTS])
def test_docs_script_runs(where: str, code: str, printed: str | None, tmp_path: Path) -> None:
    script = tmp_path / "example.py"
    script.write_text(code)
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    if printed is not None:
        got, want = done.stdout.rstrip("\n").splitlines(), printed.rstrip("\n").splitlines()
        assert len(got) == len(want), f"{where} prints:\n{done.stdout}"
        for line, pattern in zip(got, want, strict=True):
            assert fnmatch.fnmatchcase(line, pattern), f"{where}: {line!r} != {pattern!r}"


@pytest.mark.usefixtures("clean_xdist_env")
@pytest.mark.parametrize(
    ("where", "code"), [b[:2] for b in PYTEST_BLOCKS], ids=[b[0] for b in PYTEST_BLOCKS]
)
def test_docs_pytest_example_passes(where: str, code: str, pytester: pytest.Pytester) -> None:
    pytester.makepyfile(**{"test_example": code})
    shutil.copy(ROOT / "toxiproxy.json", pytester.path / "toxiproxy.json")
    for name, text in FILES.items():
        (pytester.path / name).parent.mkdir(parents=True, exist_ok=True)
        (pytester.path / name).write_text(text)
    result = pytester.runpytest_subprocess("-o", "asyncio_mode=auto", "-p", "no:cacheprovider")
    outcomes = result.parseoutcomes()
    passed = outcomes.pop("passed", 0)
    outcomes.pop("warnings", None)
    assert passed >= 1 and not outcomes, result.stdout.str()  # every test passed, none else


def test_the_documented_workflow_uses_real_options() -> None:
    """docs/github-actions.yml (checked by actionlint in make test) calls options and
    commands that exist."""
    import yaml

    from harness.cli import build_parser
    from harness.options import OPTIONS

    workflow = yaml.safe_load((ROOT / "docs" / "github-actions.yml").read_text())
    steps = [s for job in workflow["jobs"].values() for s in job["steps"]]
    commands = " ".join(s.get("run", "") for s in steps)
    flags = {o.flag for o in OPTIONS}
    used = set(re.findall(r"--chaos-[a-z-]+", commands))
    assert used and used <= flags, used - flags
    assert (
        "chaos-harness report merge" in commands and "chaos-harness toxiproxy install" in commands
    )
    choices = build_parser()._subparsers._group_actions[0].choices  # type: ignore[union-attr]
    assert {"report", "toxiproxy"} <= set(choices)
