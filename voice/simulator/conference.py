"""Conferences: joining, waiting, talking, leaving, and their status callbacks.

Conference-wide settings (statusCallback, its events and method) come from the first
participant's `<Conference>`, as on Twilio. The conference starts when a participant with
startConferenceOnEnter joins; it ends when a participant with endConferenceOnExit leaves,
when the last one leaves, or by REST. While it is live (started, two or more participants)
the parties' conversation lines are spoken turn by turn, in join order, after the status
callbacks fired so far have been delivered (so the app can start recording first).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Callable
from urllib.parse import urljoin

from voice.simulator import media
from voice.simulator.clock import rfc2822, utc_now
from voice.simulator.engine import CallEnded, Engine
from voice.simulator.parties import Converse, Hangup, Say
from voice.simulator.world import Call, Conference, Participant, new_sid

EVENT_NAMES = {
    "start": "conference-start",
    "end": "conference-end",
    "join": "participant-join",
    "leave": "participant-leave",
    "mute": "participant-mute",
    "hold": "participant-hold",
}
WaitMusic = Callable[[Engine, Call, str, str, Conference], None]


def _flag(element: ET.Element, name: str, default: bool) -> bool:
    return element.get(name, str(default)).lower() == "true"


def attend(
    engine: Engine, call: Call, element: ET.Element, doc_url: str | None, wait_music: WaitMusic
) -> str:
    """Take part in a conference until it ends or the call is taken out of it.

    Returns the DialCallStatus ("answered"); a hang-up or REST update raises after the
    call has left the conference.
    """
    room = join(engine, call, element, doc_url)
    wait_url = element.get("waitUrl")
    if wait_url is not None and doc_url is not None:
        wait_url = urljoin(doc_url, wait_url) if wait_url else ""
    try:
        while True:
            engine.check(call)
            with engine.world.lock:
                if call.sid not in room.participants:
                    return "answered"
                waiting = room.status == "init"
                free = room.live and not room.talking
                talk = free and _has_lines(engine, room)
                leaves = free and isinstance(call.party.peek(), Hangup)
            if talk:
                converse(engine, room)
            elif leaves:
                with engine.world.lock:
                    call.party.advance()
                engine.world.log(call.trace, call.party.name, "hangs up")
                raise CallEnded("completed")
            elif waiting and wait_url:
                wait_music(engine, call, wait_url, element.get("waitMethod", "POST"), room)
                _idle(engine, call, room, engine.wait_loop_interval)
            else:
                _idle(engine, call, room, 1.0)
    except CallEnded as ended:
        leave(engine, call, ended.reason)
        raise
    except Exception:
        leave(engine, call, "participant_updated_via_api")
        raise


def _idle(engine: Engine, call: Call, room: Conference, seconds: float) -> None:
    status = room.status
    with engine.world.lock:
        engine.world.changed.wait_for(
            lambda: (
                call.interrupted
                or room.status != status
                or call.sid not in room.participants
                or (
                    room.live
                    and not room.talking
                    and (_has_lines(engine, room) or isinstance(call.party.peek(), Hangup))
                )
            ),
            timeout=seconds,
        )


def join(engine: Engine, call: Call, element: ET.Element, doc_url: str | None) -> Conference:
    name = (element.text or "").strip()
    with engine.world.lock:
        room = engine.world.conference_named(name)
        if room is None:
            room = Conference(
                new_sid("CF"), call.account_sid, name, trace=call.trace, faults=call.faults
            )
            callback = element.get("statusCallback")
            if callback:
                room.status_callback = urljoin(doc_url, callback) if doc_url else callback
                room.status_callback_method = element.get("statusCallbackMethod", "POST")
                events = element.get("statusCallbackEvent", "start end").split()
                room.status_callback_events = frozenset(EVENT_NAMES.get(e, e) for e in events)
            engine.world.conferences[room.sid] = room
        participant = Participant(
            call.sid,
            start_conference_on_enter=_flag(element, "startConferenceOnEnter", True),
            end_conference_on_exit=_flag(element, "endConferenceOnExit", False),
            muted=_flag(element, "muted", False),
            label=element.get("participantLabel"),
        )
        room.participants[call.sid] = participant
        call.conference_sid = room.sid
        engine.log(call, f"{call.sid} joins conference {name} ({room.sid})")
        _event(engine, room, "participant-join", participant)
        if participant.start_conference_on_enter and room.status == "init":
            room.status = "in-progress"
            engine.log(call, f"conference {name} starts")
            _event(engine, room, "conference-start")
        engine.world.changed.notify_all()
    return room


def leave(engine: Engine, call: Call, reason: str) -> None:
    """Take the call out of its conference (if still in), ending it if need be."""
    with engine.world.lock:
        room = engine.world.conferences.get(call.conference_sid or "")
        call.conference_sid = None
        if room is None or call.sid not in room.participants:
            return
        participant = room.participants.pop(call.sid)
        engine.log(call, f"{call.sid} leaves conference {room.friendly_name} ({reason})")
        status = "completed" if reason == "participant_hung_up" else call.status
        _event(engine, room, "participant-leave", participant, status, reason)
        if participant.end_conference_on_exit:
            end(engine, room, "participant-with-end-conference-on-exit-left", call.sid)
        elif not room.participants:
            end(engine, room, "last-participant-left", call.sid)
        engine.world.changed.notify_all()


def kick(engine: Engine, room: Conference, call_sid: str) -> None:
    """Remove a participant by REST: its `<Dial>` ends and its action is requested."""
    with engine.world.lock:
        participant = room.participants.pop(call_sid, None)
        if participant is None:
            return
        call = engine.world.calls[call_sid]
        call.conference_sid = None
        engine.log(call, f"{call_sid} is removed from conference {room.friendly_name}")
        _event(engine, room, "participant-leave", participant, call.status, "participant_kicked")
        if participant.end_conference_on_exit:
            end(engine, room, "participant-with-end-conference-on-exit-kicked", call_sid)
        elif not room.participants:
            end(engine, room, "last-participant-kicked", call_sid)
        engine.world.changed.notify_all()


def end(engine: Engine, room: Conference, reason: str, ending_call_sid: str | None) -> None:
    """End the conference: everyone left is taken out. A call's recording goes on, as on
    Twilio, until the call ends or the recording is stopped."""
    with engine.world.lock:
        if room.status == "completed":
            return
        for participant in list(room.participants.values()):
            call = engine.world.calls[participant.call_sid]
            call.conference_sid = None
            _event(engine, room, "participant-leave", participant, call.status, "conference_ended")
        room.participants.clear()
        room.status = "completed"
        room.date_updated = utc_now()
        engine.world.log(room.trace, "sim", f"conference {room.friendly_name} ends ({reason})")
        _event(engine, room, "conference-end", reason=reason, ending_call_sid=ending_call_sid)
        engine.world.changed.notify_all()


def _has_lines(engine: Engine, room: Conference) -> bool:
    calls = engine.world.calls
    return any(isinstance(calls[p].party.peek(), Converse | Say) for p in room.participants)


def converse(engine: Engine, room: Conference) -> None:
    """Speak every pending line of the participants, one turn each, in join order."""
    engine.dispatcher.flush()
    with engine.world.lock:
        if room.talking or not room.live:
            return
        room.talking = True
        turns: list[list[tuple[Call, str, float]]] = []
        for call_sid in room.participants:
            call = engine.world.calls[call_sid]
            lines: list[tuple[Call, str, float]] = []
            action = call.party.peek()
            while isinstance(action, Converse | Say):
                if isinstance(action, Converse):
                    lines += [(call, line, action.confidence) for line in action.lines]
                else:
                    lines.append((call, action.text, action.confidence))
                call.party.advance()
                action = call.party.peek()
            turns.append(lines)
    try:
        for index in range(max((len(lines) for lines in turns), default=0)):
            for lines in turns:
                if index < len(lines) and room.live:
                    speaker, text, confidence = lines[index]
                    media.speak(engine, room, speaker, text, confidence)
    finally:
        with engine.world.lock:
            room.talking = False
            engine.world.changed.notify_all()


def _event(
    engine: Engine,
    room: Conference,
    event: str,
    participant: Participant | None = None,
    call_status: str | None = None,
    reason: str | None = None,
    ending_call_sid: str | None = None,
) -> None:
    """Queue a conference status callback if the conference subscribed to `event`."""
    if room.status_callback is None or event not in room.status_callback_events:
        return
    params = {
        "AccountSid": room.account_sid,
        "ConferenceSid": room.sid,
        "FriendlyName": room.friendly_name,
        "StatusCallbackEvent": event,
        "SequenceNumber": str(room.sequence),
        "Timestamp": rfc2822(utc_now()),
    }
    if participant is not None:
        params |= {
            "CallSid": participant.call_sid,
            "Muted": str(participant.muted).lower(),
            "Hold": "false",
            "Coaching": "false",
            "EndConferenceOnExit": str(participant.end_conference_on_exit).lower(),
            "StartConferenceOnEnter": str(participant.start_conference_on_enter).lower(),
        }
        if participant.label:
            params["ParticipantLabel"] = participant.label
    if call_status is not None:
        params["ParticipantCallStatus"] = call_status
    if reason is not None and event == "participant-leave":
        params["ReasonParticipantLeft"] = reason
    if event == "conference-end" and reason is not None:
        params["ReasonConferenceEnded"] = reason
        if ending_call_sid:
            params["CallSidEndingConference"] = ending_call_sid
    who = f" {participant.call_sid}" if participant else ""
    description = f"conference callback {room.friendly_name} {event}{who} (seq {room.sequence})"
    room.sequence += 1
    engine.callback(
        room.status_callback,
        room.status_callback_method,
        params,
        room.faults,
        description,
        room.trace,
        room.sid,
    )
