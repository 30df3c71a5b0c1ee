"""Serving a WSGI application on a real port in a background thread.

The simulator serves its REST API this way, and tests and demos serve the application
under test the same way (the simulator sends real HTTP, so the application must listen).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server


@dataclass
class ServedApp:
    """A WSGI application listening on a real port."""

    base_url: str
    server: BaseWSGIServer
    thread: threading.Thread

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5.0)


class QuietRequestHandler(WSGIRequestHandler):
    """Werkzeug's handler without the access log line per request."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return


def serve_wsgi(app: Any, host: str = "127.0.0.1", port: int = 0) -> ServedApp:
    """Serve `app` with a threaded werkzeug server in a background thread."""
    server = make_server(host, port, app, threaded=True, request_handler=QuietRequestHandler)
    thread = threading.Thread(
        target=server.serve_forever, args=(0.05,), name="served-app", daemon=True
    )
    thread.start()
    return ServedApp(f"http://{host}:{server.server_port}", server, thread)
