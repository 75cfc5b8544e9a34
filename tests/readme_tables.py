"""README.md's generated tables: each sits between ``<!-- NAME:start -->`` and
``<!-- NAME:end -->``, and a test compares it with what its generator prints now."""

from __future__ import annotations

from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def readme_block(name: str) -> str:
    """The text between the markers ``NAME:start`` and ``NAME:end``."""
    text = README.read_text()
    start, end = f"<!-- {name}:start -->\n", f"\n<!-- {name}:end -->"
    assert start in text and end in text, f"README.md lost its {name} markers"
    return text.split(start, 1)[1].split(end, 1)[0]


def assert_current(name: str, table: str, command: str) -> None:
    """Fail when README.md's table ``name`` differs from ``table``, saying how to renew it."""
    __tracebackhide__ = True
    assert readme_block(name) == table, f"README.md's {name} is stale: run {command}"
