"""The record as an archival file: PDF/A-3b, its canonical JSON embedded as ``record.json``.

Records are kept ten years or more: PDF/A fixes what a reader needs (fonts embedded, an
sRGB output intent, XMP metadata declaring part 3, conformance B). The canonical content,
the exact bytes whose SHA-256 the record prints, travels inside as an associated file
(AFRelationship Data), so that a program reads the order back from the PDF itself.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any

import pikepdf
import pikepdf.pdfa

from .content import canonical_json
from .format import parse_instant

ATTACHMENT = "record.json"
FLAVOUR = "3b"


def archive(pdf: bytes, content: Mapping[str, Any], title: str) -> bytes:
    """``pdf`` made PDF/A-3b with the content attached.

    The file is prepared and written with the settings PDF/A pins, not validated again here:
    the layout is the same for every record, and validating costs twice the rendering. The
    tests validate what this writes (`pikepdf.pdfa.validate_written`, qpdf)."""
    number, version = content["order"]["number"], content["version"]
    with pikepdf.open(io.BytesIO(pdf)) as document:
        for page in document.pages:
            if "/Trans" in page.obj:  # reportlab's empty page transition (not allowed)
                del page.obj["/Trans"]
        document.attachments[ATTACHMENT] = pikepdf.AttachedFileSpec(
            document,
            canonical_json(content),
            filename=ATTACHMENT,
            mime_type="application/json",
            description=f"Ordophone record {number} v{version}: canonical content",
            relationship=pikepdf.Name.Data,
        )
        issued = parse_instant(content["issued_at"]).isoformat()
        with document.open_metadata(set_pikepdf_as_editor=False) as meta:
            meta["dc:title"] = title
            meta["dc:identifier"] = f"ordophone:{number}:v{version}"
            meta["dc:description"] = f"N° / No. {number} · version {version}"
            meta["dc:creator"] = ["Ordophone"]
            meta["xmp:CreateDate"] = issued
            meta["xmp:ModifyDate"] = issued
            meta["xmp:CreatorTool"] = "Ordophone"
        pikepdf.pdfa.prepare(document, FLAVOUR)
        out = io.BytesIO()
        document.save(out, **pikepdf.pdfa.resolve_save_kwargs(FLAVOUR))
    return out.getvalue()
