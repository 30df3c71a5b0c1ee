"""The simulator as an object: its HTTP server, its numbers, and the calls it places."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from flask import Flask

from voice.simulator import api_calls, api_conferences, api_media, api_messages, calls, scenarios
from voice.simulator.clock import Clock
from voice.simulator.engine import Engine
from voice.simulator.parties import Behaviour, Script, answer
from voice.simulator.serving import ServedApp, serve_wsgi
from voice.simulator.transport import Dispatcher, Exchange, Signing, Transport
from voice.simulator.world import Call, Faults, NumberEntry, RestFault, World


def create_app(engine: Engine) -> Flask:
    """The WSGI app: Twilio's REST subset and the `/_sim` control API."""
    app = Flask("voice.simulator")
    app.extensions["ordophone_simulator"] = engine
    parts = (api_calls, api_media, api_conferences, api_messages, scenarios)
    for blueprint in (part.bp for part in parts):
        app.register_blueprint(blueprint)
    return app


class CallHandle:
    """A simulated call, seen from outside."""

    def __init__(self, engine: Engine, call: Call) -> None:
        self._engine = engine
        self._call = call

    @property
    def sid(self) -> str:
        return self._call.sid

    @property
    def status(self) -> str:
        with self._engine.world.lock:
            return self._call.status

    @property
    def to(self) -> str:
        return self._call.to

    @property
    def direction(self) -> str:
        return self._call.direction

    @property
    def duration(self) -> int:
        with self._engine.world.lock:
            return self._call.duration

    def wait(self, timeout: float = 10.0) -> str:
        """Wait for the call to end; returns its final status."""
        if not self._call.done.wait(timeout):
            raise TimeoutError(f"call {self.sid} still {self.status} after {timeout} s")
        return self.status

    def log_text(self) -> str:
        """The log of this call's scenario (everything, for a call outside any)."""
        return self._engine.world.log_text(self._call.trace)


class Simulator:
    """A small Twilio: REST API, TwiML interpreter, scripted parties, injected faults."""

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        *,
        time_scale: float = 0.0,
        webhook_timeout: float = 15.0,
        faults: Faults | None = None,
        wait_loop_interval: float = 0.05,
        on_exchange: Callable[[Exchange], None] | None = None,
        signing: Signing | None = None,
        api_keys: Mapping[str, str] | None = None,
    ) -> None:
        """`on_exchange` hears of every webhook request sent (retries too) and how long its
        answer took; `webhook_timeout` is a webhook's total time when its URL names none;
        `signing` says how webhooks are signed; `api_keys` (SID: secret) authenticate REST
        requests beside the account SID and auth token."""
        self.world = World(account_sid, auth_token, faults or Faults(), api_keys)
        transport = Transport(auth_token, webhook_timeout, on_exchange, self.world.log, signing)
        dispatcher = Dispatcher(transport, self.world.log, seed=self.world.faults.seed)
        self.engine = Engine(
            self.world, Clock(time_scale), transport, dispatcher, wait_loop_interval
        )
        self.app = create_app(self.engine)
        self._served: ServedApp | None = None

    @property
    def base_url(self) -> str:
        return self.world.base_url

    def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve the REST and control APIs on a real port; returns the base URL."""
        self._served = serve_wsgi(self.app, host, port)
        self.world.base_url = self._served.base_url
        return self.world.base_url

    def stop(self) -> None:
        """Hang up every call, deliver pending callbacks, stop serving."""
        with self.world.lock:
            for call in self.world.calls.values():
                if not call.ended and call.hangup_requested is None:
                    call.hangup_requested = "completed"
            self.world.changed.notify_all()
        for call in list(self.world.calls.values()):
            call.done.wait(5.0)
        self.engine.dispatcher.stop()
        if self._served is not None:
            self._served.stop()

    def register_number(
        self,
        phone: str,
        behaviour: Behaviour | None = None,
        script: Script | None = None,
        *,
        faults: Faults | None = None,
    ) -> None:
        """Say how calls placed to `phone` are answered and who answers them."""
        with self.world.lock:
            self.world.numbers[phone] = NumberEntry(
                behaviour or answer(), script or Script(phone), faults
            )

    def place_inbound_call(
        self,
        from_: str,
        to: str,
        url: str,
        script: Script,
        *,
        method: str = "POST",
        fallback_url: str | None = None,
        status_callback: str | None = None,
        status_callback_events: Iterable[str] = ("completed",),
        faults: Faults | None = None,
    ) -> CallHandle:
        """`script` calls `to`, a number of the application whose voice URL is `url`."""
        call = calls.place_inbound(
            self.engine,
            from_=from_,
            to=to,
            url=url,
            script=script,
            method=method,
            fallback_url=fallback_url,
            status_callback=status_callback,
            status_callback_events=frozenset(status_callback_events),
            faults=faults,
        )
        return CallHandle(self.engine, call)

    def call(self, sid: str) -> CallHandle:
        with self.world.lock:
            return CallHandle(self.engine, self.world.calls[sid])

    def calls(self, to: str | None = None) -> list[CallHandle]:
        """Every call so far (to one number if given), oldest first."""
        with self.world.lock:
            found = [c for c in self.world.calls.values() if to in (None, c.to)]
        return [CallHandle(self.engine, c) for c in found]

    def wait_for_call(self, to: str, timeout: float = 10.0) -> CallHandle:
        """The first call placed to `to`, waiting for it to be placed."""
        with self.world.lock:
            found = self.world.changed.wait_for(
                lambda: [c for c in self.world.calls.values() if c.to == to], timeout
            )
            if not found:
                raise TimeoutError(f"no call to {to} after {timeout} s")
            return CallHandle(self.engine, found[0])

    def wait_idle(self, timeout: float = 10.0) -> None:
        """Wait until every call has ended and every callback has been delivered."""
        for call in list(self.world.calls.values()):
            if not call.done.wait(timeout):
                raise TimeoutError(f"call {call.sid} still {call.status} after {timeout} s")
        if not self.engine.dispatcher.flush(timeout):
            raise TimeoutError("status callbacks still undelivered")

    def rest_fault(
        self,
        operation: str,
        statuses: Iterable[int] = (),
        *,
        retry_after: int | None = None,
        latency: float = 0.0,
    ) -> None:
        """Make the REST ``operation`` (``create_call``, ``update_call``, ``create_message``…)
        answer ``statuses`` to its next requests, one each, and hold every request of it
        ``latency`` seconds; replaces the operation's previous switch."""
        with self.world.lock:
            self.world.rest_faults[operation] = RestFault(list(statuses), retry_after, latency)

    def clear_rest_faults(self) -> None:
        """The REST API answers normally again."""
        with self.world.lock:
            self.world.rest_faults.clear()

    def log_text(self) -> str:
        """The readable log of everything that happened."""
        return self.world.log_text()
