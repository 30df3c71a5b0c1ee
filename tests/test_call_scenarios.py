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
        return
    outcomes = [*scenario.earlier_outcomes, scenario.expected_outcome]
    assert [a["outcome"] for a in own] == outcomes, log
    professional = own[-1]["professional"]
    if scenario.received_by is None:
        assert professional is None or scenario.expected_outcome == "read_back_refused", log
    else:
        assert professional["role"] == scenario.received_by, log
        assert professional["permit_number"] and professional["name"], log
        assert own[-1]["read_back_confirmed"] is True, log
    if name in ("technologist-after-transfer", "staff-never-transfers"):
        assert [r["role"] for r in own[0]["refusals"]] == ["staff"], log
