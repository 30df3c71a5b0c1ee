"""Named calls to try Ordophone with the simulator (``ordophone simulate --scenario NAME``).

Each scenario is who calls and what they key or say, who answers at the service, and the
end it should reach. It runs against a running Ordophone server and its simulator through
the simulator's control API (the same path whether run by the CLI or by the tests), on a
fresh fictional order of the demo physician (``ordophone demo-seed``).
"""

from __future__ import annotations

import base64
import dataclasses
import json
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Flask
from sqlalchemy import select

from logging_app import orders, transmissions
from logging_app.db import transaction
from logging_app.demo import DEMO_PHYSICIAN, DEMO_SERVICE, demo_order_form
from logging_app.models import ImagingService, Physician
from voice import flow

Actions = list[dict[str, Any]]
PIN = DEMO_PHYSICIAN["pin"]

PHYSICIAN_LINES = [
    "Bonjour. Radiographie pulmonaire, deux incidences, pour une toux persistante depuis "
    "trois semaines avec fièvre légère.",
    "C'est exact, merci.",
]
READ_BACK = [
    "Je relis : radiographie pulmonaire, deux incidences, indication toux persistante depuis "
    "trois semaines, fièvre légère.",
    "Parfait, au revoir.",
]


def _professional(name: str, key: str, permit: str, spoken: str) -> dict[str, Any]:
    return {
        "name": name,
        "actions": [
            {"press": key},
            {"press": f"{permit}#"},
            {"say": spoken, "confidence": 0.93},
            {"converse": READ_BACK, "confidence": 0.9},
            {"hangup": True},
        ],
    }


RADIOLOGIST = _professional("radiologist", "1", "0123456", "Jean Tremblay")
# A radiologist who hangs up halfway through the read-back (the line drops, say).
CUT_OFF = {
    "name": "radiologist",
    "actions": [
        {"press": "1"},
        {"press": "0123456#"},
        {"say": "Jean Tremblay", "confidence": 0.93},
        {"converse": ["Je relis : radiographie pulmonaire, deux…"], "confidence": 0.9},
        {"hangup": True},
    ],
}
TECHNOLOGIST = _professional("technologist", "2", "0456789", "Marie Tremblay")


def _ordering(number: str) -> Actions:
    """The physician keys PIN and order number, asks for the call, speaks, confirms."""
    return [
        {"press": f"{PIN}#"},
        {"press": f"{number}#"},
        {"press": "1"},
        {"converse": PHYSICIAN_LINES, "confidence": 0.92},
        {"press": "1"},
    ]


def _read_back_refused(number: str) -> Actions:
    """The physician says the read-back was wrong (2), hears that the order was not
    transmitted, presses 1 to call again at once, and this time confirms it."""
    first, again = _ordering(number), _ordering(number)[2:]
    return [*first[:-1], {"press": "2"}, {"press": "1"}, *again]


def _cut_off(number: str) -> Actions:
    """The physician dictates; the professional hangs up before the read-back is over; the
    physician answers 2 (cut off), then ends."""
    dictation = {"converse": PHYSICIAN_LINES[:1], "confidence": 0.92}
    return [*_ordering(number)[:3], dictation, {"press": "2"}, {"press": "2"}]


def _then_ends(number: str) -> Actions:
    """The physician asks for the call, then ends after hearing it was not transmitted."""
    return [{"press": f"{PIN}#"}, {"press": f"{number}#"}, {"press": "1"}, {"press": "2"}]


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    physician: Callable[[str], Actions]
    service: dict[str, Any] | None  # behaviour and script of the service's number
    expected_status: str
    expected_outcome: str | None  # of the attempt this call makes (None: it makes none)
    order_already: str = "ready"  # "transmitted": the order went out before this call
    received_by: str | None = None  # the professional's stated role, when one received it
    earlier_outcomes: tuple[str, ...] = ()  # of the attempts before the last, in one call
    priority: str = "routine"


SCENARIOS = {
    s.name: s
    for s in (
        Scenario(
            "radiologist",
            "A radiologist answers, confirms, receives the order and reads it back.",
            _ordering,
            {"behaviour": {"answer": {"rings": 2}}, "script": RADIOLOGIST},
            "transmitted",
            "transmitted",
            received_by="radiologist",
        ),
        Scenario(
            "technologist-after-transfer",
            "A receptionist answers, presses 3 and transfers the call to a technologist.",
            _ordering,
            {
                "behaviour": {"answer": {"rings": 1}},
                "script": {
                    "name": "receptionist",
                    "actions": [{"press": "3"}, {"silence": True}, {"handover": TECHNOLOGIST}],
                },
            },
            "transmitted",
            "transmitted",
            received_by="technologist",
        ),
        Scenario(
            "urgent",
            "An urgent order: both the physician and the radiologist hear URGENT first.",
            _ordering,
            {"behaviour": {"answer": {"rings": 1}}, "script": RADIOLOGIST},
            "transmitted",
            "transmitted",
            received_by="radiologist",
            priority="urgent",
        ),
        Scenario(
            "read-back-refused-then-retried",
            "The physician says the read-back was wrong (2): not transmitted; they press 1 "
            "to call again at once, and the second read-back is confirmed.",
            _read_back_refused,
            {"behaviour": {"answer": {"rings": 1}}, "script": RADIOLOGIST},
            "transmitted",
            "transmitted",
            received_by="radiologist",
            earlier_outcomes=("read_back_refused",),
        ),
        Scenario(
            "professional-hangs-up-mid-read-back",
            "The radiologist hangs up halfway through the read-back; the physician answers "
            "2 (cut off): the order is not transmitted.",
            _cut_off,
            {"behaviour": {"answer": {"rings": 1}}, "script": CUT_OFF},
            "ready",
            "read_back_refused",
        ),
        Scenario(
            "staff-never-transfers",
            "A receptionist presses 3 and never transfers: the order is not transmitted.",
            _then_ends,
            {
                "behaviour": {"answer": {"rings": 1}},
                "script": {"name": "receptionist", "actions": [{"press": "3"}]},
            },
            "ready",
            "refused_by_staff",
        ),
        Scenario(
            "busy",
            "The service's line is busy.",
            _then_ends,
            {"behaviour": "busy", "script": {"name": "service", "actions": []}},
            "ready",
            "busy",
        ),
        Scenario(
            "no-answer",
            "Nobody answers at the service.",
            _then_ends,
            {"behaviour": "no-answer", "script": {"name": "service", "actions": []}},
            "ready",
            "no_answer",
        ),
        Scenario(
            "physician-hangs-up-waiting",
            "The physician hangs up while the service is being screened.",
            lambda number: [
                {"hangup_on_hearing": "Restez en ligne"},
                *_then_ends(number)[:3],
            ],
            {
                "behaviour": {"answer": {"rings": 3}},
                "script": {"name": "receptionist", "actions": [{"press": "3"}]},
            },
            "ready",
            "abandoned",
        ),
        Scenario(
            "wrong-pin",
            "The caller keys a wrong PIN three times: the call ends, nothing is sent.",
            lambda number: [{"press": "1111#"}, {"press": "2222#"}, {"press": "3333#"}],
            None,
            "ready",
            None,
        ),
        Scenario(
            "order-already-transmitted",
            "The physician keys the number of an order already transmitted: refused (R4).",
            lambda number: [{"press": f"{PIN}#"}, {"press": f"{number}#"}, {"hangup": True}],
            None,
            "transmitted",
            None,
            order_already="transmitted",
        ),
    )
}


class ScenarioError(Exception):
    """The scenario cannot run (no demo data, simulator unreachable, …)."""


def prepare_order(app: Flask, scenario: Scenario) -> tuple[str, str]:
    """A fresh fictional order of the demo physician for the scenario: its number and the
    phone of its service."""
    actor = "simulate"
    with transaction(app) as db:
        physician = db.scalars(
            select(Physician).where(Physician.licence_number == DEMO_PHYSICIAN["licence"])
        ).first()
        service = db.scalars(select(ImagingService).order_by(ImagingService.id)).first()
        if physician is None or service is None:
            raise ScenarioError("no demo physician or service: run `ordophone demo-seed` first")
        form = dataclasses.replace(demo_order_form(service.id), priority=scenario.priority)
        order = orders.create_order(db, actor, form)
        if scenario.order_already == "transmitted":
            attempt = transmissions.start_attempt(db, order, "portal_session_and_pin", actor, None)
            transmissions.end_attempt(db, attempt, "awaiting_confirmation", actor)
            transmissions.confirm_read_back(db, attempt, actor)
        return order.number, service.phone


def demo_phones() -> list[dict[str, Any]]:
    """How the demo's phones answer outside a scenario, so that "Call the service now" in the
    portal works with the built-in simulator: the demo physician picks up, presses 1 at the
    summary, speaks and confirms the read-back; the demo service's technologist receives it."""
    physician = [
        {"press": "1"},
        {"converse": PHYSICIAN_LINES, "confidence": 0.92},
        {"press": "1"},
    ]
    return [
        {
            "phone": DEMO_PHYSICIAN["phone"],
            "behaviour": {"answer": {"rings": 2}},
            "script": {"name": "physician", "actions": physician},
        },
        {
            "phone": DEMO_SERVICE["phone"],
            "behaviour": {"answer": {"rings": 2}},
            "script": TECHNOLOGIST,
        },
    ]


def console_urls(app_url: str) -> dict[str, str]:
    """The number's voice, fallback and status callback URLs, as the README has them set in
    Twilio's console: with Ordophone's connection overrides, like every other URL."""

    def url(path: str) -> str:
        return f"{app_url}{path}#{flow.CONNECTION_OVERRIDES}"

    return {
        "url": url("/voice/incoming"),
        "fallback_url": url("/voice/fallback"),
        "status_callback": url("/voice/status/physician"),
    }


def scenario_request(
    scenario: Scenario, number: str, app_url: str, twilio_number: str, service_phone: str
) -> dict[str, Any]:
    """The simulator's scenario (its control API's JSON) for this order."""
    numbers = []
    if scenario.service is not None:
        numbers.append({"phone": service_phone, **scenario.service})
    return {
        "caller": {
            "from": DEMO_PHYSICIAN["phone"],
            "to": twilio_number,
            **console_urls(app_url),
            "script": {"name": "physician", "actions": scenario.physician(number)},
        },
        "numbers": numbers,
    }


@dataclass(frozen=True)
class SimulatorControl:
    """The simulator's control API, as a client."""

    base_url: str
    account_sid: str
    auth_token: str

    def _request(self, method: str, path: str, body: Any = None) -> Any:
        credentials = f"{self.account_sid}:{self.auth_token}".encode()
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(  # noqa: S310 - the configured simulator URL
            f"{self.base_url}{path}",
            data=data,
            method=method,
            headers={
                "Authorization": "Basic " + base64.b64encode(credentials).decode(),
                "Content-Type": "application/json",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
                return json.loads(response.read().decode() or "null")
        except OSError as exc:
            raise ScenarioError(f"the simulator at {self.base_url} did not answer: {exc}") from exc

    def answer_demo_phones(self) -> None:
        """Script the demo's phones (see ``demo_phones``); a scenario may have replaced them."""
        for number in demo_phones():
            self._request("POST", "/_sim/numbers", number)

    def run(self, scenario: dict[str, Any], timeout: float = 60.0) -> str:
        """Run a scenario to its end; returns the simulator's readable log of it."""
        started = self._request("POST", "/_sim/scenarios", scenario)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            shown = self._request("GET", f"/_sim/scenarios/{started['id']}")
            if shown["status"] == "completed":
                return str(shown["log"])
            time.sleep(0.05)
        raise ScenarioError(f"the scenario was still running after {timeout:.0f} s")


def settle(app: Flask, number: str, timeout: float = 10.0) -> dict[str, Any]:
    """The order once its calls are over and their callbacks applied (no attempt active)."""
    deadline = time.monotonic() + timeout
    while True:
        with transaction(app) as db:
            order = orders.order_by_number(db, number)
            assert order is not None
            described = orders.describe_order(order)
        active = any(a["outcome"] is None for a in described["attempts"])
        if not active or time.monotonic() > deadline:
            return described
        time.sleep(0.05)


def summary(described: dict[str, Any]) -> list[str]:
    """The end of the call in a few lines: the order's status and its last attempt."""
    lines = [f"Order {described['number']}: {described['status']}"]
    for attempt in described["attempts"][-1:]:
        lines.append(f"  attempt outcome: {attempt['outcome']}")
        professional = attempt["professional"]
        if professional is not None:
            lines.append(
                f"  received by: {professional['role']} {professional['name']} "
                f"(permit {professional['permit_number']})"
            )
        if attempt["refusals"]:
            lines.append(f"  refused by staff: {len(attempt['refusals'])} time(s)")
        lines.append(f"  read-back confirmed: {'yes' if attempt['read_back_confirmed'] else 'no'}")
    return lines
