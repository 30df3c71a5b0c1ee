"""Is this file a record Ordophone issued, unchanged? (``record verify``, ``/verify``)

Two checks, each saying what failed. The file's bytes must be those of a stored record
(its SHA-256, taken of the signed file as stored). Its PAdES signature must be intact,
cover the whole file, and be made by a certificate that signed Ordophone's records (the
configured one or one configured before: `SigningCertificate`). Records issued before
records were signed carry no signature; their stored bytes alone vouch for them.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from logging_app.models import SigningCertificate, WrittenRecord

from .signing import FIELD_NAME
from .store import find_record_by_pdf

with warnings.catch_warnings():  # pyHanko still names DSA, which cryptography deprecates
    warnings.simplefilter("ignore")
    from pyhanko.keys import load_certs_from_pemder_data
    from pyhanko.pdf_utils.misc import PdfError
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko.sign.validation.status import PdfSignatureStatus, SignatureCoverageLevel
    from pyhanko_certvalidator import ValidationContext

Signature = Literal["valid", "unsigned", "modified", "unknown_signer", "not_ordophone"]


@dataclass(frozen=True)
class Verification:
    record: WrittenRecord | None  # the stored record with exactly these bytes
    signature: Signature
    signer: str | None = None  # the signing certificate's subject, when signed

    @property
    def verified(self) -> bool:
        """A stored record, whose signature (if it was signed) holds."""
        return self.record is not None and self.signature in ("valid", "unsigned")

    @property
    def problem(self) -> str | None:
        """What failed, in a sentence (English; the portal has its own words)."""
        if self.signature in PROBLEMS:
            return PROBLEMS[self.signature].format(signer=self.signer)
        if self.record is None:
            return PROBLEMS["not_stored"]
        return None


PROBLEMS = {
    "modified": "the file was changed after it was signed (its signature no longer matches "
    "its bytes)",
    "unknown_signer": "it is signed by a certificate that never signed Ordophone's records "
    "({signer})",
    "not_ordophone": "it carries a signature that is not Ordophone's ({signer})",
    "not_stored": "no record Ordophone issued has these exact bytes (altered or foreign)",
}


def verify_pdf(db: Session, data: bytes) -> Verification:
    """Both checks on ``data``; the signature's verdict names the first thing that failed."""
    record = find_record_by_pdf(db, data)
    signature, signer = _signature(db, data)
    return Verification(record, signature, signer)


def _signature(db: Session, data: bytes) -> tuple[Signature, str | None]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            embedded = PdfFileReader(io.BytesIO(data), strict=False).embedded_signatures
        except (PdfError, ValueError, KeyError, IndexError, TypeError):
            return ("modified", None) if b"/ByteRange" in data else ("unsigned", None)
        if not embedded:
            return ("modified", None) if b"/ByteRange" in data else ("unsigned", None)
        ours = [s for s in embedded if s.field_name == FIELD_NAME]
        if not ours:
            return "not_ordophone", _subject(embedded[-1].signer_cert)
        known = _known_certificates(db)
        roots = [c for pem in known.values() for c in load_certs_from_pemder_data(pem.encode())]
        try:
            status = validate_pdf_signature(ours[-1], ValidationContext(trust_roots=roots))
        except ValueError:  # pyHanko's SignatureValidationError among them
            return "modified", None
    return _verdict(status, known)


def _verdict(status: PdfSignatureStatus, known: dict[str, str]) -> tuple[Signature, str | None]:
    signer = _subject(status.signing_cert)
    if not (status.intact and status.valid):
        return "modified", signer
    if status.coverage != SignatureCoverageLevel.ENTIRE_FILE:
        return "modified", signer  # bytes added after the signature
    if hashlib.sha256(status.signing_cert.dump()).hexdigest() not in known:
        return "unknown_signer", signer
    return "valid", signer


def _subject(certificate: object) -> str | None:
    subject = getattr(certificate, "subject", None)
    return None if subject is None else str(subject.human_friendly)


def _known_certificates(db: Session) -> dict[str, str]:
    rows = db.execute(select(SigningCertificate.sha256, SigningCertificate.pem)).all()
    return {sha256: pem for sha256, pem in rows}
