"""The built-in simulator as ``ordophone serve``'s companion when no Twilio credentials are
set: one process beside gunicorn's workers, on the next port, sharing a freshly generated
account SID and auth token with the app (through the environment the workers inherit).

Where it listens and its credentials are also written to the instance folder
(``simulator.json``, readable by its owner only) for ``ordophone simulate``.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from voice.scenarios import SimulatorControl

DEMO_TWILIO_NUMBER = "+15145550000"
TIME_SCALE = 0.05  # a simulated minute takes three real seconds
STATE_FILE = "simulator.json"


@dataclass(frozen=True)
class Companion:
    base_url: str
    account_sid: str
    auth_token: str
    phone_number: str
    app_url: str


def start(host: str, port: int, instance_path: Path) -> tuple[subprocess.Popen[bytes], Companion]:
    """Start the simulator on ``port + 1``, wait until it listens, and point the app at it."""
    sim_port = port + 1
    companion = Companion(
        base_url=f"http://127.0.0.1:{sim_port}",
        account_sid="AC" + secrets.token_hex(16),
        auth_token=secrets.token_hex(20),
        phone_number=os.environ.get("TWILIO_PHONE_NUMBER") or DEMO_TWILIO_NUMBER,
        app_url=os.environ.get("PUBLIC_BASE_URL") or f"http://127.0.0.1:{port}",
    )
    command = [
        sys.executable, "-m", "voice.simulator", "--host", "127.0.0.1",
        "--port", str(sim_port), "--account-sid", companion.account_sid,
        "--auth-token", companion.auth_token, "--time-scale", str(TIME_SCALE),
        "--exit-with-parent",
    ]  # fmt: skip
    process = subprocess.Popen(command)  # noqa: S603 - our own module, fixed arguments
    _wait_listening(process, sim_port)
    SimulatorControl(
        companion.base_url, companion.account_sid, companion.auth_token
    ).answer_demo_phones()
    os.environ.update(
        TWILIO_API_BASE_URL=companion.base_url,
        TWILIO_ACCOUNT_SID=companion.account_sid,
        TWILIO_AUTH_TOKEN=companion.auth_token,
        TWILIO_PHONE_NUMBER=companion.phone_number,
        PUBLIC_BASE_URL=companion.app_url,
    )
    save(instance_path, companion)
    return process, companion


def _wait_listening(process: subprocess.Popen[bytes], port: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the simulator exited (status {process.returncode})")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    process.terminate()
    raise RuntimeError(f"the simulator did not listen on port {port} within {timeout:.0f} s")


def save(instance_path: str | Path, companion: Companion) -> None:
    """Record where the companion listens (for `ordophone simulate`), owner-readable only."""
    path = Path(instance_path) / STATE_FILE
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(asdict(companion), handle, indent=2)


def load(instance_path: Path) -> Companion | None:
    """The companion that ``ordophone serve`` started, if any."""
    path = instance_path / STATE_FILE
    if not path.exists():
        return None
    return Companion(**json.loads(path.read_text()))


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
