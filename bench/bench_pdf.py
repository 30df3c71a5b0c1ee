"""How long the written record takes to render, against reportlab's own floor.

Run as ``python bench/bench_pdf.py``; ``run()`` returns the figures for ``make bench``.
The baseline is the same text laid out as plain paragraphs (SimpleDocTemplate, default
fonts, nothing embedded), measured in the same process, so that the ratio says what the
record's tables, embedded fonts and page furniture cost on this machine.
Targets: the record within 4x the baseline and under 50 ms; the record as issued (PDF/A-3b
with its content attached, PAdES-signed: ``document.make``) within 3x the baseline.
"""

from __future__ import annotations

import io
import os
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib.pagesizes import letter
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.platypus import Paragraph, SimpleDocTemplate

from logging_app.config import DEMO_SIGNING_FILE
from logging_app.record import document, signing
from logging_app.record.pdf import render_record

WARM_UP = 10
ITERATIONS = 100
TARGET_RATIO = 4.0
TARGET_MS = 50.0
SIGNED_RATIO = 3.0  # the issued file (PDF/A-3b, record.json, PAdES) against the plain one

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


def _medians_ms(*works: Callable[[], bytes]) -> list[tuple[float, float]]:
    """Median wall and CPU time of each piece of work, run in turn so they share the load.

    Wall time is what a caller waits; CPU time is what the work costs, whatever else the
    machine is doing (other jobs on the same two cores inflate wall time, not CPU time).
    """
    for _ in range(WARM_UP):
        for work in works:
            work()
    walls: list[list[float]] = [[] for _ in works]
    cpus: list[list[float]] = [[] for _ in works]
    for _ in range(ITERATIONS):
        for work, wall, cpu in zip(works, walls, cpus, strict=True):
            start, start_cpu = time.perf_counter(), time.process_time()
            work()
            cpu.append(time.process_time() - start_cpu)
            wall.append(time.perf_counter() - start)
    return [
        (statistics.median(wall) * 1000, statistics.median(cpu) * 1000)
        for wall, cpu in zip(walls, cpus, strict=True)
    ]


def _page_count(pdf: bytes) -> int:
    return pdf.count(b"/Type /Page\n")


def demo_seal(folder: Path) -> signing.Seal:
    """A demo certificate of the kind ``init-db`` makes, in a scratch folder."""
    path = folder / DEMO_SIGNING_FILE
    signing.ensure_demo_certificate(path, "Clinique fictive")
    return signing.load_seal(path, None, organisation="Clinique fictive", demo=True, tsa_url=None)


def run() -> dict[str, float]:
    content = typical_record()
    with tempfile.TemporaryDirectory() as folder:
        seal = demo_seal(Path(folder))
    signed = dict(content, signature=seal.describe())
    (record_ms, record_cpu), (plain_ms, plain_cpu), (signed_ms, signed_cpu) = _medians_ms(
        lambda: render_record(content, "prescriber"),
        lambda: render_plain(content),
        lambda: document.make(signed, "prescriber", seal),
    )
    return {
        "pdf_signed_ms": round(signed_ms, 2),
        "pdf_signed_cpu_ms": round(signed_cpu, 2),
        "pdf_signed_ratio": round(signed_ms / plain_ms, 2),
        "pdf_signed_vs_unsigned": round(signed_ms / record_ms, 2),
        "pdf_record_ms": round(record_ms, 2),
        "pdf_plain_ms": round(plain_ms, 2),
        "pdf_ratio": round(record_ms / plain_ms, 2),
        "pdf_record_cpu_ms": round(record_cpu, 2),
        "pdf_plain_cpu_ms": round(plain_cpu, 2),
        "pdf_record_pages": _page_count(render_record(content, "prescriber")),
        "pdf_plain_pages": _page_count(render_plain(content)),
        "load_average": round(os.getloadavg()[0], 2),
    }


def main() -> None:
    results = run()
    ratio_ok = results["pdf_ratio"] <= TARGET_RATIO
    ratio_ok = ratio_ok and results["pdf_signed_ratio"] <= SIGNED_RATIO
    time_ok = results["pdf_record_ms"] < TARGET_MS
    rows = [
        ("render_record, wall (median ms)", f"{results['pdf_record_ms']:.2f}", f"< {TARGET_MS:g}"),
        ("plain document, wall (median ms)", f"{results['pdf_plain_ms']:.2f}", ""),
        ("ratio (wall)", f"{results['pdf_ratio']:.2f}", f"<= {TARGET_RATIO:g}"),
        ("signed PDF/A record, wall (ms)", f"{results['pdf_signed_ms']:.2f}", ""),
        ("signed / plain (wall)", f"{results['pdf_signed_ratio']:.2f}", f"<= {SIGNED_RATIO:g}"),
        ("signed / unsigned (wall)", f"{results['pdf_signed_vs_unsigned']:.2f}", ""),
        ("render_record, CPU (median ms)", f"{results['pdf_record_cpu_ms']:.2f}", ""),
        ("plain document, CPU (median ms)", f"{results['pdf_plain_cpu_ms']:.2f}", ""),
        (
            "pages (record / plain)",
            f"{results['pdf_record_pages']:.0f} / {results['pdf_plain_pages']:.0f}",
            "",
        ),
        ("load average (1 min)", f"{results['load_average']:.2f}", f"cores: {os.cpu_count()}"),
    ]
    for name, value, target in [("measure", "value", "target"), *rows]:
        print(f"{name:<34}{value:>10}  {target}")
    print(f"{ITERATIONS} interleaved iterations after {WARM_UP} warm-up runs each")
    print("targets met" if ratio_ok and time_ok else "TARGETS MISSED")


if __name__ == "__main__":
    main()
