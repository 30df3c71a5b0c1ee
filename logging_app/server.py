"""``ordophone serve``: gunicorn with several workers, each building its own app (and so its
own database engine) after the fork."""

from __future__ import annotations

from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication


class OrdophoneServer(BaseApplication):  # type: ignore[misc]
    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self) -> Flask:
        from logging_app import create_app

        return create_app()


def run_server(host: str, port: int, workers: int) -> None:
    OrdophoneServer(
        {
            "bind": f"{host}:{port}",
            "workers": workers,
            "worker_class": "gthread",
            "threads": 4,
            "preload_app": False,
            "timeout": 30,
            "graceful_timeout": 10,
            "accesslog": "-",
            # Never log query strings: URLs carry no patient data, but keep it that way.
            "access_log_format": '%(h)s "%(m)s %(U)s" %(s)s %(b)s %(M)sms',
        }
    ).run()
