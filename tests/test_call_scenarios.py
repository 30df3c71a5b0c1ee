"""Every shipped scenario, end to end: a real server, the simulator, and the order's end."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.phone_line import ACCOUNT_SID, PhoneLine, open_line
from voice.scenarios import SCENARIOS
from voice.simulator.transport import Signing

SHARED_KEY = "scenario-webhook-shared-key-0123456789"
# Each way Twilio may sign a webhook: its URL without the connection-override fragment or
# with it, with the auth token or with a Webhook Rules SharedKey.
SIGNINGS = {
    "token": Signing(),
    "token-fragment": Signing(with_fragment=True),
    "shared-key-fragment": Signing(with_fragment=True, shared_key=SHARED_KEY),
}


@pytest.fixture(params=list(SIGNINGS))
def line(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[PhoneLine]:
    signing = SIGNINGS[request.param]
    settings: dict[str, Any] = (
        {"TWILIO_WEBHOOK_SHARED_KEY": SHARED_KEY} if signing.shared_key else {}
    )
    yield from open_line(tmp_path, signing=signing, **settings)


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


def test_rest_requests_use_the_api_key_when_one_is_set(tmp_path: Path) -> None:
    """With TWILIO_API_KEY and TWILIO_API_SECRET, REST authenticates with the key; the auth
    token only checks the webhooks."""
    key, secret = "SK" + "4" * 32, "api-key-secret"
    settings: dict[str, Any] = {"TWILIO_API_KEY": key, "TWILIO_API_SECRET": secret}
    for line in open_line(tmp_path, api_keys={key: secret}, **settings):
        log, order = line.run("radiologist")
        assert order["status"] == "transmitted", log
        # The scenario's control requests (sim_control) are the test's own, with the token.
        users = {user for user, n in line.sim.world.rest_users.items() if n}
        assert f"{key} sim_calls" in users, users
        assert not {u for u in users if u.startswith(ACCOUNT_SID) and "sim_control" not in u}
