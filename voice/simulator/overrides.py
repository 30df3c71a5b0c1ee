"""Connection overrides: the URL fragment that tells Twilio how to deliver a webhook.

Twilio's "Webhooks connection overrides" page (twilio.com/docs/usage/webhooks/
webhooks-connection-overrides): a webhook URL may end with a fragment of `key=value` pairs,
such as `https://host/voice/answer?step=pin#rc=2&rp=ct,rt`. Twilio reads it and never
sends it: the request goes to the URL without its fragment, and is signed without it.

- `ct` connect timeout, ms (100-10000, default 5000);
- `rt` read timeout, ms: for the first byte of the answer, and between its packets
  (100-15000, default 15000);
- `tt` total time for the request and all its retries, ms (100-15000, default 15000);
- `rc` retry count (0-5, default 1);
- `rp` retry policy: the failures that are retried, comma-separated: `ct` (no connection),
  `rt` (a connection but no complete answer: reset, closed, timed out), `5xx`, `4xx`, `all`
  (default `ct`: only a failed connection is retried).

`e` (edge) and `sni` are accepted and ignored. An invalid override is an error, as on
Twilio (11243 for a bad `rp`): the webhook is not sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qsl, urldefrag

FAILURES = ("ct", "rt", "5xx", "4xx")
IGNORED = frozenset({"e", "sni"})
RANGES = {"ct": (100, 10_000), "rt": (100, 15_000), "tt": (100, 15_000), "rc": (0, 5)}


@dataclass(frozen=True)
class Overrides:
    """How one webhook is delivered: timeouts in seconds, retries and what they cover."""

    connect_timeout: float = 5.0
    read_timeout: float = 15.0
    total_time: float = 15.0
    retries: int = 1
    policy: frozenset[str] = frozenset({"ct"})

    def retried(self, failure: str) -> bool:
        return failure in self.policy


def split(url: str, total_time: float = 15.0) -> tuple[str, Overrides]:
    """The URL to request (without its fragment) and the overrides its fragment names.

    `total_time` (seconds) is the default `tt` and caps the default `ct` and `rt`.
    Raises `ValueError` on an unknown key or a value out of Twilio's range.
    """
    target, fragment = urldefrag(url)
    values: dict[str, int] = {}
    policy = frozenset({"ct"})
    for key, value in parse_qsl(fragment, keep_blank_values=True):
        if key in IGNORED:
            continue
        if key == "rp":
            policy = _policy(value)
        elif key in RANGES:
            values[key] = _milliseconds(key, value)
        else:
            raise ValueError(f"unknown connection override {key!r}")
    total = values["tt"] / 1000 if "tt" in values else total_time
    overrides = Overrides(
        connect_timeout=min(values.get("ct", 5000) / 1000, total),
        read_timeout=min(values.get("rt", 15_000) / 1000, total),
        total_time=total,
        retries=values.get("rc", 1),
        policy=policy,
    )
    return target, overrides


def _milliseconds(key: str, value: str) -> int:
    low, high = RANGES[key]
    if not value.isdigit() or not low <= int(value) <= high:
        raise ValueError(f"connection override {key}={value!r}: not in {low}..{high}")
    return int(value)


def _policy(value: str) -> frozenset[str]:
    names = {name.strip() for name in value.split(",")}
    if "all" in names:
        names = (names - {"all"}) | set(FAILURES)
    unknown = names - set(FAILURES)
    if unknown or not names:
        raise ValueError(f"error 11243: invalid retry policy rp={value!r}")
    return frozenset(names)
