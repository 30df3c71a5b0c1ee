"""What a party answers to a `<Gather>` (and a `<Record>`): the next action of its script."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from voice.simulator.engine import CallEnded, Engine
from voice.simulator.parties import Action, Converse, Handover, Hangup, Press, Say, Silence
from voice.simulator.world import Call


def next_input(engine: Engine, call: Call) -> Action | None:
    """The party's next input action, consumed (a converse action is left in place).

    Handovers on the way are taken: the new person on the line answers instead.
    Returns None for silence; raises CallEnded when the party hangs up.
    """
    with engine.world.lock:
        party = call.party
        action = party.peek()
        while isinstance(action, Handover):
            party.advance()
            engine.world.log(call.trace, party.name, f"hands the phone to {action.script.name}")
            party.take_handover(action)
            action = party.peek()
        if isinstance(action, Converse) or action is None:
            engine.world.log(call.trace, party.name, "stays silent")
            return None
        party.advance()
        if isinstance(action, Silence):
            engine.world.log(call.trace, party.name, "stays silent")
            return None
        if isinstance(action, Hangup):
            engine.world.log(call.trace, party.name, "hangs up")
            raise CallEnded("completed")
        if isinstance(action, Press):
            engine.world.log(call.trace, party.name, f"presses {action.digits}")
        elif isinstance(action, Say):
            engine.world.log(call.trace, party.name, f'says: "{action.text}"')
        return action


def ask(engine: Engine, call: Call, element: ET.Element) -> dict[str, str] | None:
    """The Gather action parameters for the party's answer, or None for no input."""
    inputs = element.get("input", "dtmf").split()
    action = next_input(engine, call)
    if isinstance(action, Press):
        if "dtmf" not in inputs:
            engine.log(call, "the keys are ignored: this Gather listens for speech only")
            return None
        return _digits(action.digits, element)
    if isinstance(action, Say):
        if "speech" not in inputs:
            engine.log(call, "the speech is ignored: this Gather listens for keys only")
            return None
        return {"SpeechResult": action.text, "Confidence": f"{action.confidence:.2f}"}
    return None


def _digits(keys: str, element: ET.Element) -> dict[str, str] | None:
    finish_on_key = element.get("finishOnKey", "#")
    num_digits = int(element.get("numDigits", "0") or "0")
    digits = ""
    for key in keys:
        if finish_on_key and key == finish_on_key:
            return {"Digits": digits, "FinishedOnKey": key} if digits else None
        digits += key
        if num_digits and len(digits) >= num_digits:
            break
    return {"Digits": digits} if digits else None
