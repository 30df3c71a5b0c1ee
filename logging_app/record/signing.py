"""The record's PAdES signature (rule R3): who issued it, checkable by any PDF reader.

The key and certificate come from a PKCS#12 file, ``SIGNING_P12`` (the organisation's
certificate, say one issued by Notarius). Without it, a self-signed "Ordophone demo"
certificate is made once in the instance folder (mode 0600) and every record says its
signature is a demo one. Each certificate that ever signed is kept in the database
(`SigningCertificate`), so that records signed before a renewal still verify.

Signing is the last step: the file is already PDF/A (`pdfa`), and the signature, an
incremental update, covers every byte before it.
"""

from __future__ import annotations

import functools
import io
import logging
import os
import warnings
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID
from sqlalchemy.orm import Session

from logging_app.config import Settings
from logging_app.db import insert_unless_present
from logging_app.models import SigningCertificate

from .pdf import Box

with warnings.catch_warnings():  # pyHanko still names DSA, which cryptography deprecates
    warnings.simplefilter("ignore")
    from pyhanko import stamp
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
    from pyhanko.sign import fields, signers
    from pyhanko.sign.timestamps import HTTPTimeStamper

log = logging.getLogger(__name__)

FIELD_NAME = "Ordophone"
REASON = "Ordonnance verbale d'imagerie — dossier écrit"
DEMO_COMMON_NAME = "Ordophone demo"
# The demo certificate outlives the records it signs (kept ten years).
DEMO_VALIDITY = timedelta(days=365 * 25)
# Room for the CMS container: an RSA-4096 chain of three and an RFC 3161 token fit.
SIGNATURE_BYTES = 24_000
TSA_TIMEOUT_SECONDS = 10


class SigningError(Exception):
    """The signing key cannot be used; the message says why (no secret in it)."""


class _LoadedKeySigner(signers.SimpleSigner):
    """pyHanko's signer, with the private key parsed once instead of at each signature
    (parsing and checking an RSA key costs a tenth of a second)."""

    def __init__(self, key: PrivateKeyTypes, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._key = key

    def sign_raw(self, data: bytes, digest_algorithm: str) -> bytes:
        mechanism = self.get_signature_mechanism_for_digest(digest_algorithm).signature_algo
        digest = getattr(hashes, digest_algorithm.upper())()
        if mechanism == "rsassa_pkcs1v15" and isinstance(self._key, rsa.RSAPrivateKey):
            return self._key.sign(data, padding.PKCS1v15(), digest)
        if mechanism == "ecdsa" and isinstance(self._key, ec.EllipticCurvePrivateKey):
            return self._key.sign(data, ec.ECDSA(digest))
        return bytes(super().sign_raw(data, digest_algorithm))


@dataclass(frozen=True)
class Seal:
    """What signs the records: the key, its certificate, and how the signature reads."""

    signer: signers.Signer
    certificate: x509.Certificate
    organisation: str
    demo: bool
    tsa_url: str | None

    @property
    def fingerprint(self) -> str:
        return certificate_sha256(self.certificate)

    @property
    def pem(self) -> str:
        return self.certificate.public_bytes(serialization.Encoding.PEM).decode("ascii")

    def describe(self) -> dict[str, Any]:
        """What the record prints about its signature (part of its content)."""
        return {
            "signer": _common_name(self.certificate),
            "organisation": self.organisation,
            "certificate_sha256": self.fingerprint,
            "demo": self.demo,
        }


def certificate_sha256(certificate: x509.Certificate) -> str:
    return certificate.fingerprint(hashes.SHA256()).hex()


def _common_name(certificate: x509.Certificate) -> str:
    names = certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(names[0].value) if names else certificate.subject.rfc4514_string()


def ensure_demo_certificate(path: Path, organisation: str) -> bool:
    """Make the demo key and self-signed certificate at ``path`` unless it exists (mode
    0600, created exclusively so that two processes never make two). True if made now."""
    # RSA: pyHanko marks an ECDSA-signed file as PDF 2.0 (ISO 32002), which PDF/A-3 is not.
    # 2048 bits: the demo signature proves nothing, and a test makes one per instance.
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, DEMO_COMMON_NAME),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organisation[:64]),
        ]
    )
    start = datetime.now(UTC) - timedelta(minutes=5)
    usage = x509.KeyUsage(
        digital_signature=True,
        content_commitment=True,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=True,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )
    certificate = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + DEMO_VALIDITY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(usage, critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .sign(key, hashes.SHA256())
    )
    data = pkcs12.serialize_key_and_certificates(
        DEMO_COMMON_NAME.encode(), key, certificate, None, serialization.NoEncryption()
    )
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    with os.fdopen(descriptor, "wb") as out:
        out.write(data)
    return True


def load_seal(
    path: Path, password: str | None, *, organisation: str, demo: bool, tsa_url: str | None
) -> Seal:
    """The seal of the PKCS#12 file at ``path`` (parsed again only when its bytes change)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SigningError(f"cannot read {path}: {exc.strerror}") from None
    return _load(data, password, organisation, demo, tsa_url, str(path))


@functools.lru_cache(maxsize=4)
def _load(
    data: bytes, password: str | None, organisation: str, demo: bool, tsa: str | None, path: str
) -> Seal:
    try:
        key, certificate, chain = pkcs12.load_key_and_certificates(
            data, password.encode() if password else None
        )
    except ValueError:
        raise SigningError(f"{path} does not open with the password given") from None
    if key is None or certificate is None:
        raise SigningError(f"{path} holds no private key and certificate")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from pyhanko.keys.internal import (
            translate_pyca_cryptography_cert_to_asn1,
            translate_pyca_cryptography_key_to_asn1,
        )
        from pyhanko_certvalidator.registry import SimpleCertificateStore

    signer = _LoadedKeySigner(
        key,
        signing_key=translate_pyca_cryptography_key_to_asn1(key),
        signing_cert=translate_pyca_cryptography_cert_to_asn1(certificate),
        cert_registry=SimpleCertificateStore.from_certs(  # type: ignore[no-untyped-call]
            [translate_pyca_cryptography_cert_to_asn1(c) for c in chain]
        ),
    )
    return Seal(signer, certificate, organisation, demo, tsa)


def remember(db: Session, seal: Seal) -> None:
    """Keep the seal's certificate among those whose signatures verify (once each)."""
    insert_unless_present(
        db,
        SigningCertificate,
        {
            "sha256": seal.fingerprint,
            "subject": seal.certificate.subject.rfc4514_string()[:500],
            "pem": seal.pem,
            "demo": seal.demo,
        },
    )


def sign(pdf: bytes, box: Box, seal: Seal) -> bytes:
    """``pdf`` with the seal's PAdES signature in a visible field at ``box``, whose text the
    record's layout has printed beneath it: B-T with the TSA's timestamp, or B-B when no TSA
    is configured or it cannot be reached (the record is not held back for a timestamp)."""
    if seal.tsa_url is not None:
        try:
            return _sign(pdf, box, seal, HTTPTimeStamper(seal.tsa_url, timeout=TSA_TIMEOUT_SECONDS))
        except OSError as exc:  # pyHanko's TimestampRequestError, and requests' errors
            log.warning("timestamp authority not reached (%s); signed without a timestamp", exc)
    return _sign(pdf, box, seal, None)


def _sign(pdf: bytes, box: Box, seal: Seal, timestamper: HTTPTimeStamper | None) -> bytes:
    page, x1, y1, x2, y2 = box
    meta = signers.PdfSignatureMetadata(
        field_name=FIELD_NAME,
        reason=REASON,
        location=seal.organisation,
        subfilter=fields.SigSeedSubFilter.PADES,
        md_algorithm="sha256",
    )
    signer = signers.PdfSigner(
        meta,
        signer=seal.signer,
        timestamper=timestamper,
        stamp_style=stamp.NoOpStampStyle(),
        new_field_spec=fields.SigFieldSpec(
            FIELD_NAME, on_page=page, box=(round(x1), round(y1), round(x2), round(y2))
        ),
    )
    out = io.BytesIO()
    signer.sign_pdf(
        IncrementalPdfFileWriter(io.BytesIO(pdf)), output=out, bytes_reserved=SIGNATURE_BYTES
    )
    return out.getvalue()


def seal_of(settings: Settings) -> Seal:
    """The configured seal; the demo certificate is made on first use if ``init-db`` did not."""
    if settings.signing_demo:
        ensure_demo_certificate(settings.signing_p12, settings.organisation_name)
    return load_seal(
        settings.signing_p12,
        settings.signing_p12_password,
        organisation=settings.organisation_name,
        demo=settings.signing_demo,
        tsa_url=settings.signing_tsa_url,
    )
