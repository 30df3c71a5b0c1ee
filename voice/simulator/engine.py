"""What every part of a running call needs: state, time, webhooks, and the party's ears.

`Engine` bundles the world, the clock and the webhook transport; it builds Twilio's
standard request parameters, queues status callbacks, and waits in virtual time in a way
that a REST update or a hang-up can interrupt.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from urllib.parse import urljoin

from voice.simulator.clock import Clock, rfc2822, utc_now
from voice.simulator.transport import Callback, Dispatcher, Transport
from voice.simulator.world import Call, Faults, World

API_VERSION = "2010-04-01"
# Call status → the StatusCallbackEvent that subscribes to it.
EVENT_OF_STATUS = {"initiated": "initiated", "ringing": "ringing", "in-progress": "answered"}


@dataclass(frozen=True)
class Step:
    """The next TwiML to run: a URL to request (with extra parameters), inline TwiML, or a
    document already fetched from `url`."""

    url: str | None
    method: str = "POST"
    params: dict[str, str] = field(default_factory=dict)
    twiml: str | None = None
    document: ET.Element | None = None


def resolve(doc_url: str | None, target: str | None) -> str | None:
    """An absolute URL for `target`, relative to the document that names it."""
    if not target:
        return None
    if doc_url is None:
        return target if "://" in target else None
    return urljoin(doc_url, target)


class CallEnded(Exception):
    """The call is over (a party hung up, `<Hangup>`, REST Status=completed...)."""

    def __init__(self, status: str = "completed", reason: str = "participant_hung_up") -> None:
        super().__init__(status)
        self.status = status
        self.reason = reason


class WaitOver(Exception):
    """The conference a call was waiting for has started (or the call left it)."""


class Interrupted(Exception):
    """A REST update asks the call to leave its current TwiML for new TwiML."""


class Engine:
    def __init__(
        self,
        world: World,
        clock: Clock,
        transport: Transport,
        dispatcher: Dispatcher,
        wait_loop_interval: float,
    ) -> None:
        self.world = world
        self.clock = clock
        self.transport = transport
        self.dispatcher = dispatcher
        self.wait_loop_interval = wait_loop_interval

    def standard_params(self, call: Call) -> dict[str, str]:
        """The parameters Twilio sends with every voice webhook about a call."""
        params = {
            "AccountSid": call.account_sid,
            "ApiVersion": API_VERSION,
            "CallSid": call.sid,
            "CallStatus": call.status,
            "Called": call.to,
            "Caller": call.from_,
            "Direction": call.direction,
            "From": call.from_,
            "To": call.to,
        }
        if call.parent_sid:
            params["ParentCallSid"] = call.parent_sid
        return params

    def callback(
        self,
        url: str,
        method: str,
        params: dict[str, str],
        faults: Faults,
        description: str,
        trace: str | None,
        stream: str,
    ) -> None:
        """Queue a status callback; those of one `stream` are delivered in order."""
        self.dispatcher.submit(Callback(url, method, params, faults, description, trace, stream))

    def call_status_callback(self, call: Call, status: str) -> None:
        """Send the call-progress event for `status` if the call subscribed to it."""
        with self.world.lock:
            call.status = status
            event = EVENT_OF_STATUS.get(status, "completed")
            if call.status_callback is None or event not in call.status_callback_events:
                return
            params = self.standard_params(call)
            params.update(
                SequenceNumber=str(call.sequence),
                Timestamp=rfc2822(utc_now()),
                CallbackSource="call-progress-events",
            )
            if event == "completed":
                params["CallDuration"] = str(call.duration)
            description = f"status callback {call.sid} {status} (seq {call.sequence})"
            call.sequence += 1
            url, method = call.status_callback, call.status_callback_method
        self.callback(url, method, params, call.faults, description, call.trace, call.sid)

    def answer(self, call: Call) -> None:
        """An inbound call is answered when its first TwiML document runs."""
        with self.world.lock:
            if call.direction != "inbound" or call.status != "ringing":
                return
            call.answered_at = call.elapsed
            call.start_time = utc_now()
        self.call_status_callback(call, "in-progress")

    def check(self, call: Call) -> None:
        """Raise if a hang-up or a REST update is pending, or the wait music is over."""
        with self.world.lock:
            if call.hangup_requested is not None:
                raise CallEnded(call.hangup_requested, "participant_updated_via_api")
            if call.pending is not None:
                raise Interrupted()
            if self._wait_over(call):
                raise WaitOver()

    def _wait_over(self, call: Call) -> bool:
        if call.waiting_in is None:
            return False
        room = self.world.conferences.get(call.waiting_in)
        return room is None or room.status != "init" or call.sid not in room.participants

    def pause(self, call: Call, virtual_seconds: float) -> None:
        """Let virtual time pass on this call; interruptible by REST updates."""
        with self.world.lock:
            call.elapsed += max(0.0, virtual_seconds)
            real = self.clock.real_seconds(virtual_seconds)
            if real > 0:
                self.world.changed.wait_for(
                    lambda: call.interrupted or self._wait_over(call),
                    timeout=real,
                )
        self.check(call)

    def hear(self, call: Call, text: str, language: str | None = None) -> None:
        """The party on `call` hears `text`; it may hang up on hearing it.

        While the call waits in a conference, the wait music's repeats are not logged.
        """
        with self.world.lock:
            party = call.party
            if not (call.waiting_in and party.last_heard == text):
                suffix = f" ({language})" if language else ""
                self.world.log(call.trace, party.name, f'hears: "{text}"{suffix}')
            party.last_heard = text
            triggered = any(s.lower() in text.lower() for s in party.hangup_triggers())
        if triggered:
            self.world.log(call.trace, party.name, "hangs up")
            raise CallEnded("completed")

    def log(self, call: Call, text: str) -> None:
        self.world.log(call.trace, "sim", text)
