"""An offline, Twilio-compatible telephony simulator: "a small Twilio".

The application, its tests, its demo and its load benchmark drive it instead of Twilio's
cloud. It never talks to Twilio. It is generic: it knows nothing of Ordophone.

What it is
----------
- A **REST API** (Flask, served on a real port) answering the subset of Twilio's API that
  twilio-python 9.x requests under `/2010-04-01/Accounts/<AccountSid>/`: `Calls.json`
  (create, list), `Calls/<CA>.json` (fetch; update with Url/Method, Twiml, Status=completed
  or canceled), `Calls/<CA>/Recordings.json` (start; `Recordings/<RE>.json` Status=stopped),
  `Calls/<CA>/Transcriptions.json` (start; `Transcriptions/<GT or Name>.json`
  Status=stopped), `Recordings.json`, `Recordings/<RE>.json` (fetch, delete),
  `Recordings/<RE>.wav` (a deterministic WAV), `Conferences.json?FriendlyName=&Status=`,
  `Conferences/<CF>.json` (fetch; Status=completed ends it), `Conferences/<CF>/
  Participants.json` and `Participants/<CA>.json` (fetch; DELETE removes the participant,
  whose `<Dial>` action then runs), `Messages.json` (create, list) and `Messages/<SM>.json`
  (fetch): a text is logged (`[sms] to +1…: …`) and reported `sent` then `delivered` to its
  StatusCallback (`World.undeliverable`: `undelivered`, 30003). HTTP Basic auth with the
  account SID and auth token; errors are Twilio-shaped (`{"code": 20404, "message": ...,
  "more_info": ..., "status"}`), so twilio-python raises `TwilioRestException` as with Twilio.
- A **TwiML interpreter**: each call runs in its own thread, requests its TwiML with the
  standard parameters (AccountSid, ApiVersion, CallSid, CallStatus, Called, Caller,
  Direction, From, To, ParentCallSid), signed as Twilio does (`X-Twilio-Signature` =
  `RequestValidator(token).compute_signature(url, params)`) with an
  `I-Twilio-Idempotency-Token` per delivery. It runs Say, Play, Pause, Gather, Redirect,
  Hangup, Reject, Dial/Conference, Record, Start/Stop (Transcription, Recording).
- **Parties as scripts** (see `voice.simulator.parties`): who answers each number, what
  they press and say, when they hang up, a receptionist handing over to a technologist.
- **Fault injection** (`Faults`): duplicated webhooks, reordered status callbacks, a
  failing primary URL so that the FallbackUrl is used, answers lost to a reset connection;
  and the REST API's switches (`Simulator.rest_fault`, `PUT /_sim/rest-faults`): an
  operation answers HTTP errors (429, 503… with `Retry-After`) or answers late.
- A **control API** for another process (`/_sim/scenarios`, see `voice.simulator.scenarios`)
  and a command line: `python -m voice.simulator --port 5001 --account-sid AC… --auth-token …`.

Use from Python
---------------
    sim = Simulator("AC" + "0" * 32, "token")
    base_url = sim.start()                       # http://127.0.0.1:<port>
    sim.register_number("+15145550199", answer(rings=2), script(
        "receptionist", press("3"), handover(script(
            "technologist", press("2"), say("Marie Tremblay", confidence=0.93),
            converse(["I read back: CT of the head."]), hangup()))))
    call = sim.place_inbound_call("+15145550100", "+15145550000",
                                  "http://127.0.0.1:5000/voice/incoming",
                                  script("physician", press("1234#"), converse(["CT head."])))
    call.wait(timeout=10)                        # final status
    sim.wait_idle()                              # every call over, every callback sent
    print(sim.log_text())                        # [physician] hears: "…" / presses 1234# …
    sim.stop()

The application's twilio `Client` reaches the simulator when its HTTP client rewrites
`https://api.twilio.com` to the simulator's base URL (`client.RewritingHttpClient`).

Time
----
Durations are virtual (`clock.py`): rings (6 s each), Pause, Gather timeouts, speech (0.4 s
a word). They make CallDuration and RecordingDuration, and the simulator really waits
`virtual * time_scale` seconds: 0.0 (default) never sleeps, 1.0 is real time. Waiting in a
conference re-requests the waitUrl at most every `wait_loop_interval` real seconds.

Webhooks and their parameters
-----------------------------
Every request is form-encoded (GET: in the query string), signed, and carries an
`I-Twilio-Idempotency-Token`. Redirects (3xx) are followed with a GET, parameters dropped.
A URL's connection overrides (its fragment, `#rc=2&rp=ct,rt`: see `overrides`) set the
timeouts and which failures are retried; the fragment is neither sent nor signed, and a
retry carries the same idempotency token. Without them, only a failed connection is
retried, once. A TwiML request that still fails (a waitUrl included: the call then leaves
its conference) goes to the FallbackUrl, and when that fails too the call hangs up; a
status callback is given up.

- TwiML requests (voice URL, Redirect, waitUrl, actions): the standard parameters above;
  Gather action + `Digits` and `FinishedOnKey`, or `SpeechResult` and `Confidence`;
  Dial action + `DialCallStatus` (`answered` for a conference; `CallStatus=completed` when
  the caller hung up in it); Record action + `RecordingUrl`, `RecordingDuration`,
  `RecordingSid`, `Digits`; waitUrl + `ConferenceSid`, `FriendlyName`; FallbackUrl +
  `ErrorCode=11200`, `ErrorUrl`.
- Call status (StatusCallback, for the StatusCallbackEvent subscribed: initiated ringing
  answered completed; completed always): standard + `SequenceNumber` (0, 1, ...),
  `Timestamp` (RFC 2822), `CallbackSource=call-progress-events`, `CallDuration` on the
  final one (completed, busy, no-answer, failed, canceled).
- Conference (the first participant's statusCallback, events start end join leave):
  `AccountSid`, `ConferenceSid`, `FriendlyName`, `StatusCallbackEvent`
  (conference-start, conference-end, participant-join, participant-leave),
  `SequenceNumber`, `Timestamp`; participant events + `CallSid`, `Muted`, `Hold`,
  `Coaching`, `EndConferenceOnExit`, `StartConferenceOnEnter`, `ParticipantLabel`; leave +
  `ParticipantCallStatus`, `ReasonParticipantLeft`; end + `ReasonConferenceEnded`,
  `CallSidEndingConference`.
- Recording (RecordingStatusCallback, events in-progress completed): `AccountSid`,
  `CallSid`, `RecordingSid`, `RecordingUrl`, `RecordingStatus`, `RecordingDuration`,
  `RecordingChannels`, `RecordingSource`, `RecordingStartTime`.
- Real-time transcription (StatusCallbackUrl): `AccountSid`, `CallSid`,
  `TranscriptionSid`, `Timestamp`, `SequenceId` (1, 2, ...), `TranscriptionEvent`
  (transcription-started, transcription-content, transcription-stopped), `LanguageCode`;
  content + `Track` (inbound_track: the transcribed call's own party; outbound_track: the
  others), `TranscriptionData` (JSON `{"transcript", "confidence"}`), `Final=true`.

Status callbacks go out from background threads, each stream (one call, conference,
recording or transcription) in the order it was fired, or shuffled a few at a time with
the reorder fault; TwiML requests are made by the call's own thread. Before a conference
conversation starts, the callbacks fired so far are delivered, so that the application
can react to `participant-join` (start a recording, a transcription). Status callbacks
may arrive before the REST request that placed the call has returned, as on Twilio:
name what the app needs in the callback URL's query string.

Faults
------
`fail_primary` *sends* the first TwiML request and discards the answer, as when Twilio
times out on an application that did the work anyway; the call then requests its
FallbackUrl. The application therefore sees both requests, which exercises idempotency.
`reset_paths` lets the application do its work and answer, then loses the answer (the
connection is reset): what a worker killed mid-request looks like to Twilio. The URL's
overrides decide whether it is retried (`rp=rt`).

REST faults are set by operation, the REST view's name (`create_call`, `update_call`,
`create_message`, `create_recording`…): `sim.rest_fault("create_call", [503, 429],
retry_after=1)` makes its next two requests answer 503 then 429 (Twilio-shaped errors, so
twilio-python raises `TwilioRestException`), `sim.rest_fault("create_call", latency=30)`
holds each request 30 s *before* handling it: a client that gives up at 10 s has still
placed the call, as when Twilio answers late. `World.rest_requests` counts each
operation's requests, faulted ones included. `sim.clear_rest_faults()` ends them.

Semantics worth knowing
-----------------------
- REST `Status=canceled` ends only a queued or ringing call; on an answered call it is
  ignored, as on Twilio (use `completed`). `completed` on a ringing call ends it `canceled`.
- A REST redirect (Url or Twiml) takes a call out of its conference without running the
  `<Dial>` action; removing the participant (DELETE) or ending the conference runs it.
- `<Reject>` ends an inbound call unanswered: `busy` (reason="busy") or `no-answer`.
- End of document hangs up; a failed TwiML request without FallbackUrl, or whose
  FallbackUrl fails too, makes the party hear "An application error has occurred" and
  hangs up.

Not simulated
-------------
`<Dial>` to `<Number>`, `<Client>`, `<Sip>` or `<Queue>` (DialCallStatus=failed is
logged), `<Enqueue>`, `<Connect>`, `<Stream>`, `record` on `<Dial>` or on `Calls.json`,
conference recording, mute/hold events, answering-machine detection, partial
transcription results, `RecordingStatus=absent`, Gather barge-in and
partialResultCallback.

Modules
-------
`server` (Simulator, CallHandle), `world` (state, Faults), `engine` (shared context),
`calls` (lifecycle), `twiml` (interpreter), `gather`, `conference`, `media` (recordings,
transcriptions), `transport` (signed delivery, retries, dispatcher), `overrides` (the
URL fragment's connection overrides), `api*` and `scenarios`
(HTTP), `parties` (scripts), `clock`, `serving` and `client` (wiring an app to the
simulator), `sample_ivr` (the reference app the tests drive).
"""

from voice.simulator.parties import (
    Behaviour,
    Script,
    answer,
    busy,
    converse,
    failed,
    handover,
    hangup,
    hangup_on_hearing,
    no_answer,
    press,
    say,
    script,
    silence,
)
from voice.simulator.server import CallHandle, Simulator
from voice.simulator.world import Faults

__all__ = [
    "Behaviour",
    "CallHandle",
    "Faults",
    "Script",
    "Simulator",
    "answer",
    "busy",
    "converse",
    "failed",
    "handover",
    "hangup",
    "hangup_on_hearing",
    "no_answer",
    "press",
    "say",
    "script",
    "silence",
]
