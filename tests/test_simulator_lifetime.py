"""The simulator companion of ``ordophone serve`` ends when its parent does, even when the
parent is killed with SIGKILL (it would otherwise poll a dead port forever)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def _gone(pid: int) -> bool:
    """Exited (a zombie nobody reaped counts: it runs nothing)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return True
    return state in ("Z", "X")


def _wait(condition: object, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(0.1)
    return False


def test_the_simulator_stops_when_its_parent_is_killed() -> None:
    port = _free_port()
    parent_code = textwrap.dedent(f"""
        import subprocess, sys, time
        child = subprocess.Popen([sys.executable, "-m", "voice.simulator", "--port", "{port}",
            "--account-sid", "AC" + "1" * 32, "--auth-token", "t", "--exit-with-parent"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        print(child.pid, flush=True)
        time.sleep(120)
    """)
    parent = subprocess.Popen([sys.executable, "-c", parent_code], stdout=subprocess.PIPE)
    assert parent.stdout is not None
    child = int(parent.stdout.readline())
    try:
        assert _wait(lambda: _listening(port), 20), "the simulator never listened"
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait()
        parent.stdout.close()
        assert _wait(lambda: _gone(child), 10), "the simulator outlived its parent"
        assert not _listening(port)
    finally:
        if not _gone(child):
            os.kill(child, signal.SIGKILL)
