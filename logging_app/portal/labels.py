"""Words shown for the stored codes (statuses, outcomes, roles…), translated."""

from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l
from flask_babel.speaklater import LazyString

LABELS: dict[str, dict[str, LazyString]] = {
    "status": {
        "draft": _l("Draft (no service chosen)"),
        "ready": _l("Ready to transmit"),
        "in_transmission": _l("Being transmitted"),
        "transmitted": _l("Transmitted"),
        "awaiting_confirmation": _l("Awaiting read-back confirmation"),
        "cancelled": _l("Cancelled"),
    },
    "outcome": {
        "transmitted": _l("Transmitted"),
        "awaiting_confirmation": _l("Conversation held, read-back not yet confirmed"),
        "refused_by_staff": _l("Not transmitted: only administrative staff answered"),
        "no_qualified_professional": _l("Not transmitted: no professional confirmed"),
        "busy": _l("Not transmitted: line busy"),
        "no_answer": _l("Not transmitted: no answer"),
        "failed": _l("Not transmitted: call failed"),
        "abandoned": _l("Not transmitted: the physician hung up"),
        "cancelled": _l("Cancelled by the physician"),
        "read_back_refused": _l("Not transmitted: the read-back was wrong or cut off"),
        "superseded": _l("Not transmitted: voided by a later call"),
        "": _l("In progress"),
    },
    "role": {
        "radiologist": _l("Radiologist"),
        "technologist": _l("Technologist"),
        "staff": _l("Administrative or other staff"),
        "physician": _l("Physician"),
        "professional": _l("Imaging service"),
        "clerk": _l("Records clerk"),
        "admin": _l("Administrator"),
        "service": _l("Imaging service staff"),
    },
    "channel": {"email": _l("Email"), "sms": _l("Text message (SMS)")},
    "delivery_status": {
        "pending": _l("Waiting to be sent"),
        "sent": _l("Sent"),
        "failed": _l("Failed"),
    },
    "copy": {
        "prescriber": _l("Copy for the prescriber's patient file"),
        "service": _l("Copy for the imaging service's file"),
    },
    "modality": {
        "radiography": _l("Radiography"),
        "ultrasound": _l("Ultrasound"),
        "ct": _l("CT scan"),
        "mri": _l("MRI"),
        "mammography": _l("Mammography"),
        "nuclear_medicine": _l("Nuclear medicine"),
        "other": _l("Other"),
    },
    "laterality": {
        "left": _l("Left"),
        "right": _l("Right"),
        "bilateral": _l("Bilateral"),
        "not_applicable": _l("Not applicable"),
    },
    "priority": {"routine": _l("Routine"), "urgent": _l("Urgent")},
    "authenticated_by": {
        "caller_id_and_pin": _l("caller ID and PIN"),
        "licence_and_pin": _l("licence number and PIN"),
        "portal_session_and_pin": _l("portal sign-in and PIN"),
        "portal_session_and_callback": _l("portal sign-in and a call back to the registered phone"),
        "caller_id+pin": _l("caller ID and PIN"),
        "licence+pin": _l("licence number and PIN"),
        "portal": _l("portal sign-in"),
    },
    "call_status": {
        "queued": _l("queued"),
        "initiated": _l("initiated"),
        "ringing": _l("ringing"),
        "in-progress": _l("answered"),
        "completed": _l("completed"),
        "busy": _l("busy"),
        "no-answer": _l("no answer"),
        "failed": _l("failed"),
        "canceled": _l("cancelled"),
    },
    "progress": {
        "calling_you": _l("Ordophone is calling your phone"),
        "you_answered": _l("You answered: press 1 to have the service called"),
        "service_ringing": _l("The service's phone is ringing"),
        "answered_by_staff": _l("Answered by staff, asked to transfer the call to a professional"),
        "professional_confirmed": _l("A professional confirmed their role"),
        "connected": _l("Connected: give the order, then have it read back"),
        "ended": _l("Call ended"),
    },
    "speaker": {
        "physician": _l("Physician"),
        "prescriber": _l("Physician"),
        "professional": _l("Imaging professional"),
    },
}


def label(kind: str, code: str | None) -> str:
    """The words for ``code`` of ``kind``; an unknown code is shown as it is."""
    text = LABELS.get(kind, {}).get(code or "")
    return str(text) if text is not None else (code or "—")


def grouped(number: str) -> str:
    """An order number as it is keyed on the phone, grouped for reading: "1234 5674"."""
    return f"{number[:4]} {number[4:]}"


def init_app(app: Flask) -> None:
    app.jinja_env.globals["label"] = label
    app.jinja_env.filters["grouped"] = grouped
