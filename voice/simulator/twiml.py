"""The TwiML interpreter: fetch a document, run its verbs, follow where they lead.

Each verb handler returns `None` to go on with the next verb, or a `Step` (a URL to
request next, with extra parameters). The end of a document hangs up. A request that
still fails after its retries (a waitUrl included) goes to the call's FallbackUrl
(ErrorCode=11200); when that fails too, the caller hears an application error and the
call hangs up, as on Twilio.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable
from urllib.parse import urldefrag

from voice.simulator import conference, gather, media
from voice.simulator.clock import AUDIO_FILE_SECONDS, speaking_seconds
from voice.simulator.engine import CallEnded, Engine, Interrupted, Step, WaitOver, resolve
from voice.simulator.transport import Answer
from voice.simulator.world import Call, Conference

APPLICATION_ERROR = "An application error has occurred. Goodbye."


Verb = Callable[[Engine, Call, ET.Element, str | None], Step | None]


class FellBack(Exception):
    """A waitUrl failed and the FallbackUrl answered: the call leaves its conference for
    the fallback's document."""

    def __init__(self, root: ET.Element, doc_url: str) -> None:
        super().__init__(doc_url)
        self.step = Step(doc_url, document=root)


def run(engine: Engine, call: Call, first: Step) -> None:
    """Run TwiML from `first` until the call ends; returns when the document runs out."""
    step: Step | None = first
    while step is not None:
        try:
            if step.twiml is not None:
                inline = parse_document(step.twiml)
                if inline is None:
                    engine.log(call, "error: the inline TwiML is not a <Response> document")
                    engine.hear(call, APPLICATION_ERROR)
                    return
                root, doc_url = inline, None
            elif step.document is not None:
                root, doc_url = step.document, step.url
            else:
                assert step.url is not None
                root, doc_url = fetch(engine, call, step.url, step.method, step.params)
            engine.check(call)
            step = execute(engine, call, root, doc_url, VERBS)
        except Interrupted:
            with engine.world.lock:
                pending, call.pending = call.pending, None
            assert pending is not None
            engine.log(call, f"{call.sid} leaves its TwiML for a REST update")
            step = Step(pending.url, pending.method, twiml=pending.twiml)
        except FellBack as fell:
            step = fell.step


def execute(
    engine: Engine,
    call: Call,
    root: ET.Element,
    doc_url: str | None,
    verbs: dict[str, Verb],
    where: str = "TwiML",
) -> Step | None:
    """Run the verbs of one document with the given verb table."""
    for element in root:
        engine.check(call)
        handler = verbs.get(element.tag)
        if handler is None:
            engine.log(call, f"error: <{element.tag}> is not allowed in {where}; skipped")
            continue
        if element.tag != "Reject":
            # Twilio picks up an inbound call when it runs a verb other than <Reject>.
            engine.answer(call)
        step = handler(engine, call, element, doc_url)
        if step is not None:
            return step
    return None


def parse_document(text: str) -> ET.Element | None:
    """The `<Response>` root of a TwiML document, or None if it is not one."""
    try:
        root = ET.fromstring(text)  # noqa: S314 - TwiML from the app under test
    except ET.ParseError:
        return None
    return root if root.tag == "Response" else None


def fetch(
    engine: Engine, call: Call, url: str, method: str, extra: dict[str, str]
) -> tuple[ET.Element, str]:
    """Request TwiML for the call; fall back, or end the call, when that fails."""
    with engine.world.lock:
        params = engine.standard_params(call) | extra
        first_fetch = call.fetches == 0
        call.fetches += 1
    answer = engine.transport.send(url, method, params, call.faults, call.trace)
    root = _usable(engine, call, answer, first_fetch)
    if root is not None:
        return root, url
    return fall_back(engine, call, url, params)


def fall_back(
    engine: Engine, call: Call, url: str, params: dict[str, str]
) -> tuple[ET.Element, str]:
    """The FallbackUrl's document after `url` failed; with none, the call ends."""
    if call.fallback_url:
        engine.log(call, f"{call.sid} requests its FallbackUrl {call.fallback_url}")
        params = params | {"ErrorCode": "11200", "ErrorUrl": urldefrag(url).url}
        answer = engine.transport.send(
            call.fallback_url, call.fallback_method, params, call.faults, call.trace
        )
        root = _usable(engine, call, answer, False)
        if root is not None:
            return root, call.fallback_url
    engine.hear(call, APPLICATION_ERROR)
    raise CallEnded("completed")


def _usable(engine: Engine, call: Call, answer: Answer, first_fetch: bool) -> ET.Element | None:
    faults = call.faults
    if (faults.fail_primary and first_fetch) or any(p in answer.url for p in faults.fail_paths):
        engine.log(call, f"fault: the answer from {answer.url} is discarded (as an HTTP 500)")
        return None
    if not answer.ok:
        engine.log(call, f"error 11200: {answer.url} answered HTTP {answer.status}")
        return None
    root = parse_document(answer.body)
    if root is None:
        engine.log(call, f"error 12100: {answer.url} did not answer a TwiML <Response>")
    return root


def loops(element: ET.Element) -> int:
    """How many times to play; Twilio's loop="0" (forever) is capped at 10."""
    count = int(element.get("loop", "1") or "1")
    return 10 if count <= 0 else count


def say(engine: Engine, call: Call, element: ET.Element, doc_url: str | None) -> None:
    text = " ".join((element.text or "").split())
    language = element.get("language")
    for _ in range(loops(element)):
        engine.hear(call, text, language)
        engine.pause(call, speaking_seconds(text))


def play(engine: Engine, call: Call, element: ET.Element, doc_url: str | None) -> None:
    if element.get("digits"):
        engine.log(call, f"{call.sid} plays DTMF {element.get('digits')}")
        return
    audio = resolve(doc_url, (element.text or "").strip()) or (element.text or "").strip()
    for _ in range(loops(element)):
        engine.hear(call, f"<audio {audio}>")
        engine.pause(call, AUDIO_FILE_SECONDS)


def pause(engine: Engine, call: Call, element: ET.Element, doc_url: str | None) -> None:
    engine.pause(call, float(element.get("length", "1")))


def redirect(engine: Engine, call: Call, element: ET.Element, doc_url: str | None) -> Step | None:
    target = resolve(doc_url, (element.text or "").strip())
    if target is None:
        engine.log(call, "error: <Redirect> needs an absolute URL here")
        return None
    return Step(target, element.get("method", "POST"))


def hangup(engine: Engine, call: Call, element: ET.Element, doc_url: str | None) -> None:
    raise CallEnded("completed")


def reject(engine: Engine, call: Call, element: ET.Element, doc_url: str | None) -> None:
    # Twilio reports a rejected call as busy (reason="busy") or no-answer ("rejected").
    raise CallEnded("busy" if element.get("reason") == "busy" else "no-answer")


def gather_verb(
    engine: Engine, call: Call, element: ET.Element, doc_url: str | None
) -> Step | None:
    for child in element:
        handler = PROMPT_VERBS.get(child.tag)
        if handler is None:
            engine.log(call, f"error: <{child.tag}> is not allowed inside <Gather>; skipped")
            continue
        handler(engine, call, child, doc_url)
    result = gather.ask(engine, call, element)
    if result is None:
        engine.pause(call, float(element.get("timeout", "5")))
        if element.get("actionOnEmptyResult", "false").lower() != "true":
            return None
        result = {}
    action = resolve(doc_url, element.get("action")) if element.get("action") else doc_url
    if action is None:
        engine.log(call, "error: <Gather> in inline TwiML needs an absolute action URL")
        return None
    return Step(action, element.get("method", "POST"), result)


def dial(engine: Engine, call: Call, element: ET.Element, doc_url: str | None) -> Step | None:
    room = element.find("Conference")
    action = resolve(doc_url, element.get("action"))
    method = element.get("method", "POST")
    if room is None:
        engine.log(call, "error: only <Dial><Conference> is simulated; DialCallStatus=failed")
        outcome = "failed"
    else:
        try:
            outcome = conference.attend(engine, call, room, doc_url, wait_music)
        except CallEnded:
            if action:
                # Twilio still requests the action of a <Dial> the caller hung up in.
                with engine.world.lock:
                    params = engine.standard_params(call)
                params |= {"CallStatus": "completed", "DialCallStatus": "answered"}
                engine.transport.send(action, method, params, call.faults, call.trace)
            raise
    if action is None:
        return None
    return Step(action, method, {"DialCallStatus": outcome})


def wait_music(engine: Engine, call: Call, url: str, method: str, room: Conference) -> None:
    """One pass of a conference's wait TwiML: only Say, Play, Pause and Redirect run.

    It stops as soon as the conference starts; the caller requests it again while the
    conference has not started, as Twilio loops it. A waitUrl that fails after its retries
    is a failed webhook: the FallbackUrl, else the call ends (never a loop on a dead URL).
    """
    with engine.world.lock:
        call.waiting_in = room.sid
    try:
        target: str | None = url
        for _ in range(5):
            if target is None:
                return
            with engine.world.lock:
                params = engine.standard_params(call)
            params |= {"ConferenceSid": room.sid, "FriendlyName": room.friendly_name}
            answer = engine.transport.send(target, method, params, call.faults, call.trace)
            root = _usable(engine, call, answer, False)
            if root is None:
                raise FellBack(*fall_back(engine, call, target, params))
            step = execute(engine, call, root, target, WAIT_VERBS, "waitUrl TwiML")
            if step is None:
                return
            target, method = step.url, step.method
    except WaitOver:
        return
    finally:
        with engine.world.lock:
            call.waiting_in = None


PROMPT_VERBS: dict[str, Verb] = {"Say": say, "Play": play, "Pause": pause}
WAIT_VERBS: dict[str, Verb] = {**PROMPT_VERBS, "Redirect": redirect}
VERBS: dict[str, Verb] = {
    **WAIT_VERBS,
    "Gather": gather_verb,
    "Hangup": hangup,
    "Reject": reject,
    "Dial": dial,
    "Record": media.record_verb,
    "Start": media.start_verb,
    "Stop": media.stop_verb,
}
