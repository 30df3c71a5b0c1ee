"""A call's life from dialling to hang-up, each in its own thread.

Outbound calls (placed by the REST API) are `initiated`, ring, and are answered (or are
busy, unanswered, failed or canceled) as the dialled number's `Behaviour` says; inbound
calls (placed by a scenario) arrive ringing. Then the TwiML runs; when it is over the call
leaves its conference, its recordings complete, its transcriptions stop, and the final
status callback is sent.
"""

from __future__ import annotations

import logging
import threading

from voice.simulator import conference, media, twiml
from voice.simulator.clock import RING_SECONDS, utc_now
from voice.simulator.engine import CallEnded, Engine, Step
from voice.simulator.parties import Party, Script
from voice.simulator.world import Call, Faults, new_sid

logger = logging.getLogger("voice.simulator")


def start(engine: Engine, call: Call) -> None:
    """Register the call and run it in its own thread."""
    with engine.world.lock:
        engine.world.calls[call.sid] = call
        engine.world.changed.notify_all()
    name = f"sim-call-{call.sid[:10]}"
    threading.Thread(target=_run, args=(engine, call), name=name, daemon=True).start()


def _run(engine: Engine, call: Call) -> None:
    status = "completed"
    try:
        if call.direction == "outbound-api":
            _ring(engine, call)
        else:
            engine.world.log(call.trace, call.party.name, f"calls {call.to}")
            engine.call_status_callback(call, "ringing")
        with engine.world.lock:
            first = Step(call.url, call.method, twiml=call.twiml)
        twiml.run(engine, call, first)
        engine.log(call, f"{call.sid}: end of TwiML, the call hangs up")
    except CallEnded as ended:
        status = ended.status
    except Exception:
        logger.exception("simulated call %s crashed", call.sid)
        engine.log(call, f"error: the simulator failed on {call.sid}; see the server log")
        status = "failed"
    finally:
        finish(engine, call, status)


def _ring(engine: Engine, call: Call) -> None:
    behaviour = call.behaviour
    engine.call_status_callback(call, "initiated")
    if behaviour.outcome in ("busy", "failed"):
        engine.log(call, f"{call.to} is {behaviour.outcome}")
        raise CallEnded(behaviour.outcome)
    engine.call_status_callback(call, "ringing")
    engine.log(call, f"{call.to} rings")
    ringing = RING_SECONDS * behaviour.rings
    if behaviour.outcome == "no-answer" or ringing > call.timeout:
        _wait_ringing(engine, call, float(call.timeout))
        engine.log(call, f"{call.to} does not answer")
        raise CallEnded("no-answer")
    _wait_ringing(engine, call, ringing)
    with engine.world.lock:
        call.answered_at = call.elapsed
        call.start_time = utc_now()
        engine.world.log(call.trace, call.party.name, "answers")
    engine.call_status_callback(call, "in-progress")


def _wait_ringing(engine: Engine, call: Call, seconds: float) -> None:
    with engine.world.lock:
        call.elapsed += seconds
        engine.world.changed.wait_for(
            lambda: call.hangup_requested is not None, timeout=engine.clock.real_seconds(seconds)
        )
        if call.hangup_requested is not None:
            engine.log(call, f"{call.sid} is canceled before it is answered")
            raise CallEnded("canceled")


def finish(engine: Engine, call: Call, status: str) -> None:
    """The call is over: leave the conference, close media, send the final callback."""
    conference.leave(engine, call, "participant_hung_up")
    with engine.world.lock:
        if status == "completed" and call.answered_at is None:
            status = "canceled" if call.direction == "outbound-api" else "completed"
        call.end_time = utc_now()
        call.date_updated = call.end_time
        call.status = status
    media.end_call_media(engine, call)
    engine.world.log(call.trace, "sim", f"{call.sid} ends: {status} ({call.duration} s)")
    engine.call_status_callback(call, status)
    with engine.world.lock:
        call.done.set()
        engine.world.changed.notify_all()


def place_inbound(
    engine: Engine,
    *,
    from_: str,
    to: str,
    url: str,
    script: Script,
    method: str = "POST",
    fallback_url: str | None = None,
    fallback_method: str = "POST",
    status_callback: str | None = None,
    status_callback_events: frozenset[str] = frozenset({"completed"}),
    faults: Faults | None = None,
    trace: str | None = None,
) -> Call:
    """A party calls one of the application's numbers, whose voice URL is `url`."""
    call = Call(
        sid=new_sid("CA"),
        account_sid=engine.world.account_sid,
        from_=from_,
        to=to,
        direction="inbound",
        party=Party(script),
        url=url,
        method=method.upper(),
        fallback_url=fallback_url,
        fallback_method=fallback_method.upper(),
        status_callback=status_callback,
        status_callback_events=status_callback_events | {"completed"},
        faults=faults or engine.world.faults,
        trace=trace,
        status="ringing",
    )
    start(engine, call)
    return call
