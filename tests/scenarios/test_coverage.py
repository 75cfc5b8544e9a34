"""Every built-in scenario fires against every built-in profile (and a custom one), driven
by a client that calls every role: the library is not tied to one API. The docs'
scenario x profile table is generated from these runs."""

from __future__ import annotations

import pytest

from harness.scenario import load_library
from tests.readme_tables import assert_current
from tests.scenarios.coverage import NO_STREAM, PROFILES, TOXIC, fired, matrix, render

LIBRARY = load_library()


@pytest.mark.parametrize("profile", list(PROFILES))
@pytest.mark.parametrize("name", sorted(LIBRARY))
async def test_every_scenario_fires_on_every_profile(name: str, profile: str) -> None:
    result = await fired(LIBRARY[name], profile)
    if isinstance(result, str):  # a documented reason, never silence
        assert result in (NO_STREAM, TOXIC)
        assert (result == TOXIC) == (not LIBRARY[name].faults)
        assert (result == NO_STREAM) == (LIBRARY[name].streams and PROFILES[profile][1] is None)
    else:
        assert result > 0, f"{name} fired no fault against {profile}"


async def test_the_readme_table_is_generated_from_these_runs() -> None:
    command = "python -m tests.scenarios.coverage"
    assert_current("scenario-profile-table", render(await matrix()), command)
