"""Telling an imaging service that a record waits for it (R1, R6, R8), without patient data.

Notices are rows of an outbox (``models.Delivery``) written in the transaction that issues a
record version (``outbox.enqueue``), never from a webhook's request; the records renderer
sends them (``sender``) by email (``mail``, a real SMTP server) or by SMS (Twilio's Messages
API, through the telephony adapter), with retries and exponential backoff.
"""
