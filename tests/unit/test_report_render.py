"""The report's drawing, from records built in the test: errors drawn as errors, long names
given room, the header's counts matching the table."""

from __future__ import annotations

import re

from harness.report import Record, build_report
from harness.report.render import render_html, render_markdown

LONG = "test_the_bot_survives_a_very_long_and_descriptive_name_for_once"


def records() -> list[Record]:
    def one(test: str, scenario: str, outcome: str) -> Record:
        return Record.build(
            nodeid=f"tests/test_bot.py::{test}[{scenario}]",
            test=test,
            scenario=scenario,
            outcome=outcome,
            run_seed=1,
            test_seed=2,
        )

    return [
        one(LONG, "order-ack-lost", "failed"),
        one(LONG, "my-503", "error"),
        one("test_short", "order-ack-lost", "passed"),
        one("test_short", "my-503", "error"),
    ]


def test_errors_are_drawn_as_errors_and_counts_match_the_table() -> None:
    report = build_report(records(), {"run_seed": 1})
    assert report.matrix()[("my-503", LONG)] == "error"
    assert report.matrix()[("order-ack-lost", LONG)] == "failed"
    md = render_markdown(report)
    assert "**4 chaos tests: 1 passed, 1 failed, 2 errors;" in md
    (row,) = [line for line in md.splitlines() if line.startswith("| my-503 |")]
    assert row.count("**ERROR**") == 2 and "**FAIL**" not in row
    html = render_html(report)
    assert html.count('class="cell error"') == 2 and html.count('class="cell failed"') == 1


def test_long_test_names_have_room_in_the_heatmap() -> None:
    html = render_html(build_report(records(), {"run_seed": 1}))
    svg = re.search(r'<svg id="heatmap"[^>]*width="(\d+)" height="(\d+)"', html)
    assert svg is not None
    label = re.search(r'<text x="([\d.]+)" y="([\d.]+)" transform="rotate\(-45[^>]*>' + LONG, html)
    assert label is not None
    x, y = float(label.group(1)), float(label.group(2))
    reach = 4.6 * len(LONG)  # the rotated label's extent up and to the right
    assert y - reach * 0.95 >= 0 and x + reach * 0.95 <= int(svg.group(1))
