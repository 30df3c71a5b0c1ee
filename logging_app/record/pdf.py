"""The written record of a verbal imaging order, as PDF (DESIGN §5, rules R2, R4, R7, R8).

A pure builder: `render_record` takes the record's canonical content (a JSON-able mapping,
exactly what is printed) and returns the PDF bytes of one of its two copies;
`content_sha256` is the hash printed on it. Content that does not fit the schema (an
unknown enumerated value, a timestamp without its offset, a service not chosen by the
patient) raises ValueError rather than print something wrong.

The same content and copy give the same bytes (reportlab's invariant mode; the document
date is `issued_at`), for a given reportlab version and as long as SOURCE_DATE_EPOCH is
not set, which reportlab mixes into the file identifier. Compare stored records by their
stored bytes or by the content hash, not by re-rendering them years later.
"""

from __future__ import annotations

import functools
import io
from collections.abc import Mapping
from typing import Any

from reportlab import rl_config
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import BaseDocTemplate, Flowable, Frame, PageTemplate, Paragraph

from . import format as f
from . import layout, sections
from .content import content_sha256
from .fonts import FONT, register_fonts
from .format import (
    BANNERS,
    CERTIFICATION_EN,
    CERTIFICATION_FR,
    SCHEMA,
    SHORT_BANNERS,
    Copy,
)
from .page import NumberedCanvas, draw_running_text

Box = tuple[int, float, float, float, float]  # page index, x1, y1, x2, y2 (points)

__all__ = [
    "BANNERS",
    "CERTIFICATION_EN",
    "CERTIFICATION_FR",
    "SCHEMA",
    "SHORT_BANNERS",
    "TITLE",
    "Copy",
    "render_record",
]

TITLE = "Ordonnance verbale d'imagerie médicale / Verbal imaging order — record"


def render_record(content: Mapping[str, Any], copy: Copy) -> bytes:
    """The PDF of one copy of the record; the copies differ only by their banner (R8)."""
    return layout_record(content, copy)[0]


def layout_record(content: Mapping[str, Any], copy: Copy) -> tuple[bytes, Box]:
    """The PDF of one copy, and where on its last page the signature field goes."""
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
    where: list[tuple[int, ...]] = []
    doc.build(_story(content, copy, digest, where), canvasmaker=canvasmaker)
    page, x1, y1, x2, y2 = where[-1]
    return buffer.getvalue(), (int(page), x1, y1, x2, y2)


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


def _story(
    content: Mapping[str, Any], copy: Copy, digest: str, where: list[tuple[int, ...]]
) -> list[Flowable]:
    s = layout.styles()
    outcome = content["outcome"]
    voided = [layout.gap(6), sections.voided_notice(outcome)] if outcome in f.VOIDED_REASON else []
    return [
        Paragraph(
            "Ordonnance verbale d'imagerie médicale<br/>"
            f'<font name="{FONT}" size="12" color="{layout.MUTED_HEX}">'
            "/ Verbal imaging order — record</font>",
            s.title,
        ),
        Paragraph(
            layout.markup(
                f"{f.bilingual('Émis le', 'Issued')} : {f.local_time(content['issued_at'])}"
                f" — {f.bilingual('heure de Montréal', 'Montreal time')}"
            ),
            s.subtitle,
        ),
        sections.banner(copy),
        *voided,
        layout.gap(8),
        sections.summary(content),
        *sections.order_section(content),
        *sections.patient_section(content["patient"]),
        *sections.prescriber_section(content["prescriber"]),
        *sections.exam_section(content["order"]),
        *sections.service_section(content["service"]),
        *sections.professional_section(content["professional"], content["refusals"]),
        *sections.call_section(content["call"], content["read_back"]),
        sections.certification_section(content["prescriber"], digest),
        *sections.transcript_section(content["transcript"]),
        *sections.signature_section(content.get("signature"), where),
    ]


def _draw_running_text(canvas: Canvas, doc: Any, *, content: Mapping[str, Any], copy: Copy) -> None:
    """Order, copy and patient on every page, so that a loose page still identifies itself."""
    draw_running_text(
        canvas,
        order=f"N° / No. {content['order']['number']} · version {content['version']}",
        copy_label=SHORT_BANNERS[copy],
        patient=str(content["patient"]["name"]),
        nam=str(content["patient"]["nam"]),
        voided=content["outcome"] in f.VOIDED_REASON,
    )
