"""README.md's examples run: the ones marked ``# runnable`` as scripts, the pytest ones as tests."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
# YAML blocks that start with "# file: PATH" are files the pytest examples use
FILES = dict(re.findall(r"```yaml\n# file: (\S+)\n(.*?)```", README.read_text(), flags=re.S))
SCRIPTS = [b for b in BLOCKS if b.startswith("# runnable\n")]
PYTEST_BLOCKS = [b for b in BLOCKS if b.startswith("# runnable with pytest")]


def test_readme_has_runnable_examples() -> None:
    assert SCRIPTS and PYTEST_BLOCKS and FILES


@pytest.mark.parametrize("index", range(len(SCRIPTS)))
def test_readme_script_runs(index: int, tmp_path: Path) -> None:
    script = tmp_path / f"example_{index}.py"
    script.write_text(SCRIPTS[index])
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr


@pytest.mark.usefixtures("clean_xdist_env")
@pytest.mark.parametrize("index", range(len(PYTEST_BLOCKS)))
def test_readme_pytest_example_passes(index: int, pytester: pytest.Pytester) -> None:
    pytester.makepyfile(**{f"test_readme_{index}": PYTEST_BLOCKS[index]})
    shutil.copy(README.parent / "toxiproxy.json", pytester.path / "toxiproxy.json")
    for name, text in FILES.items():
        (pytester.path / name).parent.mkdir(parents=True, exist_ok=True)
        (pytester.path / name).write_text(text)
    result = pytester.runpytest_subprocess("-o", "asyncio_mode=auto", "-p", "no:cacheprovider")
    outcomes = result.parseoutcomes()
    passed = outcomes.pop("passed", 0)
    outcomes.pop("warnings", None)
    assert passed >= 1 and not outcomes, result.stdout.str()  # every test passed, none else
