"""How long the written record takes to render, against reportlab's own floor.

Run as ``python bench/bench_pdf.py``; ``run()`` returns the figures for ``make bench``.
The baseline is the same text laid out as plain paragraphs (SimpleDocTemplate, default
fonts, nothing embedded), measured in the same process, so that the ratio says what the
record's tables, embedded fonts and page furniture cost on this machine.
Targets: the record within 4x the baseline and under 50 ms.
"""

from __future__ import annotations

import io
import statistics
import time
from collections.abc import Callable, Iterator
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib.pagesizes import letter
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.platypus import Paragraph, SimpleDocTemplate

from logging_app.pdf import render_record

WARM_UP = 10
ITERATIONS = 100
TARGET_RATIO = 4.0
TARGET_MS = 50.0

_LINES = [
    ("physician", "Bonjour, ici la docteure Côté-Bérubé. J'ai une ordonnance verbale d'imagerie."),
    ("professional", "Bonjour, Jérôme Gagnon, technologue. Je vous écoute."),
    ("physician", "Patiente Françoise Lévesque, née le 14 mars 1958, NAM L-E-V-F 5853 1412."),
    ("professional", "Françoise Lévesque, 14 mars 1958, LEVF 5853 1412. C'est noté."),
    ("physician", "Échographie abdominale complète, urgente, sans produit de contraste."),
]


def typical_record() -> dict[str, Any]:
    """A fictional record of the usual size: a five-minute call, twenty transcript segments."""
    return {
        "schema": "ordophone-record/1",
        "version": 1,
        "previous": None,
        "issued_at": "2026-11-26T14:21:40+00:00",
        "order": {
            "number": "12345674",
            "priority": "urgent",
            "exam": {
                "text": "Échographie abdominale complète",
                "modality": "US",
                "region": "Abdomen",
                "laterality": "right",
                "contrast": False,
            },
            "indication": (
                "Douleur à l'hypocondre droit depuis 3 jours, fièvre à 38,4 °C, Murphy positif. "
                "Éliminer une cholécystite aiguë."
            ),
            "created_at": "2026-11-26T13:40:12+00:00",
            "replaces": None,
        },
        "prescriber": {
            "name": "Dre Hélène Côté-Bérubé",
            "licence": "1-23456",
            "authenticated_by": "caller_id_and_pin",
        },
        "patient": {"name": "Françoise Lévesque", "dob": "1958-03-14", "nam": "LEVF58531412"},
        "service": {
            "name": "Clinique radiologique Saint-Édouard",
            "phone": "+15145550142",
            "address": "1200, rue Saint-Denis, Montréal (Québec) H2X 3J6",
            "chosen_by_patient": True,
        },
        "professional": {
            "role": "technologist",
            "permit_number": "TI-204518",
            "name": "Jérôme Gagnon",
            "name_confidence": 0.93,
            "confirmed_at": "2026-11-26T14:05:02+00:00",
        },
        "refusals": [{"role": "staff", "at": "2026-11-26T14:03:41+00:00"}],
        "call": {
            "started_at": "2026-11-26T14:02:55+00:00",
            "ended_at": "2026-11-26T14:09:31+00:00",
            "duration_seconds": 396,
            "physician_call_sid": "CA0000000000000000000000000000a001",
            "professional_call_sid": "CA0000000000000000000000000000b002",
            "recording_sid": "RE0000000000000000000000000000c003",
            "recording_sha256": "4c" * 32,
        },
        "read_back": {"confirmed": True, "confirmed_at": "2026-11-26T14:10:05+00:00"},
        "outcome": "transmitted",
        "transcript": [
            {"speaker": speaker, "text": text, "confidence": 0.91}
            for speaker, text in (_LINES * 4)[:20]
        ],
    }


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)
    elif value is not None:
        yield str(value)


def render_plain(content: dict[str, Any]) -> bytes:
    """The baseline: every value of the record as a plain paragraph, default fonts."""
    style = getSampleStyleSheet()["Normal"]
    buffer = io.BytesIO()
    doc = SimpleDocTemplate(buffer, pagesize=letter, invariant=1)
    doc.build([Paragraph(escape(text), style) for text in _strings(content)])
    return buffer.getvalue()


def _median_ms(*works: Callable[[], bytes]) -> list[float]:
    """Median wall time of each piece of work, run in turn so that they share the load."""
    for _ in range(WARM_UP):
        for work in works:
            work()
    timings: list[list[float]] = [[] for _ in works]
    for _ in range(ITERATIONS):
        for work, times in zip(works, timings, strict=True):
            start = time.perf_counter()
            work()
            times.append(time.perf_counter() - start)
    return [statistics.median(times) * 1000 for times in timings]


def _page_count(pdf: bytes) -> int:
    return pdf.count(b"/Type /Page\n")


def run() -> dict[str, float]:
    content = typical_record()
    record_ms, plain_ms = _median_ms(
        lambda: render_record(content, "prescriber"), lambda: render_plain(content)
    )
    return {
        "pdf_record_ms": round(record_ms, 2),
        "pdf_plain_ms": round(plain_ms, 2),
        "pdf_ratio": round(record_ms / plain_ms, 2),
        "pdf_record_pages": _page_count(render_record(content, "prescriber")),
        "pdf_plain_pages": _page_count(render_plain(content)),
    }


def main() -> None:
    results = run()
    ratio_ok = results["pdf_ratio"] <= TARGET_RATIO
    time_ok = results["pdf_record_ms"] < TARGET_MS
    print(f"{'measure':<28}{'value':>10}  target")
    print(f"{'render_record (median ms)':<28}{results['pdf_record_ms']:>10.2f}  < {TARGET_MS:.0f}")
    print(f"{'plain document (median ms)':<28}{results['pdf_plain_ms']:>10.2f}")
    print(f"{'ratio':<28}{results['pdf_ratio']:>10.2f}  <= {TARGET_RATIO:.0f}")
    pages = f"{results['pdf_record_pages']:.0f} / {results['pdf_plain_pages']:.0f}"
    print(f"{'pages (record / plain)':<28}{pages:>10}")
    print(f"{ITERATIONS} interleaved iterations after {WARM_UP} warm-up runs each")
    print("targets met" if ratio_ok and time_ok else "TARGETS MISSED")


if __name__ == "__main__":
    main()
