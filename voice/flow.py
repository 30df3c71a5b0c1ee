"""The call flow as a table of steps: each step has a prompt (the TwiML that asks) and an
answer handler (which reads what the caller keyed or said and names the next step).

The current step and its turn live on the call leg's row. A prompt's ``<Gather action>``
names its step and turn (``/voice/answer?step=pin&turn=3``), so that the route can tell the
answer to the current prompt (advance), a repeat of the last answer (the same TwiML again)
and a stale request (nothing changes; the current prompt is said again).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from urllib.parse import urlencode

from flask import Flask
from sqlalchemy.orm import Session
from twilio.twiml.voice_response import Gather, VoiceResponse

from logging_app.clock import now
from logging_app.config import Settings
from logging_app.models import ENDED_STEP, CallLeg
from voice import prompts

Effect = Callable[[Flask], None]
"""Work done once the webhook has been answered (REST requests to Twilio, the written
record): what Twilio waits for is only the committed state and the TwiML it implies."""


@dataclass(frozen=True)
class BeforeAnswer:
    """An effect the webhook's answer waits for: starting the recording and the transcript
    when both parties are in the room, so that no word of the conversation goes unrecorded."""

    run: Effect

    def __call__(self, app: Flask) -> None:
        self.run(app)


ENDED = ENDED_STEP
MAX_TRIES = 3  # unanswered or wrong answers before a step gives up
# Twilio's "Webhooks connection overrides" (twilio.com/docs/usage/webhooks/
# webhooks-connection-overrides), the fragment of every URL given to Twilio: a webhook is
# retried, twice at most, when the connection fails (ct), when it is cut before the whole
# answer came (rt: a worker killed mid-request), or on a 5xx (a proxy's 502 for that dead
# worker, or our own error, whose transaction rolled back). A retry carries the same
# idempotency token: one that was committed gets its stored answer (``webhooks._respond``).
# Never 4xx: a 403 for a bad signature is final. Without this, Twilio retries only a failed
# connection, and a cut webhook sends the call to its fallback URL.
CONNECTION_OVERRIDES = "rc=2&rp=ct,rt,5xx"


@dataclass
class Context:
    """What a step handler works with: the leg, its session, the request's form."""

    db: Session
    leg: CallLeg
    settings: Settings
    form: Mapping[str, str]
    effects: list[Effect] = field(default_factory=list)

    @property
    def language(self) -> str:
        return self.leg.language

    def text(self, key: str, **values: str) -> str:
        return prompts.text(key, self.language, **values)

    def url(self, path: str, **query: str | int) -> str:
        return public_url(self.settings, path, **query)

    def action(self) -> str:
        """Where the current prompt's answer goes."""
        return self.url("/voice/answer", step=self.leg.step, turn=self.leg.turn)

    def gather(self, response: VoiceResponse, **options: str | int | bool) -> Gather:
        """A ``<Gather>`` answering to the current step, posted even when nothing is keyed."""
        settings: dict[str, str | int | bool] = {
            "input": "dtmf",
            "action": self.action(),
            "method": "POST",
            "action_on_empty_result": True,
            "timeout": 8,
        }
        settings.update(options)
        gather: Gather = response.gather(**settings)
        return gather


def public_url(settings: Settings, path: str, **query: str | int) -> str:
    """The absolute URL Twilio requests for ``path``, with the connection overrides: Twilio
    reads the fragment, and neither sends nor signs it."""
    tail = f"?{urlencode(query)}" if query else ""
    return f"{settings.public_base_url}{path}{tail}#{CONNECTION_OVERRIDES}"


@dataclass(frozen=True)
class Next:
    """An answer handler's decision: say ``said``, then go to ``step`` (None: hang up)."""

    step: str | None
    said: tuple[str, ...] = ()
    again: bool = False  # the same step asks again: counts one more try


Prompt = Callable[[Context, VoiceResponse], None]
Answer = Callable[[Context], Next]


@dataclass(frozen=True)
class Step:
    prompt: Prompt
    answer: Answer


def _hang_up(ctx: Context, response: VoiceResponse) -> None:
    response.hangup()


def ignore(ctx: Context) -> Next:
    """The answer of a step that takes none: the call is over."""
    return Next(ENDED)


TABLE: dict[str, Step] = {ENDED: Step(_hang_up, ignore)}


def register(steps: Mapping[str, Step]) -> None:
    """Add a leg's steps to the table (each step name is unique across legs)."""
    clash = set(steps) & set(TABLE)
    if clash:
        raise ValueError(f"steps defined twice: {sorted(clash)}")
    TABLE.update(steps)


def key_of(step: str, turn: int | str) -> str:
    return f"{step}:{turn}"


def move(leg: CallLeg, decision: Next) -> None:
    """Put the leg on the decided step (a new turn)."""
    target = decision.step or ENDED
    if target == leg.step and decision.again:
        leg.step_tries += 1
    elif target != leg.step:
        leg.step_tries = 0
        leg.step_started_at = now()
    leg.step = target
    leg.turn += 1


def render(ctx: Context, said: tuple[str, ...] = ()) -> str:
    """The TwiML: what is said first, then the current step's prompt."""
    response = VoiceResponse()
    for words in said:
        prompts.say(response, words, ctx.language)
    TABLE[ctx.leg.step].prompt(ctx, response)
    return str(response)


def advance(ctx: Context) -> str:
    """Handle the answer to the current prompt; returns the TwiML that follows it."""
    decision = TABLE[ctx.leg.step].answer(ctx)
    move(ctx.leg, decision)
    return render(ctx, decision.said)


def digits(ctx: Context) -> str:
    """What the caller keyed, without the ``#`` that ended it ("" for nothing)."""
    return (ctx.form.get("Digits") or "").strip().rstrip("#")


def retry(ctx: Context, *said: str) -> Next:
    """Ask the same step again, or give up after ``MAX_TRIES`` tries."""
    if ctx.leg.step_tries + 1 >= MAX_TRIES:
        return Next(None, (*said, ctx.text("too_many_tries")))
    return Next(ctx.leg.step, said, again=True)
