"""The resilience report: per-test records, merged across workers and shards, rendered as
JSON, Markdown and a self-contained HTML page."""

from harness.report import model, render
from harness.report.model import *  # noqa: F403
from harness.report.render import *  # noqa: F403

__all__ = sorted({*model.__all__, *render.__all__})
