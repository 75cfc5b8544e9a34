"""The documentation's generated tables (README.md and docs/*.md): each sits between
``<!-- NAME:start -->`` and ``<!-- NAME:end -->``, and a test compares it with what its
generator prints now."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = [README, *sorted((ROOT / "docs").glob("*.md"))]
"""Every page of the documentation: the front page and the guide."""


def docs_text() -> str:
    """All pages, one after the other."""
    return "\n".join(page.read_text() for page in DOCS)


def readme_block(name: str) -> str:
    """The text between the markers ``NAME:start`` and ``NAME:end`` (in whichever page)."""
    start, end = f"<!-- {name}:start -->\n", f"\n<!-- {name}:end -->"
    for page in DOCS:
        text = page.read_text()
        if start in text and end in text:
            return text.split(start, 1)[1].split(end, 1)[0]
    raise AssertionError(f"the documentation lost its {name} markers")


def assert_current(name: str, table: str, command: str) -> None:
    """Fail when the documentation's table ``name`` differs from ``table``, saying how to
    renew it."""
    __tracebackhide__ = True
    assert readme_block(name) == table, f"the docs' {name} table is stale: run {command}"
