"""The written record of a verbal imaging order, as PDF (DESIGN §5, rules R2, R4, R7, R8).

A pure builder: `render_record` takes the record's canonical content (a JSON-able mapping,
exactly what is printed) and returns the PDF bytes of one of its two copies. The same
content and copy always give the same bytes, so a stored record can be re-rendered and
compared. `content_sha256` is the hash printed on the record.
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import re
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from reportlab import rl_config
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    BaseDocTemplate,
    CondPageBreak,
    Flowable,
    Frame,
    KeepTogether,
    PageTemplate,
)

from . import pdf_format as f
from . import pdf_layout as layout
from .pdf_fonts import FONT, register_fonts
from .pdf_page import NumberedCanvas, draw_running_text

Copy = Literal["prescriber", "service"]

SCHEMA = "ordophone-record/1"
TITLE = "Ordonnance verbale d'imagerie médicale / Verbal imaging order — record"

BANNERS: dict[str, tuple[str, str]] = {
    "prescriber": (
        "Copie pour le dossier du patient (prescripteur)",
        "Copy for the prescriber's patient file",
    ),
    "service": (
        "Copie pour le dossier du service d'imagerie",
        "Copy for the imaging service's file",
    ),
}
SHORT_BANNERS = {
    "prescriber": "Copie prescripteur / Prescriber copy",
    "service": "Copie service d'imagerie / Imaging service copy",
}

# The certification of rule R4, word for word from the CMQ guide, then our translation.
CERTIFICATION_FR = (
    "Je certifie que : ce document est une ordonnance originale et que celle-ci ne sera pas "
    "réutilisée. Elle sera conservée au dossier du patient; le service ou le laboratoire "
    "d'imagerie identifié en est le seul destinataire."
)
CERTIFICATION_EN = (
    "I certify that: this document is an original order and that it will not be reused. "
    "It will be kept in the patient's file; the identified imaging service or laboratory "
    "is its sole recipient."
)

CHOSEN_BY_PATIENT = ("Service choisi par le patient", "Service chosen by the patient")

_NANP_PHONE = re.compile(r"^\+1(\d{3})(\d{3})(\d{4})$")


def content_sha256(content: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of the canonical JSON of the record's content (rule R2)."""
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def render_record(content: Mapping[str, Any], copy: Copy) -> bytes:
    """The PDF of one copy of the record; the copies differ only by their banner (R8)."""
    if copy not in BANNERS:
        raise ValueError(f"unknown copy: {copy!r}")
    if content.get("schema") != SCHEMA:
        raise ValueError(f"unsupported record schema: {content.get('schema')!r}")
    _prepare_reportlab()
    digest = content_sha256(content)
    buffer = io.BytesIO()
    doc = BaseDocTemplate(
        buffer,
        pagesize=layout.PAGE_SIZE,
        leftMargin=layout.MARGIN_X,
        rightMargin=layout.MARGIN_X,
        topMargin=layout.MARGIN_TOP,
        bottomMargin=layout.MARGIN_BOTTOM,
        title=TITLE,
        author="Ordophone",
        subject=str(content["order"]["number"]),
        creator=f"Ordophone ({SCHEMA})",
        invariant=1,
        initialFontName=FONT,
        lang="fr-CA",
        displayDocTitle=1,
    )
    frame = Frame(
        doc.leftMargin,
        doc.bottomMargin,
        doc.width,
        doc.height,
        leftPadding=0,
        rightPadding=0,
        topPadding=0,
        bottomPadding=0,
    )
    running = functools.partial(_draw_running_text, content=content, copy=copy)
    doc.addPageTemplates([PageTemplate(id="record", frames=[frame], onPage=running)])
    canvasmaker = functools.partial(NumberedCanvas, creation_date=f.pdf_date(content["issued_at"]))
    doc.build(_story(content, copy, digest), canvasmaker=canvasmaker)
    return buffer.getvalue()


@functools.cache
def _prepare_reportlab() -> None:
    """Once per process: register the fonts; compress page streams without ASCII85.

    ASCII85 only makes binary streams 7-bit clean (a concern of old mail gateways); it
    adds a quarter to their size and a tenth to the rendering time, in pure Python.
    reportlab reads this setting globally, so it is set once for the process, never
    toggled around a render (which would make the bytes depend on concurrent renders).
    """
    register_fonts()
    rl_config.useA85 = 0


def _story(content: Mapping[str, Any], copy: Copy, digest: str) -> list[Flowable]:
    s = layout.styles()
    return [
        layout.Text(
            "Ordonnance verbale d'imagerie médicale<br/>"
            f'<font name="{FONT}" size="12" color="{layout.MUTED_HEX}">'
            "/ Verbal imaging order — record</font>",
            s.title,
        ),
        layout.Text(
            layout.markup(
                f"{f.bilingual('Émis le', 'Issued')} : {f.local_time(content['issued_at'])}"
                f" — {f.bilingual('heure de Montréal', 'Montreal time')}"
            ),
            s.subtitle,
        ),
        _banner(copy),
        layout.gap(8),
        _summary(content),
        *_order_section(content),
        *_patient_section(content["patient"]),
        *_prescriber_section(content["prescriber"]),
        *_exam_section(content["order"]),
        *_service_section(content["service"]),
        *_professional_section(content["professional"], content["refusals"]),
        *_call_section(content["call"], content["read_back"]),
        _certification_section(content["prescriber"], digest),
        *_transcript_section(content["transcript"]),
    ]


def _banner(copy: Copy) -> Flowable:
    background, ink = layout.BANNER_COLOURS[copy]
    french, english = BANNERS[copy]
    markup = f'<font color="{ink}">{french}<br/>/ {english}</font>'
    return layout.boxed([layout.Text(markup, layout.styles().banner)], background, ink)


def _summary(content: Mapping[str, Any]) -> Flowable:
    order = content["order"]
    priority = layout.stacked(*f.words(f.PRIORITY, order["priority"], "order.priority"))
    if order["priority"] == "urgent":
        priority = f'<font color="{layout.URGENT}">{priority}</font>'
    cells = [
        (
            layout.two_tone("N° d'ordonnance", "Order no."),
            layout.markup(f.text(order["number"])),
        ),
        (
            layout.two_tone("Version du dossier", "Record version"),
            layout.markup(f.text(content["version"])),
        ),
        (f.bilingual("Priorité", "Priority"), priority),
        (
            f.bilingual("Résultat", "Outcome"),
            layout.stacked(*f.words(f.OUTCOME, content["outcome"], "outcome")),
        ),
    ]
    return layout.summary_table(cells, shares=(0.26, 0.18, 0.22, 0.34))


def _section(french: str, english: str, rows: Sequence[layout.Row]) -> list[Flowable]:
    return [layout.heading(french, english), layout.key_value_table(rows)]


def _order_section(content: Mapping[str, Any]) -> list[Flowable]:
    order = content["order"]
    previous = content["previous"]
    if previous is None:
        follows = f.bilingual("Aucune (première version)", "None (first version)")
    else:
        version = f.text(previous["version"])
        follows = (
            f"{f.bilingual(f'Fait suite à la version {version}', f'Follows version {version}')}"
            f"\nSHA-256 : {f.grouped_hex(previous['content_sha256'])}"
        )
    return _section(
        "Ordonnance",
        "Order",
        [
            (
                f.bilingual("Ordonnance rédigée le", "Order written"),
                f.local_time(order["created_at"]),
            ),
            (f.bilingual("Version précédente", "Previous version"), follows),
            (
                f.bilingual("Remplace l'ordonnance", "Replaces order"),
                f.optional(order["replaces"], ("Aucune", "None")),
            ),
        ],
    )


def _patient_section(patient: Mapping[str, Any]) -> list[Flowable]:
    return _section(
        "Patient",
        "Patient",
        [
            (f.bilingual("Nom", "Name"), f.text(patient["name"])),
            (f.bilingual("Date de naissance", "Date of birth"), f.text(patient["dob"])),
            (
                f.bilingual("NAM (assurance maladie)", "Health insurance no."),
                f.text(patient["nam"]),
            ),
        ],
    )


def _prescriber_section(prescriber: Mapping[str, Any]) -> list[Flowable]:
    how = f.choice(f.AUTHENTICATION, prescriber["authenticated_by"], "authenticated_by")
    return _section(
        "Prescripteur",
        "Prescriber",
        [
            (f.bilingual("Nom", "Name"), f.text(prescriber["name"])),
            (f.bilingual("Numéro de permis", "Licence number"), f.text(prescriber["licence"])),
            (f.bilingual("Identité vérifiée par", "Identity verified by"), how),
        ],
    )


def _exam_section(order: Mapping[str, Any]) -> list[Flowable]:
    exam = order["exam"]
    return _section(
        "Examen demandé",
        "Requested exam",
        [
            (f.bilingual("Examen", "Exam"), f.text(exam["text"])),
            (f.bilingual("Modalité", "Modality"), f.optional(exam["modality"])),
            (f.bilingual("Région", "Body region"), f.optional(exam["region"])),
            (f.bilingual("Latéralité", "Laterality"), f.laterality(exam["laterality"])),
            (f.bilingual("Produit de contraste", "Contrast"), f.yes_no(exam["contrast"])),
            (
                f.bilingual("Indication clinique", "Clinical indication"),
                f.text(order["indication"]),
            ),
        ],
    )


def _service_section(service: Mapping[str, Any]) -> list[Flowable]:
    if service["chosen_by_patient"] is not True:
        raise ValueError("the service on a record must be the patient's choice (R7)")
    phone = str(service["phone"])
    nanp = _NANP_PHONE.match(phone)
    shown = f"+1 {nanp[1]}-{nanp[2]}-{nanp[3]}" if nanp else phone
    return _section(
        "Service d'imagerie",
        "Imaging service",
        [
            (
                f.bilingual("Choix", "Choice"),
                f.bilingual(*CHOSEN_BY_PATIENT),
                True,
            ),
            (f.bilingual("Nom", "Name"), f.text(service["name"])),
            (f.bilingual("Téléphone", "Telephone"), f.text(shown)),
            (
                f.bilingual("Adresse", "Address"),
                f.optional(service["address"], ("Non fournie", "Not provided")),
            ),
        ],
    )


def _professional_section(
    professional: Mapping[str, Any] | None, refusals: Sequence[Mapping[str, Any]]
) -> list[Flowable]:
    refused = "\n".join(
        f.choice(f.REFUSAL_ROLE, refusal["role"], "refusals.role")
        + f" — {f.local_time(refusal['at'])}"
        for refusal in refusals
    )
    refusal_row = (
        f.bilingual("Refus par d'autres membres du personnel", "Refusals by other staff"),
        refused or f.pair(f.NONE),
    )
    if professional is None:
        rows = [
            (
                f.bilingual("Professionnel", "Professional"),
                f.bilingual(
                    "Aucun professionnel n'a confirmé son identité",
                    "No professional confirmed their identity",
                ),
            ),
            refusal_row,
        ]
    else:
        name = f.text(professional["name"])
        if professional["name_confidence"] not in (None, ""):
            name += (
                f" ({f.bilingual('confiance de la reconnaissance', 'recognition confidence')} "
                f"{f.confidence(professional['name_confidence'])})"
            )
        rows = [
            (
                f.bilingual("Rôle", "Role"),
                f.choice(f.PROFESSIONAL_ROLE, professional["role"], "role"),
            ),
            (
                f.bilingual("Numéro de permis", "Permit number"),
                f.text(professional["permit_number"]),
            ),
            (f.bilingual("Nom (tel que prononcé)", "Name (as spoken)"), name),
            (
                f.bilingual("Identité confirmée le", "Identity confirmed at"),
                f.local_time(professional["confirmed_at"]),
            ),
            refusal_row,
        ]
    return _section("Professionnel ayant reçu l'ordonnance", "Receiving professional", rows)


def _call_section(call: Mapping[str, Any], read_back: Mapping[str, Any]) -> list[Flowable]:
    ended = call["ended_at"]
    recording_hash = call["recording_sha256"]
    if read_back["confirmed"] is True:
        confirmed = f"{f.pair(f.YES)} — {f.optional_time(read_back['confirmed_at'])}"
    elif read_back["confirmed"] is False:
        confirmed = f.bilingual("Non confirmée", "Not confirmed")
    else:
        raise ValueError(f"read_back.confirmed must be a boolean: {read_back['confirmed']!r}")
    return _section(
        "Appel",
        "Call",
        [
            (f.bilingual("Début", "Started"), f.local_and_utc(call["started_at"])),
            (
                f.bilingual("Fin", "Ended"),
                f.pair(f.UNKNOWN) if ended is None else f.local_and_utc(ended),
            ),
            (f.bilingual("Durée", "Duration"), f.duration(call["duration_seconds"])),
            (
                "CallSid " + f.bilingual("du médecin", "physician"),
                f.text(call["physician_call_sid"]),
            ),
            (
                "CallSid " + f.bilingual("du professionnel", "professional"),
                f.optional(call["professional_call_sid"], f.NONE),
            ),
            (f.bilingual("Enregistrement", "Recording"), f.optional(call["recording_sid"], f.NONE)),
            (
                f.bilingual("SHA-256 de l'enregistrement", "Recording SHA-256"),
                f.pair(("Non disponible", "Not available"))
                if recording_hash is None
                else f.grouped_hex(recording_hash),
            ),
            (
                f.bilingual(
                    "Relecture confirmée par le prescripteur",
                    "Read-back confirmed by the prescriber",
                ),
                confirmed,
            ),
        ],
    )


def _certification_section(prescriber: Mapping[str, Any], digest: str) -> Flowable:
    """The prescriber's certification (R4) and the content's fingerprint (R2), kept together."""
    s = layout.styles()
    signed = (
        f"{f.bilingual('Prescripteur', 'Prescriber')} : {f.text(prescriber['name'])}"
        f" — {f.bilingual('permis', 'licence')} {f.text(prescriber['licence'])}"
    )
    certification = layout.boxed(
        [
            layout.Text(CERTIFICATION_FR, s.certification),
            layout.gap(3),
            layout.Text(CERTIFICATION_EN, s.translation),
            layout.gap(5),
            layout.Text(layout.markup(signed), s.body),
        ],
        *layout.CERTIFICATION_COLOURS,
    )
    integrity = layout.key_value_table(
        [
            (
                f.bilingual("SHA-256 du contenu", "Content SHA-256"),
                f.grouped_hex(digest),
                True,
            ),
            (
                f.bilingual("Calculé sur", "Computed over"),
                f.bilingual(
                    f"le JSON canonique du contenu imprimé (clés triées, UTF-8), schéma {SCHEMA}",
                    "the canonical JSON of the printed content (sorted keys, UTF-8)",
                ),
            ),
            (
                f.bilingual("Conservation", "Retention"),
                f.bilingual(
                    "Ce dossier n'est jamais modifié; tout ajout en fait une nouvelle version.",
                    "This record is never changed; any addition makes a new version.",
                ),
            ),
        ]
    )
    return KeepTogether(
        [
            layout.heading("Certification et intégrité", "Certification and integrity"),
            certification,
            layout.gap(6),
            integrity,
        ]
    )


def _transcript_section(transcript: Sequence[Mapping[str, Any]]) -> list[Flowable]:
    heading = layout.heading("Transcription de l'appel", "Call transcript", keep_with_next=False)
    if not transcript:
        return [
            heading,
            layout.Text(
                layout.two_tone("Aucune transcription", "No transcript"), layout.styles().body
            ),
        ]
    rows = [
        (
            str(number),
            f.choice(f.SPEAKER, segment["speaker"], "transcript.speaker"),
            f.text(segment["text"]),
            f.confidence(segment["confidence"]),
        )
        for number, segment in enumerate(transcript, start=1)
    ]
    header = (
        "#",
        f.bilingual("Interlocuteur", "Speaker"),
        f.bilingual("Texte", "Text"),
        f.bilingual("Confiance", "Confidence"),
    )
    table = layout.listing_table(header, rows, layout.TRANSCRIPT_WIDTHS)
    return [CondPageBreak(layout.MIN_LISTING_START), heading, table]


def _draw_running_text(canvas: Canvas, doc: Any, *, content: Mapping[str, Any], copy: Copy) -> None:
    """Order, copy and patient on every page, so that a loose page still identifies itself."""
    order = f"N° / No. {content['order']['number']} · version {content['version']}"
    patient = f"Patient : {content['patient']['name']} · NAM {content['patient']['nam']}"
    draw_running_text(canvas, order, SHORT_BANNERS[copy], patient)
