"""Shared test helpers for the project's own suite."""

from __future__ import annotations

import pytest


@pytest.fixture
def clean_xdist_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """pytester subprocesses must not believe they are xdist workers of the outer run."""
    for name in ("PYTEST_XDIST_WORKER", "PYTEST_XDIST_WORKER_COUNT", "PYTEST_XDIST_TESTRUNUID"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("PYTEST_ADDOPTS", raising=False)
