"""``ordophone serve``: gunicorn with several workers, each building its own app (and so its
own database engine and connection pool) after the fork, and the records renderer.

``gunicorn_options`` is the one place the server's settings live; the load benchmark serves
its bare baseline endpoint with the same settings.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication

from logging_app.config import PROMETHEUS_MULTIPROC_ENV


def gunicorn_options(host: str, port: int, workers: int) -> dict[str, Any]:
    """Threaded workers (a webhook that waits on the database does not hold a process)."""
    return {
        "bind": f"{host}:{port}",
        "workers": workers,
        "worker_class": "gthread",
        "threads": 4,
        "preload_app": False,
        "timeout": 30,
        "graceful_timeout": 10,
        # gunicorn's control socket (for gunicornc) lives at one path per user: several
        # servers on a machine (tests, the benchmark's baseline) would share it. Unused here.
        "control_socket_disable": True,
        # Requests are logged by the app itself, one JSON line each (``request_log``).
        "accesslog": None,
    }


class WSGIServer(BaseApplication):  # type: ignore[misc]
    """gunicorn serving the app that ``load`` builds in each worker, after the fork."""

    def __init__(self, load: Callable[[], Any], options: dict[str, Any]) -> None:
        self.options = options
        self._load = load
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        return self._load()


def _ordophone() -> Flask:
    from logging_app import create_app, request_log

    request_log.configure()
    return create_app()


@contextmanager
def shared_metrics() -> Iterator[None]:
    """A folder where every worker keeps its share of the /metrics figures (prometheus_client's
    multiprocess mode), for as long as the server runs; set before prometheus_client loads.
    Entered again (a wrapper of ``serve`` entered it first), it keeps the folder it has."""
    if os.environ.get(PROMETHEUS_MULTIPROC_ENV):
        yield
        return
    folder = tempfile.mkdtemp(prefix="ordophone-metrics-")
    os.environ[PROMETHEUS_MULTIPROC_ENV] = folder
    try:
        yield
    finally:
        os.environ.pop(PROMETHEUS_MULTIPROC_ENV, None)
        shutil.rmtree(folder, ignore_errors=True)


def run_server(host: str, port: int, workers: int) -> None:
    """gunicorn's workers, and beside them the records renderer, stopped with the server."""
    from logging_app import preload

    renderer = Renderer()
    try:
        preload()  # the code, once, in the master; each worker makes its own app and engine
        WSGIServer(_ordophone, gunicorn_options(host, port, workers)).run()
    finally:
        renderer.stop()


class Renderer:
    """``ordophone records render`` in a process of its own, started again if it dies (a
    watcher thread in gunicorn's master looks every second: the master reaps every child,
    so the renderer's end is seen by polling, not by waiting for it)."""

    def __init__(self) -> None:
        self.process = self._start()
        self._stopping = threading.Event()
        self._watcher = threading.Thread(target=self._watch, name="renderer-watch", daemon=True)
        self._watcher.start()

    def _start(self) -> subprocess.Popen[bytes]:
        command = [sys.executable, "-c", "from logging_app.cli import main; main()"]
        return subprocess.Popen([*command, "records", "render"])  # noqa: S603 - our own

    def _watch(self) -> None:
        while not self._stopping.wait(1.0):
            if self.process.poll() is not None:
                print("records renderer ended; starting it again", file=sys.stderr, flush=True)
                self.process = self._start()

    def stop(self) -> None:
        self._stopping.set()
        self._watcher.join()
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
