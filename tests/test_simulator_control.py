"""The control API a separate process uses, the JSON script format, the command line."""

from __future__ import annotations

import json
import subprocess
import sys
from base64 import b64encode
from collections.abc import Iterator
from http.client import HTTPConnection
from typing import Any
from urllib.parse import urlsplit

import pytest

from voice.simulator import (
    Simulator,
    answer,
    busy,
    converse,
    handover,
    hangup,
    hangup_on_hearing,
    press,
    say,
    script,
    silence,
)
from voice.simulator.__main__ import parse_args
from voice.simulator.parties import behaviour_from_json, script_from_json
from voice.simulator.sample_ivr import SampleIvr, serve_sample_ivr

ACCOUNT_SID = "AC" + "5" * 32
AUTH_TOKEN = "control-token"
APP_NUMBER = "+15145550000"
SERVICE = "+15145550199"


@pytest.fixture
def sim() -> Iterator[Simulator]:
    simulator = Simulator(ACCOUNT_SID, AUTH_TOKEN)
    simulator.start()
    yield simulator
    simulator.stop()


@pytest.fixture
def ivr(sim: Simulator) -> Iterator[SampleIvr]:
    app, served = serve_sample_ivr(sim.base_url, ACCOUNT_SID, AUTH_TOKEN, SERVICE, APP_NUMBER)
    yield app
    served.stop()


def control(
    sim: Simulator, method: str, path: str, body: Any = None, token: str = AUTH_TOKEN
) -> tuple[int, Any]:
    credentials = b64encode(f"{ACCOUNT_SID}:{token}".encode()).decode()
    headers = {"Authorization": f"Basic {credentials}", "Content-Type": "application/json"}
    connection = HTTPConnection(urlsplit(sim.base_url).netloc, timeout=5)
    payload = json.dumps(body) if body is not None else None
    connection.request(method, path, body=payload, headers=headers)
    response = connection.getresponse()
    text = response.read().decode()
    return response.status, json.loads(text) if text else None


def scenario(ivr: SampleIvr) -> dict[str, Any]:
    technologist = {
        "name": "technologist",
        "actions": [{"press": "2"}, {"say": "Marie Tremblay", "confidence": 0.93},
                    {"converse": ["I read it back."]}, {"hangup": True}],
    }  # fmt: skip
    return {
        "caller": {
            "from": "+15145550100",
            "to": APP_NUMBER,
            "url": ivr.base_url + "/voice/incoming",
            "script": {
                "name": "physician",
                "actions": [{"press": "1234#"}, {"converse": ["An order."]}, {"press": "1"}],
            },
        },
        "numbers": [
            {
                "phone": SERVICE,
                "behaviour": {"answer": {"rings": 2}},
                "script": {
                    "name": "receptionist",
                    "actions": [{"press": "3"}, {"handover": technologist}],
                },
            }
        ],
        "faults": {"duplicate_webhooks": True},
    }


def test_scenario_runs_to_completion_through_the_control_api(
    sim: Simulator, ivr: SampleIvr
) -> None:
    status, created = control(sim, "POST", "/_sim/scenarios", scenario(ivr))
    assert status == 201
    shown = control(sim, "GET", created["uri"] + "?wait=10")[1]
    assert shown["status"] == "completed"

    assert {(c["direction"], c["status"]) for c in shown["calls"]} == {
        ("inbound", "completed"),
        ("outbound-api", "completed"),
    }
    log = shown["log"]
    assert "[physician] presses 1234#" in log
    assert "[receptionist] hands the phone to technologist" in log
    assert '[technologist] says: "I read it back."' in log
    assert [d.form["DialCallStatus"] for d in ivr.to("/voice/after-dial")] == ["answered"] * 2


def test_scenario_with_an_unknown_action_is_refused(sim: Simulator, ivr: SampleIvr) -> None:
    bad = scenario(ivr)
    bad["caller"]["script"]["actions"] = [{"dance": True}]

    status, body = control(sim, "POST", "/_sim/scenarios", bad)

    assert status == 400
    assert "unknown action" in body["message"]


def test_control_api_requires_the_account_credentials(sim: Simulator) -> None:
    status, body = control(sim, "GET", "/_sim/log", token="wrong")
    assert (status, body["code"]) == (401, 20003)


def test_json_scripts_mirror_the_python_api() -> None:
    technologist = {"name": "tech", "actions": [{"say": "Marie", "confidence": 0.8}]}
    data = {
        "name": "receptionist",
        "actions": [
            {"hangup_on_hearing": "goodbye"},
            {"press": "3"},
            {"silence": True},
            {"handover": technologist},
            {"converse": ["one", "two"]},
            {"hangup": True},
        ],
    }
    assert script_from_json(data) == script(
        "receptionist",
        hangup_on_hearing("goodbye"),
        press("3"),
        silence(),
        handover(script("tech", say("Marie", 0.8))),
        converse(["one", "two"]),
        hangup(),
    )
    assert behaviour_from_json({"answer": {"rings": 3}}) == answer(rings=3)
    assert behaviour_from_json("busy") == busy()


def test_command_line_requires_credentials() -> None:
    with pytest.raises(SystemExit):
        parse_args(["--port", "5001"])


def test_module_runs_the_simulator_standalone() -> None:
    command = [sys.executable, "-m", "voice.simulator", "--port", "0"]
    command += ["--account-sid", ACCOUNT_SID, "--auth-token", AUTH_TOKEN]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as process:
        try:
            assert process.stdout is not None
            line = process.stdout.readline()
        finally:
            process.terminate()
        assert process.wait(timeout=10) == 0
    assert line.startswith("Twilio simulator listening on http://127.0.0.1:")
