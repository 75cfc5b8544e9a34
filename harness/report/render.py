"""Render a Report as report.json, report.md and one self-contained report.html (inline SVG
charts, no scripts, no network)."""

from __future__ import annotations

import html
import json
import statistics
from pathlib import Path

from harness.errors import messages
from harness.faultlog import FaultLogWriter, read_fault_log
from harness.report.model import Record, Report, build_report, crashed_records

__all__ = ["render_html", "render_markdown", "write_report", "write_run_report"]

_COLORS = {
    "passed": "#2e9d57",
    "failed": "#d2433b",
    "error": "#a52a8c",
    "mixed": "#e8a33d",
    "skipped": "#9aa3ad",
}


def _summary(report: Report) -> str:
    counts = report.counts()
    total = len(report.records)
    parts = ", ".join(
        messages.plural(counts[k], k) if k == "error" else f"{counts[k]} {k}"
        for k in ("passed", "failed", "error", "skipped")
        if counts.get(k)
    )
    fired = sum(report.faults_by_kind().values())
    seed = report.meta.get("run_seed")
    return f"{total} chaos tests: {parts or 'none run'}; {fired} faults fired; run seed {seed}"


def render_markdown(report: Report) -> str:
    lines = ["# Chaos resilience report", "", f"**{_summary(report)}**", ""]
    meta = report.meta
    if meta.get("shard"):
        lines += [f"Shard {meta['shard']}.", ""]
    scenarios, tests = report.scenarios(), report.tests()
    matrix = report.matrix()
    lines += [
        "## Scenario x test",
        "",
        "| scenario | " + " | ".join(tests) + " |",
        "| --- |" + " --- |" * len(tests),
    ]
    marks = {
        "passed": "pass",
        "failed": "**FAIL**",
        "error": "**ERROR**",
        "mixed": "**some seeds**",
        "skipped": "skip",
    }
    for scenario in scenarios:
        row = [marks.get(matrix.get((scenario, t), ""), "") for t in tests]
        lines.append(f"| {scenario} | " + " | ".join(row) + " |")
    inert = report.inert_pairs()
    if inert:
        lines += [
            "",
            "## Inert: scenarios that fired no fault",
            "",
            "These tests tested nothing of the scenario: give the routes the client calls the "
            "roles the scenario targets (or run with `--chaos-strict` to fail them).",
            "",
            "| scenario | test |",
            "| --- | --- |",
        ]
        lines += [f"| {name} | `{record.nodeid}` |" for name, record in inert]
    lines += ["", "## Failures by cause", ""]
    groups = report.failure_groups()
    if not groups:
        lines.append("No failures.")
    for (scenario, kinds, cause), records in sorted(groups.items()):
        lines += [f"### {scenario}: {cause}", "", f"Faults that fired: {kinds}.", ""]
        for r in records:
            detail = r.violations[0]["message"] if r.violations else (r.message or "")
            lines.append(f"- `{r.nodeid}`: {detail[:200]}")
            lines.append(f"  - replay: `{r.replay}`")
        lines.append("")
    dependence = report.seed_dependence()
    sometimes = {k: v for k, v in dependence.items() if v["failed"] and v["passed"]}
    always = {k: v for k, v in dependence.items() if v["failed"] and not v["passed"]}
    if dependence:
        lines += ["## Seed dependence", ""]
        for name, v in sorted(always.items()):
            lines.append(f"- `{name}` fails under every seed ({len(v['failed'])})")
        for name, v in sorted(sometimes.items()):
            lines.append(
                f"- `{name}` fails only under some seeds: {', '.join(map(str, sorted(v['failed'])))} "
                f"(passes under {', '.join(map(str, sorted(v['passed'])))})"
            )
        if not always and not sometimes:
            lines.append("No swept test failed.")
        lines.append("")
    lines += _exploration_markdown(report)
    lines += ["## Faults fired", "", "| kind | count |", "| --- | ---: |"]
    lines += [f"| {k} | {v} |" for k, v in sorted(report.faults_by_kind().items())]
    return "\n".join(lines) + "\n"


# -- HTML ---------------------------------------------------------------------------------------


def _heatmap(report: Report) -> str:
    scenarios, tests = report.scenarios(), report.tests()
    matrix = report.matrix()
    # room for the longest names: scenario labels at 6.5 px a character, test labels
    # rotated by 45 degrees (4.6 px of height and width a character)
    cell = 26
    left = max(230, 20 + round(6.5 * max(map(len, scenarios), default=0)))
    slant = round(4.6 * max(map(len, tests), default=0))
    top = max(150, 30 + slant)
    width = left + cell * max(1, len(tests)) + max(160, slant)
    height = top + cell * max(1, len(scenarios)) + 20
    out = [
        f'<svg id="heatmap" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'role="img" aria-label="pass/fail heatmap of scenarios by tests">'
    ]
    for j, test in enumerate(tests):
        x = left + j * cell + cell / 2
        out.append(
            f'<text x="{x}" y="{top - 8}" transform="rotate(-45 {x} {top - 8})" font-size="11">'
            f"{html.escape(test)}</text>"
        )
    for i, scenario in enumerate(scenarios):
        y = top + i * cell
        out.append(
            f'<text x="{left - 8}" y="{y + cell * 0.65}" text-anchor="end" font-size="11">'
            f"{html.escape(scenario)}</text>"
        )
        for j, test in enumerate(tests):
            state = matrix.get((scenario, test))
            if state is None:
                continue
            out.append(
                f'<rect class="cell {state}" x="{left + j * cell}" y="{y}" width="{cell - 2}" '
                f'height="{cell - 2}" fill="{_COLORS[state]}"><title>{html.escape(scenario)} x '
                f"{html.escape(test)}: {state}</title></rect>"
            )
    out.append("</svg>")
    return "".join(out)


def _timeline(record: Record) -> str:
    faults = record.faults
    if not faults:
        return "<p>No fault fired before this failure.</p>"
    end = max(max(line["t"] for line in faults), 0.001)
    kinds = sorted({line["kind"] for line in faults})
    width, row = 640, 18
    height = 20 + row * len(kinds)
    out = [
        f'<svg class="timeline" xmlns="http://www.w3.org/2000/svg" width="{width + 160}" height="{height}">'
    ]
    for k, kind in enumerate(kinds):
        y = 10 + k * row
        out.append(
            f'<text x="150" y="{y + 12}" text-anchor="end" font-size="11">{html.escape(kind)}</text>'
        )
        for line in faults:
            if line["kind"] == kind:
                x = 160 + (line["t"] / end) * (width - 10)
                out.append(
                    f'<rect x="{x:.1f}" y="{y}" width="4" height="{row - 4}" fill="#d2433b">'
                    f"<title>t={line['t']:.3f}s {html.escape(str(line.get('path')))}</title></rect>"
                )
    out.append(
        f'<text x="160" y="{height - 2}" font-size="10">0 s</text>'
        f'<text x="{width + 150}" y="{height - 2}" text-anchor="end" font-size="10">{end:.2f} s</text>'
    )
    out.append("</svg>")
    if record.fired > len(faults):
        out.append(f"<p>{html.escape(messages.faults_shown(len(faults), record.fired))}</p>")
    return "".join(out)


def _histogram(values: list[float], color: str, label: str, top: float, bins: int = 30) -> str:
    if not values:
        return ""
    width, height = 640, 120
    counts = [0] * bins
    for v in values:
        counts[min(bins - 1, int(v / top * bins))] += 1
    peak = max(counts) or 1
    bar = width / bins
    out = [f'<g aria-label="{label}">']
    for i, c in enumerate(counts):
        h = c / peak * height
        out.append(
            f'<rect x="{i * bar:.1f}" y="{height - h:.1f}" width="{bar - 1:.1f}" height="{h:.1f}" '
            f'fill="{color}" fill-opacity="0.55"/>'
        )
    out.append("</g>")
    return "".join(out)


def _latency_chart(report: Report) -> str:
    injected = [v for r in report.records for v in r.injected_ms]
    observed = [v for r in report.records for v in r.latencies_ms]
    if not injected and not observed:
        return "<p>No latency was injected or observed.</p>"
    top = max([*injected, *observed, 1.0]) * 1.01
    median = lambda vs: f"{statistics.median(vs):.1f} ms" if vs else "n/a"  # noqa: E731
    return (
        f'<svg id="latency" xmlns="http://www.w3.org/2000/svg" width="660" height="150">'
        f'<g transform="translate(10,10)">{_histogram(injected, "#3b6fd2", "injected", top)}'
        f"{_histogram(observed, '#e8a33d', 'observed', top)}</g>"
        f'<text x="10" y="145" font-size="11">0 ms</text>'
        f'<text x="650" y="145" text-anchor="end" font-size="11">{top:.0f} ms</text></svg>'
        f'<p><span style="color:#3b6fd2">&#9632;</span> injected (median {median(injected)}) '
        f'<span style="color:#e8a33d">&#9632;</span> observed by clients (median {median(observed)})</p>'
    )


def _exploration_rows(report: Report) -> list[tuple[str, ...]]:
    """(test, examples, failing, first failure, seconds to it, faults, what broke, file)."""
    rows = []
    for record in report.explorations():
        ex = record.exploration or {}
        first = ex.get("first_failure")
        rows.append(
            (
                record.nodeid,
                str(ex.get("examples", 0)),
                str(ex.get("failing", 0)),
                "-" if first is None else str(first),
                "-" if ex.get("first_failure_s") is None else f"{ex['first_failure_s']:.2f}",
                "-" if ex.get("faults") is None else str(ex["faults"]),
                ex.get("broke") or "nothing",
                ex.get("found") or ex.get("regression") or "",
            )
        )
    return rows


_EXPLORATION_HEAD = (
    "test",
    "examples",
    "failing",
    "first failure",
    "s to first failure",
    "faults (shrunk)",
    "what broke",
    "scenario file",
)


def _exploration_markdown(report: Report) -> list[str]:
    rows = _exploration_rows(report)
    if not rows:
        return []
    lines = [
        "## Exploration",
        "",
        "| " + " | ".join(_EXPLORATION_HEAD) + " |",
        "| --- |" + " ---: |" * 5 + " --- | --- |",
    ]
    for row in rows:
        test, *numbers, broke, file = row
        cells = [
            f"`{test}`",
            *numbers,
            broke[:200].replace("|", "\\|"),
            f"`{file}`" if file else "",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    for record in report.explorations():
        scenario = (record.exploration or {}).get("scenario")
        if scenario:
            import yaml

            lines += ["", f"Minimal schedule of `{record.nodeid}`:", "", "```yaml"]
            lines += [yaml.safe_dump(scenario["faults"], sort_keys=False).rstrip(), "```"]
    return [*lines, ""]


def _exploration_html(report: Report) -> str:
    rows = _exploration_rows(report)
    if not rows:
        return ""
    head = "".join(f"<th>{html.escape(h)}</th>" for h in _EXPLORATION_HEAD)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(cell)}</td>" for cell in row) + "</tr>" for row in rows
    )
    return f'<h2 id="exploration">Exploration</h2><table><tr>{head}</tr>{body}</table>'


def _inert_html(report: Report) -> str:
    inert = report.inert_pairs()
    if not inert:
        return ""
    rows = "".join(
        f"<tr><td>{html.escape(name)}</td><td><code>{html.escape(r.nodeid)}</code></td></tr>"
        for name, r in inert
    )
    return (
        '<h2 id="inert">Inert: scenarios that fired no fault</h2><p>These tests tested nothing '
        "of the scenario.</p><table><tr><th>scenario</th><th>test</th></tr>" + rows + "</table>"
    )


def render_html(report: Report) -> str:
    groups = report.failure_groups()
    failures = []
    for (scenario, kinds, cause), records in sorted(groups.items()):
        items = []
        for r in records:
            detail = r.violations[0]["message"] if r.violations else (r.message or "")
            items.append(
                f"<li><code>{html.escape(r.nodeid)}</code>: {html.escape(detail[:300])}"
                f"<br>replay: <code>{html.escape(r.replay)}</code>{_timeline(r)}</li>"
            )
        failures.append(
            f"<h3>{html.escape(scenario)}: {html.escape(cause)}</h3>"
            f"<p>Faults that fired: {html.escape(kinds)}</p><ul>{''.join(items)}</ul>"
        )
    faults_rows = "".join(
        f"<tr><td>{html.escape(k)}</td><td>{v}</td></tr>"
        for k, v in sorted(report.faults_by_kind().items())
    )
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Chaos resilience report</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2em; color: #1d2430; max-width: 1100px; }}
h1 {{ margin-bottom: 0.2em; }} .summary {{ font-size: 1.1em; font-weight: 600; }}
table {{ border-collapse: collapse; }} td, th {{ border: 1px solid #ccd; padding: 2px 8px; }}
code {{ background: #f2f4f7; padding: 0 3px; }} li {{ margin-bottom: 1em; }}
.legend span {{ display: inline-block; width: 12px; height: 12px; margin: 0 4px 0 12px; }}
</style></head><body>
<h1>Chaos resilience report</h1>
<p class="summary">{html.escape(_summary(report))}</p>
<h2>Scenarios x tests</h2>
<p class="legend">{"".join(f'<span style="background:{c}"></span>{k}' for k, c in _COLORS.items())}</p>
{_heatmap(report)}
{_inert_html(report)}
{_exploration_html(report)}
<h2>Failures by cause</h2>
{"".join(failures) or "<p>No failures.</p>"}
<h2>Injected and observed latency</h2>
{_latency_chart(report)}
<h2>Faults fired</h2>
<table><tr><th>kind</th><th>count</th></tr>{faults_rows}</table>
<script type="application/json" id="report-data">{html.escape(json.dumps(report.meta))}</script>
</body></html>
"""


def write_run_report(
    records: FaultLogWriter,
    *,
    run_seed: int,
    duration: float,
    sweep: int | None,
    shard: str | None,
    args: list[str],
) -> Path:
    """At the end of a pytest run: merge the records every worker wrote and write the
    report next to them."""
    records.merge()
    rows = read_fault_log(records.path) if records.path.exists() else []
    records.path.unlink(missing_ok=True)
    meta = {
        "run_seed": run_seed,
        "duration": round(duration, 3),
        "sweep": sweep,
        "shard": shard,
        "args": args,
    }
    return write_report(build_report(crashed_records(rows), meta), records.path.parent)


def write_report(report: Report, out_dir: str | Path) -> Path:
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(
        json.dumps(report.to_dict(), indent=2, default=str), encoding="utf-8"
    )
    (out / "report.md").write_text(render_markdown(report), encoding="utf-8")
    (out / "report.html").write_text(render_html(report), encoding="utf-8")
    return out
