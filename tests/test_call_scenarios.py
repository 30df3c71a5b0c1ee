"""Every shipped scenario, end to end: a real server, the simulator, and the order's end."""

from __future__ import annotations

import pytest

from tests.phone_line import PhoneLine
from voice.scenarios import SCENARIOS


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_scenario_ends_as_expected(line: PhoneLine, name: str) -> None:
    scenario = SCENARIOS[name]
    log, order = line.run(name)
    assert order["status"] == scenario.expected_status, log
    own = [a for a in order["attempts"] if a["started_at"] and a["call_sids"]["physician"]]
    if scenario.expected_outcome is None:
        assert own == [], log
    else:
        assert [a["outcome"] for a in own] == [scenario.expected_outcome], log
