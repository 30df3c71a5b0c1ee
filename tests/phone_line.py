"""A real Ordophone server and the simulator on two real ports of 127.0.0.1, for the tests
that drive whole calls (nothing is patched: the gateway reaches the simulator because
TWILIO_API_BASE_URL says so)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import create_engine
from sqlalchemy.orm import Session
from werkzeug.wsgi import ClosingIterator

from logging_app import audit, create_app, schema
from logging_app.db import engine_of, transaction
from logging_app.demo import seed_if_empty
from logging_app.record import issuing
from tests.conftest import app_overrides
from voice import scenarios
from voice.simulator import Simulator
from voice.simulator.serving import ServedApp, serve_wsgi
from voice.simulator.transport import Signing

ACCOUNT_SID = "AC" + "5" * 32
AUTH_TOKEN = "simulated-auth-token"
TWILIO_NUMBER = "+15145550000"
TIME_SCALE = 0.01  # real seconds per simulated second: calls take a second or two


class Switchboard:
    """A WSGI app that forwards to whichever app is plugged in (the server is started
    before the app exists, so that the app can be told its own public URL). It counts the
    requests in progress until the server closes their response, when the app's work after
    the answer (REST requests, the written record) is done."""

    def __init__(self) -> None:
        self.app: Flask | None = None
        self.busy = 0
        self.changed = threading.Condition()

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        assert self.app is not None
        with self.changed:
            self.busy += 1
        try:
            return ClosingIterator(self.app(environ, start_response), [self._done])
        except BaseException:
            self._done()
            raise

    def _done(self) -> None:
        with self.changed:
            self.busy -= 1
            self.changed.notify_all()

    def wait_idle(self, timeout: float) -> None:
        with self.changed:
            assert self.changed.wait_for(lambda: self.busy == 0, timeout), "server still busy"


@dataclass
class PhoneLine:
    app: Flask
    sim: Simulator
    served: ServedApp
    switchboard: Switchboard

    @property
    def url(self) -> str:
        return self.served.base_url

    @property
    def control(self) -> scenarios.SimulatorControl:
        return scenarios.SimulatorControl(self.sim.base_url, ACCOUNT_SID, AUTH_TOKEN)

    def run(self, name: str, faults: dict[str, Any] | None = None) -> tuple[str, dict[str, Any]]:
        """Run the named scenario on a fresh order; returns the call's log and the order."""
        scenario = scenarios.SCENARIOS[name]
        number, service_phone = scenarios.prepare_order(self.app, scenario)
        request = scenarios.scenario_request(
            scenario, number, self.url, TWILIO_NUMBER, service_phone
        )
        if faults is not None:
            request["faults"] = faults
        log = self.control.run(request, timeout=30)
        self.wait_idle()
        return log, scenarios.settle(self.app, number)

    def wait_idle(self) -> None:
        """Every call over, every callback answered, the server's work after its answers
        done (twice: that work may fire a last callback), and every record then due issued
        by the renderer."""
        for _ in range(2):
            self.sim.wait_idle(timeout=15)
            self.switchboard.wait_idle(timeout=15)
        deadline = time.monotonic() + 15
        while True:
            with transaction(self.app) as db:
                if not issuing.anything_due(db):
                    return
            assert time.monotonic() < deadline, "records renderer still busy"
            time.sleep(0.02)

    @contextmanager
    def inspect(self) -> Iterator[Session]:
        """A session on the line's database, for assertions."""
        engine = create_engine(self.app.config["ORDOPHONE"].database_url)
        try:
            info = {audit.KEY: self.app.config["ORDOPHONE"].audit_key}
            with Session(engine, expire_on_commit=False, info=info) as session:
                yield session
        finally:
            engine.dispose()


def open_line(
    tmp_path: Path,
    *,
    time_scale: float = TIME_SCALE,
    signing: Signing | None = None,
    api_keys: dict[str, str] | None = None,
    **settings: Any,
) -> Iterator[PhoneLine]:
    """``time_scale``: real seconds per simulated second (slower lets a browser watch);
    ``signing``: how the simulator signs webhooks; ``api_keys``: the REST API keys it
    knows; ``settings``: Ordophone's, on top of the line's."""
    sim = Simulator(
        ACCOUNT_SID, AUTH_TOKEN, time_scale=time_scale, signing=signing, api_keys=api_keys
    )
    sim_url = sim.start()
    switchboard = Switchboard()
    served = serve_wsgi(switchboard)
    overrides = app_overrides(tmp_path) | {
        "PUBLIC_BASE_URL": served.base_url,
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_PHONE_NUMBER": TWILIO_NUMBER,
        "TWILIO_API_BASE_URL": sim_url,
        "TRANSFER_MAX_PROMPTS": 4,
    }
    app = create_app(overrides | settings)
    schema.upgrade(engine_of(app))
    with transaction(app) as db:
        seed_if_empty(db, "test")
    switchboard.app = app
    # The records renderer, as ``ordophone serve`` runs it beside its workers.
    stop_renderer = threading.Event()
    renderer = threading.Thread(
        target=issuing.render_forever, args=(app, stop_renderer), kwargs={"poll_seconds": 0.02}
    )
    renderer.start()
    line = PhoneLine(app, sim, served, switchboard)
    try:
        yield line
    finally:
        stop_renderer.set()
        renderer.join()
        sim.stop()
        line.served.stop()
        # A test may have put a restarted app (and server) on the line: close both pools,
        # or a connection left open is found by the garbage collector in a later test.
        for each in {app, line.app}:
            engine_of(each).dispose()
