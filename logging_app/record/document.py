"""One copy of one version of the record, as issued: laid out, made archival, signed.

The order matters: PDF/A conversion rewrites the file, and the signature must cover the
file as it is finally stored, so signing comes last (its bytes are what the record's
stored SHA-256 is taken of).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import pdfa, signing
from .format import Copy
from .pdf import TITLE, layout_record


def make(content: Mapping[str, Any], copy: Copy, seal: signing.Seal) -> bytes:
    """The stored PDF of ``copy``: PDF/A-3b with ``record.json``, PAdES-signed by ``seal``."""
    laid_out, box = layout_record(content, copy)
    return signing.sign(pdfa.archive(laid_out, content, TITLE), box, seal)
