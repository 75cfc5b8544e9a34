"""The resilience report: per-test records, merged across workers and shards, rendered as
JSON, Markdown and a self-contained HTML page."""

from harness.report.model import Record, Report, build_report, load_report, merge_reports
from harness.report.render import render_html, render_markdown, write_report

__all__ = [
    "Record",
    "Report",
    "build_report",
    "load_report",
    "merge_reports",
    "render_html",
    "render_markdown",
    "write_report",
]
