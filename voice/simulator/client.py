"""Pointing twilio-python at the simulator.

`twilio.rest.Client(sid, token, http_client=RewritingHttpClient(sim.base_url))` sends what
would go to https://api.twilio.com to the simulator instead; the paths are unchanged.
"""

from __future__ import annotations

from typing import Any

from twilio.http.http_client import TwilioHttpClient

TWILIO_API = "https://api.twilio.com"


class RewritingHttpClient(TwilioHttpClient):  # type: ignore[misc]  # twilio is untyped
    """Sends twilio-python's requests for api.twilio.com to `base_url`."""

    def __init__(self, base_url: str, timeout: float = 10.0) -> None:
        super().__init__(timeout=timeout)
        self.base_url = base_url.rstrip("/")

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        if url.startswith(TWILIO_API):
            url = self.base_url + url[len(TWILIO_API) :]
        return super().request(method, url, *args, **kwargs)
