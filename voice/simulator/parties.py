"""Parties as scripts: what the people on each phone line do.

A `Script` is a named list of actions. Each time the party is asked for input (each
`<Gather>` or `<Record>`) it consumes the next *input* action:

- `press("1234#")` keys digits (the Gather's `finishOnKey` and `numDigits` apply);
- `say("Marie Tremblay", confidence=0.93)` speaks (a speech Gather hears it);
- `silence()` lets the Gather time out;
- `hangup()` hangs up;
- `handover(other_script)` hands the phone to someone else (a receptionist who transfers
  the call to a technologist): consumes no Gather, the new script answers it instead.

In a conference a party consumes, from the head of its script, only what can happen
there: `converse(["line 1", "line 2"])` and `say(...)` lines are spoken to the other
participants (turn by turn, in join order; they feed real-time transcription), and a
`hangup()` right after them leaves the conference. Anything else waits for the next
Gather. Outside a conference a Gather meeting a `converse` action hears silence and
leaves it in place.

`hangup_on_hearing("substring")` is not consumed: while that script holds the phone, the
party hangs up as soon as a `<Say>` it hears contains the substring.

An exhausted script is silent. How a dialled number answers is a `Behaviour`: `answer(rings=1)`,
`busy()`, `no_answer()`, `failed()`.

JSON form (used by the control API): a script is `{"name": "physician", "actions": [...]}`
with actions `{"press": "1234#"}`, `{"say": "text", "confidence": 0.93}`, `{"silence": true}`,
`{"hangup": true}`, `{"hangup_on_hearing": "text"}`, `{"handover": <script>}`,
`{"converse": ["line", ...], "confidence": 0.9}`; a behaviour is `{"answer": {"rings": 2}}`,
`"busy"`, `"no-answer"` or `"failed"`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal


@dataclass(frozen=True)
class Press:
    digits: str


@dataclass(frozen=True)
class Say:
    text: str
    confidence: float = 0.9


@dataclass(frozen=True)
class Silence:
    pass


@dataclass(frozen=True)
class Hangup:
    pass


@dataclass(frozen=True)
class HangupOnHearing:
    substring: str


@dataclass(frozen=True)
class Handover:
    script: Script


@dataclass(frozen=True)
class Converse:
    lines: tuple[str, ...]
    confidence: float = 0.9


Action = Press | Say | Silence | Hangup | HangupOnHearing | Handover | Converse


@dataclass(frozen=True)
class Script:
    """Who is on the line and what they will do, in order."""

    name: str
    actions: tuple[Action, ...] = ()


@dataclass(frozen=True)
class Behaviour:
    """How a dialled number reacts to a call."""

    outcome: Literal["answer", "busy", "no-answer", "failed"] = "answer"
    rings: int = 1


def script(name: str, *actions: Action) -> Script:
    return Script(name, tuple(actions))


def press(digits: str) -> Press:
    return Press(digits)


def say(text: str, confidence: float = 0.9) -> Say:
    return Say(text, confidence)


def silence() -> Silence:
    return Silence()


def hangup() -> Hangup:
    return Hangup()


def hangup_on_hearing(substring: str) -> HangupOnHearing:
    return HangupOnHearing(substring)


def handover(other: Script) -> Handover:
    return Handover(other)


def converse(lines: Sequence[str], confidence: float = 0.9) -> Converse:
    return Converse(tuple(lines), confidence)


def answer(rings: int = 1) -> Behaviour:
    return Behaviour("answer", rings)


def busy() -> Behaviour:
    return Behaviour("busy", 0)


def no_answer() -> Behaviour:
    return Behaviour("no-answer", 0)


def failed() -> Behaviour:
    return Behaviour("failed", 0)


@dataclass
class Party:
    """The person currently holding one phone line, and how far along their script is."""

    script: Script
    position: int = 0
    last_heard: str | None = None

    @property
    def name(self) -> str:
        return self.script.name

    def hangup_triggers(self) -> list[str]:
        return [a.substring for a in self.script.actions if isinstance(a, HangupOnHearing)]

    def peek(self) -> Action | None:
        """The next action that is not a standing instruction, without consuming it."""
        while self.position < len(self.script.actions):
            action = self.script.actions[self.position]
            if not isinstance(action, HangupOnHearing):
                return action
            self.position += 1
        return None

    def advance(self) -> None:
        self.position += 1

    def take_handover(self, action: Handover) -> None:
        self.script = action.script
        self.position = 0


def script_from_json(data: Mapping[str, Any]) -> Script:
    """Build a Script from its JSON form; raises ValueError naming what is wrong."""
    name = data.get("name")
    if not isinstance(name, str) or not name:
        raise ValueError("a script needs a non-empty 'name'")
    raw_actions = data.get("actions", [])
    if not isinstance(raw_actions, list):
        raise ValueError(f"script {name!r}: 'actions' must be a list")
    return Script(name, tuple(_action_from_json(name, a) for a in raw_actions))


def _action_from_json(owner: str, data: Any) -> Action:
    if not isinstance(data, dict):
        raise ValueError(f"script {owner!r}: each action must be an object, not {data!r}")
    confidence = float(data.get("confidence", 0.9))
    if "press" in data:
        return Press(str(data["press"]))
    if "say" in data:
        return Say(str(data["say"]), confidence)
    if "silence" in data:
        return Silence()
    if "hangup" in data:
        return Hangup()
    if "hangup_on_hearing" in data:
        return HangupOnHearing(str(data["hangup_on_hearing"]))
    if "handover" in data:
        return Handover(script_from_json(data["handover"]))
    if "converse" in data:
        lines = data["converse"]
        if not isinstance(lines, list):
            raise ValueError(f"script {owner!r}: 'converse' must be a list of lines")
        return Converse(tuple(str(line) for line in lines), confidence)
    raise ValueError(f"script {owner!r}: unknown action {data!r}")


def behaviour_from_json(data: Any) -> Behaviour:
    """Build a Behaviour from `"busy"`, `"no-answer"`, `"failed"` or `{"answer": {...}}`."""
    if data in ("busy", "no-answer", "failed"):
        return Behaviour(data, 0)
    if data == "answer":
        return answer()
    if isinstance(data, dict) and isinstance(data.get("answer"), dict):
        return answer(int(data["answer"].get("rings", 1)))
    raise ValueError(f"unknown behaviour {data!r}")
