"""One version of the record as a FHIR R4 Bundle (``record export --format fhir``, the
portal's FHIR download), built and validated with fhir.resources' R4B models.

A ``collection`` Bundle: the order (ServiceRequest), its patient, prescriber, the imaging
service the patient chose, the professional who received it by telephone (Practitioner and
PractitionerRole), the transmission itself (Communication), the PDF (DocumentReference, the
signed file attached with its SHA-256) and who issued it when (Provenance, with the PDF's
CMS signature). Every reference is a ``urn:uuid`` of an entry of the same Bundle, derived
from the order number and version, so that exporting again gives the same identifiers.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import uuid
import warnings
from collections.abc import Mapping
from typing import Any

from fhir.resources.R4B.bundle import Bundle

from logging_app.models import VOIDED_OUTCOMES, WrittenRecord

from . import format as f

with warnings.catch_warnings():  # pyHanko still names DSA, which cryptography deprecates
    warnings.simplefilter("ignore")
    from pyhanko.pdf_utils.reader import PdfFileReader

NAM_SYSTEM = "https://www.ramq.gouv.qc.ca/nam"
# Licence numbers: the Collège des médecins du Québec's for physicians and radiologists, the
# Ordre des technologues en imagerie médicale (OTIMROEPMQ) for technologists.
CMQ_SYSTEM = "https://www.cmq.org/permis"
OTIMROEPMQ_SYSTEM = "https://www.otimroepmq.ca/permis"
ORDER_SYSTEM = "urn:ordophone:order-number"
RECORD_SYSTEM = "urn:ordophone:record"
PDF_SHA256_SYSTEM = "urn:ordophone:pdf-sha256"
CONTENT_SHA256_SYSTEM = "urn:ordophone:content-sha256"
_NAMESPACE = uuid.UUID("6f1c9a4e-2b9d-4d1e-9a53-0b6f0c6d7a21")  # Ordophone's UUIDv5 space

_SNOMED = "http://snomed.info/sct"
_IMAGING = {"system": _SNOMED, "code": "363679005", "display": "Imaging"}
_PHONE = {
    "system": "http://terminology.hl7.org/CodeSystem/v3-ParticipationMode",
    "code": "PHONE",
    "display": "telephone",
}
_PROVENANCE_AGENT = "http://terminology.hl7.org/CodeSystem/provenance-participant-type"
_SIGNATURE_TYPE = {
    "system": "urn:iso-astm:E1762-95:2013",
    "code": "1.2.840.10065.1.12.1.1",
    "display": "Author's Signature",
}
DOCUMENT_TYPE = (
    "Ordonnance verbale d'imagerie — dossier écrit / Verbal imaging order — written record"
)
_ROLE_CODES = {"radiologist": "66862007", "technologist": "159016003"}  # SNOMED occupations


def bundle(record: WrittenRecord, *, latest: bool) -> Bundle:
    """The Bundle of ``record`` (one stored copy of one version); ``latest``: no later
    version exists (its DocumentReference is then current, else superseded)."""
    content = json.loads(record.content_json)
    ids = _Ids(str(content["order"]["number"]), int(record.version))
    resources = [
        _service_request(content, ids),
        _patient(content["patient"], ids),
        _prescriber(content["prescriber"], ids),
        _service(content["service"], ids),
        _issuer(content, ids),
        *_professional(content, ids),
        _communication(content, ids),
        _document(record, content, ids, latest=latest),
        _provenance(record, content, ids),
    ]
    return Bundle.model_validate(
        {
            "resourceType": "Bundle",
            "id": ids.of("bundle"),
            "identifier": {"system": RECORD_SYSTEM, "value": f"{ids.number}-v{ids.version}"},
            "type": "collection",
            "timestamp": content["issued_at"],
            "entry": [
                {"fullUrl": f"urn:uuid:{resource['id']}", "resource": resource}
                for resource in resources
            ],
        }
    )


def to_json(document: Bundle) -> str:
    """The Bundle as FHIR JSON (no empty elements), indented for a reader."""
    return json.dumps(document.model_dump(mode="json", exclude_none=True), indent=2,
                      ensure_ascii=False)  # fmt: skip


class _Ids:
    """Each resource's id and ``urn:uuid`` fullUrl, stable for an order's version."""

    def __init__(self, number: str, version: int) -> None:
        self.number, self.version = number, version

    def of(self, kind: str) -> str:
        return str(uuid.uuid5(_NAMESPACE, f"{self.number}/{self.version}/{kind}"))

    def url(self, kind: str) -> str:
        return f"urn:uuid:{self.of(kind)}"

    def ref(self, kind: str) -> dict[str, str]:
        return {"reference": self.url(kind)}


def _text(value: object) -> str | None:
    return None if value is None or value == "" else str(value)


def _service_request(content: Mapping[str, Any], ids: _Ids) -> dict[str, Any]:
    order = content["order"]
    exam = order["exam"]
    voided = content["outcome"] in VOIDED_OUTCOMES
    details = [
        f"{f.bilingual('Modalité', 'Modality')} : {f.modality(exam['modality'])}",
        f"{f.bilingual('Latéralité', 'Laterality')} : {f.laterality(exam['laterality'])}",
        f"{f.bilingual('Contraste', 'Contrast')} : {f.yes_no(exam['contrast'])}",
    ]
    resource: dict[str, Any] = {
        "resourceType": "ServiceRequest",
        "id": ids.of("ServiceRequest"),
        "identifier": [{"system": ORDER_SYSTEM, "value": order["number"]}],
        # A record marked "do not act" (read-back refused, voided) is of an order revoked.
        "status": "revoked" if voided else "active",
        "intent": "order",
        "category": [{"coding": [_IMAGING]}],
        "priority": order["priority"],
        "code": {"text": exam["text"]},
        "orderDetail": [{"text": line} for line in details],
        "subject": ids.ref("Patient"),
        "authoredOn": order["created_at"],
        "requester": ids.ref("Practitioner"),
        "performer": [ids.ref("Organization")],
        "reasonCode": [{"text": order["indication"]}],
    }
    if _text(exam["region"]):
        resource["bodySite"] = [{"text": exam["region"]}]
    if order["replaces"]:
        resource["note"] = [{"text": f"Replaces order {order['replaces']}"}]
    return resource


def _patient(patient: Mapping[str, Any], ids: _Ids) -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "id": ids.of("Patient"),
        "identifier": [{"system": NAM_SYSTEM, "value": patient["nam"]}],
        "name": [{"text": patient["name"]}],
        "birthDate": patient["dob"],
    }


def _prescriber(prescriber: Mapping[str, Any], ids: _Ids) -> dict[str, Any]:
    return {
        "resourceType": "Practitioner",
        "id": ids.of("Practitioner"),
        "identifier": [{"system": CMQ_SYSTEM, "value": prescriber["licence"]}],
        "name": [{"text": prescriber["name"]}],
    }


def _service(service: Mapping[str, Any], ids: _Ids) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Organization",
        "id": ids.of("Organization"),
        "name": service["name"],
        "telecom": [{"system": "phone", "value": service["phone"]}],
    }
    if _text(service.get("address")):
        resource["address"] = [{"text": service["address"]}]
    return resource


def _issuer(content: Mapping[str, Any], ids: _Ids) -> dict[str, Any]:
    """The organisation whose certificate signed the PDF (``ORGANISATION_NAME``)."""
    signature = content.get("signature") or {}
    return {
        "resourceType": "Organization",
        "id": ids.of("issuer"),
        "name": signature.get("organisation") or "Ordophone",
    }


def _professional(content: Mapping[str, Any], ids: _Ids) -> list[dict[str, Any]]:
    professional = content["professional"]
    if professional is None:
        return []
    role = professional["role"]
    french, english = f.PROFESSIONAL_ROLE[role]
    system = CMQ_SYSTEM if role == "radiologist" else OTIMROEPMQ_SYSTEM
    practitioner: dict[str, Any] = {
        "resourceType": "Practitioner",
        "id": ids.of("professional"),
        "identifier": [{"system": system, "value": professional["permit_number"]}],
    }
    if _text(professional["name"]):
        practitioner["name"] = [{"text": professional["name"]}]
    return [
        practitioner,
        {
            "resourceType": "PractitionerRole",
            "id": ids.of("PractitionerRole"),
            "practitioner": ids.ref("professional"),
            "organization": ids.ref("Organization"),
            "code": [
                {
                    "coding": [{"system": _SNOMED, "code": _ROLE_CODES[role], "display": english}],
                    "text": f"{french} / {english}",
                }
            ],
        },
    ]


def _communication(content: Mapping[str, Any], ids: _Ids) -> dict[str, Any]:
    """The order given by telephone, directly to the professional (rule R1)."""
    professional = content["professional"]
    received = professional["confirmed_at"] if professional else None
    voided = content["outcome"] in VOIDED_OUTCOMES
    resource: dict[str, Any] = {
        "resourceType": "Communication",
        "id": ids.of("Communication"),
        "basedOn": [ids.ref("ServiceRequest")],
        "status": "not-done" if voided else "completed",
        "medium": [{"coding": [_PHONE]}],
        "subject": ids.ref("Patient"),
        "sender": ids.ref("Practitioner"),
        "recipient": [ids.ref("PractitionerRole" if professional else "Organization")],
        "sent": content["call"]["started_at"],
        "payload": [{"contentReference": ids.ref("DocumentReference")}],
    }
    if received:
        resource["received"] = received
    if voided:
        resource["statusReason"] = {"text": " / ".join(f.OUTCOME[content["outcome"]])}
    return resource


def _document(
    record: WrittenRecord, content: Mapping[str, Any], ids: _Ids, *, latest: bool
) -> dict[str, Any]:
    banner = " / ".join(f.BANNERS[record.copy])
    return {
        "resourceType": "DocumentReference",
        "id": ids.of("DocumentReference"),
        "identifier": [
            {"system": PDF_SHA256_SYSTEM, "value": record.sha256},
            {"system": CONTENT_SHA256_SYSTEM, "value": record.content_sha256},
        ],
        "status": "current" if latest else "superseded",
        "type": {"text": DOCUMENT_TYPE},
        "subject": ids.ref("Patient"),
        "date": content["issued_at"],
        "author": [ids.ref("issuer")],
        "description": f"{banner}, version {record.version}",
        "content": [
            {
                "attachment": {
                    "contentType": "application/pdf",
                    "language": "fr-CA",
                    "data": base64.b64encode(record.pdf).decode("ascii"),
                    "size": len(record.pdf),
                    # FHIR R4's Attachment.hash is SHA-1; the SHA-256 is an identifier above.
                    "hash": base64.b64encode(hashlib.sha1(record.pdf).digest()).decode(),  # noqa: S324
                    "title": f"ordophone-{ids.number}-v{record.version}-{record.copy}.pdf",
                    "creation": content["issued_at"],
                }
            }
        ],
        "context": {"related": [ids.ref("ServiceRequest"), ids.ref("Communication")]},
    }


def _provenance(record: WrittenRecord, content: Mapping[str, Any], ids: _Ids) -> dict[str, Any]:
    resource: dict[str, Any] = {
        "resourceType": "Provenance",
        "id": ids.of("Provenance"),
        "target": [ids.ref("DocumentReference"), ids.ref("ServiceRequest")],
        "recorded": content["issued_at"],
        "agent": [
            {
                "type": {"coding": [{"system": _PROVENANCE_AGENT, "code": "author"}]},
                "who": ids.ref("Practitioner"),
            },
            {
                "type": {"coding": [{"system": _PROVENANCE_AGENT, "code": "assembler"}]},
                "who": ids.ref("issuer"),
            },
        ],
    }
    cms = _cms_signature(record.pdf)
    if cms is not None:
        resource["signature"] = [
            {
                "type": [_SIGNATURE_TYPE],
                "when": content["issued_at"],
                "who": ids.ref("issuer"),
                "targetFormat": "application/pdf",
                "sigFormat": "application/pkcs7-signature",
                "data": base64.b64encode(cms).decode("ascii"),
            }
        ]
    return resource


def _cms_signature(pdf: bytes) -> bytes | None:
    """The PDF's PAdES signature (the CMS SignedData, DER), if it is signed."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        embedded = PdfFileReader(io.BytesIO(pdf), strict=False).embedded_signatures
    return bytes(embedded[-1].signed_data.dump()) if embedded else None
