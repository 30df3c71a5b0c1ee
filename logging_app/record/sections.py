"""The sections of the written record, top to bottom, as reportlab flowables.

Each builder takes its part of the record's content and returns flowables; the wording,
French with English beside it, is here. Values go through `format`, which returns
plain text: tables take it as it is, Paragraphs get it escaped (`layout.markup`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from reportlab.platypus import CondPageBreak, Flowable, KeepTogether, Paragraph

from . import format as f
from . import layout
from .fonts import FONT_BOLD
from .page import fit


def banner(copy: f.Copy) -> Flowable:
    background, ink = layout.BANNER_COLOURS[copy]
    french, english = f.BANNERS[copy]
    markup = f'<font color="{ink}">{french}<br/>/ {english}</font>'
    return layout.boxed([Paragraph(markup, layout.styles().banner)], background, ink)


def voided_notice(outcome: str) -> Flowable:
    """The boxed warning under the banner of a record whose order was not transmitted."""
    french, english = f.VOIDED
    why_fr, why_en = f.VOIDED_REASON[outcome]
    markup = (
        f'<font color="{layout.URGENT}">{french}<br/>/ {english}</font><br/>'
        f'<font size="9">{layout.markup(why_fr)}<br/>/ {layout.markup(why_en)}</font>'
    )
    return layout.boxed([Paragraph(markup, layout.styles().banner)], "#ffffff", layout.URGENT)


def summary(content: Mapping[str, Any]) -> Flowable:
    order = content["order"]
    priority = layout.stacked(*f.words(f.PRIORITY, order["priority"], "order.priority"))
    if order["priority"] == "urgent":
        priority = f'<font color="{layout.URGENT}">{priority}</font>'
    cells = [
        (
            layout.markup(f.bilingual("N° d'ordonnance", "Order no.")),
            layout.markup(f.text(order["number"])),
        ),
        (
            layout.markup(f.bilingual("Version du dossier", "Record version")),
            layout.markup(f.text(content["version"])),
        ),
        (layout.markup(f.bilingual("Priorité", "Priority")), priority),
        (
            layout.markup(f.bilingual("Résultat", "Outcome")),
            layout.stacked(*f.words(f.OUTCOME, content["outcome"], "outcome")),
        ),
    ]
    return layout.summary_table(cells, shares=(0.26, 0.18, 0.22, 0.34))


def _section(french: str, english: str, rows: Sequence[layout.Row]) -> list[Flowable]:
    return [layout.heading(french, english), layout.key_value_table(rows)]


def order_section(content: Mapping[str, Any]) -> list[Flowable]:
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


def patient_section(patient: Mapping[str, Any]) -> list[Flowable]:
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


def prescriber_section(prescriber: Mapping[str, Any]) -> list[Flowable]:
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


def exam_section(order: Mapping[str, Any]) -> list[Flowable]:
    exam = order["exam"]
    return _section(
        "Examen demandé",
        "Requested exam",
        [
            (f.bilingual("Examen", "Exam"), f.text(exam["text"])),
            (f.bilingual("Modalité", "Modality"), f.modality(exam["modality"])),
            (f.bilingual("Région", "Body region"), f.optional(exam["region"])),
            (f.bilingual("Latéralité", "Laterality"), f.laterality(exam["laterality"])),
            (f.bilingual("Produit de contraste", "Contrast"), f.yes_no(exam["contrast"])),
            (
                f.bilingual("Indication clinique", "Clinical indication"),
                f.text(order["indication"]),
            ),
        ],
    )


def service_section(service: Mapping[str, Any]) -> list[Flowable]:
    if service["chosen_by_patient"] is not True:
        raise ValueError("the service on a record must be the patient's choice (R7)")
    return _section(
        "Service d'imagerie",
        "Imaging service",
        [
            (
                f.bilingual("Choix", "Choice"),
                f.bilingual(*f.CHOSEN_BY_PATIENT),
                True,
            ),
            (f.bilingual("Nom", "Name"), f.text(service["name"])),
            (f.bilingual("Téléphone", "Telephone"), f.phone(service["phone"])),
            (
                f.bilingual("Adresse", "Address"),
                f.optional(service["address"], ("Non fournie", "Not provided")),
            ),
        ],
    )


def professional_section(
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


def call_section(call: Mapping[str, Any], read_back: Mapping[str, Any]) -> list[Flowable]:
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
                f.bilingual("CallSid du médecin", "Physician CallSid"),
                f.text(call["physician_call_sid"]),
            ),
            (
                f.bilingual("CallSid du professionnel", "Professional CallSid"),
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
                f.bilingual("Durée du fichier audio", "Audio file length"),
                f.audio_length(call.get("recording_milliseconds")),
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


def certification_section(prescriber: Mapping[str, Any], digest: str) -> Flowable:
    """The prescriber's certification (R4) and the content's fingerprint (R2), kept together."""
    s = layout.styles()
    signed = (
        f"{f.bilingual('Prescripteur', 'Prescriber')} : {f.text(prescriber['name'])}"
        f" — {f.bilingual('permis', 'licence')} {f.text(prescriber['licence'])}"
    )
    certification = layout.boxed(
        [
            Paragraph(f.CERTIFICATION_FR, s.certification),
            layout.gap(3),
            Paragraph(f.CERTIFICATION_EN, s.translation),
            layout.gap(5),
            Paragraph(layout.markup(signed), s.body),
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
                    f"le JSON canonique du contenu imprimé (clés triées, UTF-8), schéma {f.SCHEMA}",
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
            layout.heading(
                "Certification du prescripteur et intégrité",
                "Prescriber's certification and integrity",
            ),
            certification,
            layout.gap(6),
            integrity,
        ]
    )


def transcript_section(transcript: Sequence[Mapping[str, Any]]) -> list[Flowable]:
    heading = layout.heading("Transcription de l'appel", "Call transcript", keep_with_next=False)
    if not transcript:
        return [
            heading,
            Paragraph(
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


def signature_section(
    signature: Mapping[str, Any] | None, where: list[tuple[int, ...]]
) -> list[Flowable]:
    """Where the record's digital signature is (the last thing on its last page): who
    signed, how to check it, and, for the demo certificate, that it proves nothing."""
    heading = layout.heading("Signature numérique", "Digital signature")
    if signature is None:
        lines = [(f.bilingual("Non signé", "Not signed"), layout.URGENT)]
    else:
        lines = [
            (
                f"{f.bilingual('Signé par', 'Signed by')} : {f.text(signature['signer'])}"
                f" — {f.text(signature['organisation'])}",
                layout.INK_HEX,
            ),
            (
                "Cliquez dans ce cadre dans votre lecteur PDF pour vérifier la signature.",
                layout.MUTED_HEX,
            ),
            ("Click inside this box in your PDF reader to check the signature.", layout.MUTED_HEX),
            (
                f"{f.bilingual('Empreinte SHA-256 du certificat', 'Certificate SHA-256')} : "
                f"{f.text(signature['certificate_sha256'])[:32]}…",
                layout.MUTED_HEX,
            ),
        ]
        if signature["demo"]:
            lines.append((" / ".join(f.DEMO_SIGNATURE), layout.URGENT))
    room = layout.FRAME_WIDTH - 16
    fitted = [(fit(line, FONT_BOLD, 9, room), colour) for line, colour in lines]
    return [KeepTogether([heading, layout.SignaturePlace(fitted, where)])]
