"""The look of the written record: styles, tables and the page furniture (header, footer,
page x of y). Fonts and what they can print are in `pdf_fonts`.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

from reportlab.lib import colors
from reportlab.lib.pagesizes import letter
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import inch
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import Flowable, Paragraph, Spacer, Table, TableStyle

from .pdf_fonts import FONT, FONT_BOLD, FONT_ITALIC, printable, register_fonts

PAGE_SIZE = letter  # Québec clinics file Letter paper
PAGE_WIDTH, PAGE_HEIGHT = PAGE_SIZE
MARGIN_X = 0.75 * inch
MARGIN_TOP = 0.85 * inch
MARGIN_BOTTOM = 0.8 * inch
FRAME_WIDTH = PAGE_WIDTH - 2 * MARGIN_X
KEY_WIDTH = 2.25 * inch

INK = colors.HexColor("#1b2430")
MUTED = colors.HexColor("#4a5560")
RULE = colors.HexColor("#b8c2cc")
KEY_SHADE = colors.HexColor("#f1f4f7")
STRIPE = colors.HexColor("#f7f9fb")
URGENT = "#a61b1b"

# Each copy's banner has its own colour so that a clerk tells them apart at a glance.
BANNER_COLOURS = {
    "prescriber": ("#e3ecf7", "#1d4f8c"),
    "service": ("#e4f2e7", "#1f6b35"),
}
CERTIFICATION_COLOURS = ("#f4f6f8", "#8a97a4")
TRANSCRIPT_WIDTHS = (24.0, 92.0, FRAME_WIDTH - 24.0 - 92.0 - 64.0, 64.0)


class Text(Paragraph):  # type: ignore[misc]  # reportlab is untyped
    """A Paragraph that remembers its last layout.

    Tables wrap each cell to measure it, again to draw it, and again when a row is tested
    against the space left on the page; line breaking is most of a record's rendering time,
    and it depends only on the width, so a repeated width reuses the lines already broken.
    """

    _wrapped_width: float | None = None
    _wrapped_size: tuple[float, float] = (0.0, 0.0)

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:
        if availWidth != self._wrapped_width:
            self._wrapped_size = super().wrap(availWidth, availHeight)
            self._wrapped_width = availWidth
        return self._wrapped_size


class Styles:
    """Paragraph styles of the record, built once after the fonts are registered."""

    def __init__(self) -> None:
        register_fonts()
        base = ParagraphStyle("body", fontName=FONT, fontSize=9, leading=11.5, textColor=INK)
        self.body = base
        self.key = ParagraphStyle("key", parent=base, fontSize=8.5, leading=10.5)
        self.small = ParagraphStyle("small", parent=base, fontSize=7.5, leading=9.5)
        self.title = ParagraphStyle(
            "title", parent=base, fontName=FONT_BOLD, fontSize=15, leading=19, spaceAfter=2
        )
        self.subtitle = ParagraphStyle(
            "subtitle", parent=base, fontSize=10.5, leading=13, textColor=MUTED, spaceAfter=8
        )
        self.heading = ParagraphStyle(
            "heading",
            parent=base,
            fontName=FONT_BOLD,
            fontSize=10.5,
            leading=13,
            spaceBefore=10,
            spaceAfter=4,
            keepWithNext=1,
        )
        self.heading_alone = ParagraphStyle("heading_alone", parent=self.heading, keepWithNext=0)
        self.banner = ParagraphStyle(
            "banner", parent=base, fontName=FONT_BOLD, fontSize=11, leading=14
        )
        self.summary_key = ParagraphStyle(
            "summary_key", parent=base, fontSize=7.5, leading=9.5, textColor=MUTED
        )
        self.summary_value = ParagraphStyle(
            "summary_value", parent=base, fontName=FONT_BOLD, fontSize=12, leading=15
        )
        self.certification = ParagraphStyle("certification", parent=base, fontSize=9.5, leading=13)
        self.translation = ParagraphStyle(
            "translation", parent=self.certification, fontName=FONT_ITALIC, textColor=MUTED
        )
        self.digest = ParagraphStyle("digest", parent=base, fontSize=9.5, leading=13)


@functools.cache
def styles() -> Styles:
    return Styles()


def heading(french: str, english: str, *, keep_with_next: bool = True) -> Paragraph:
    """A section heading; long sections start on a new page only if little room is left."""
    s = styles()
    markup = f'{french} <font name="{FONT}" color="#4a5560">/ {english}</font>'
    return Text(markup, s.heading if keep_with_next else s.heading_alone)


# The transcript starts on a new page unless this much room is left for its first rows.
MIN_LISTING_START = 1.6 * inch

# A row may split across pages only if at least this much of it fits (points).
_MIN_ROW_SPLIT = 24

# Every table names its font: reportlab's cell default is Helvetica, which is not embedded.
_CELLS = [("FONTNAME", (0, 0), (-1, -1), FONT), ("VALIGN", (0, 0), (-1, -1), "TOP")]

_KEY_VALUE_STYLE = TableStyle(
    [
        *_CELLS,
        ("BACKGROUND", (0, 0), (0, -1), KEY_SHADE),
        ("LINEABOVE", (0, 0), (-1, 0), 0.75, RULE),
        ("LINEBELOW", (0, 0), (-1, -1), 0.5, RULE),
        ("LEFTPADDING", (0, 0), (-1, -1), 5),
        ("RIGHTPADDING", (0, 0), (-1, -1), 5),
        ("TOPPADDING", (0, 0), (-1, -1), 3),
        ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
    ]
)


def key_value_table(rows: Sequence[tuple[str, str | Flowable]]) -> Table:
    """A section's two columns: the bilingual label, then the value (markup or a flowable)."""
    s = styles()
    data = [
        [Text(key, s.key), value if isinstance(value, Flowable) else Text(value, s.body)]
        for key, value in rows
    ]
    return Table(
        data,
        colWidths=[KEY_WIDTH, FRAME_WIDTH - KEY_WIDTH],
        style=_KEY_VALUE_STYLE,
        splitInRow=_MIN_ROW_SPLIT,
        hAlign="LEFT",
    )


def listing_table(
    header: Sequence[str], rows: Sequence[Sequence[str]], widths: Sequence[float]
) -> Table:
    """Rows of a list (the transcript), header repeated on each page, rows striped."""
    s = styles()
    data = [[Text(cell, s.key) for cell in header]]
    data.extend([Text(cell, s.body) for cell in row] for row in rows)
    style = TableStyle(
        [
            *_CELLS,
            ("BACKGROUND", (0, 0), (-1, 0), KEY_SHADE),
            ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, STRIPE]),
            ("LINEABOVE", (0, 0), (-1, 0), 0.75, RULE),
            ("LINEBELOW", (0, 0), (-1, -1), 0.5, RULE),
            ("LEFTPADDING", (0, 0), (-1, -1), 5),
            ("RIGHTPADDING", (0, 0), (-1, -1), 5),
            ("TOPPADDING", (0, 0), (-1, -1), 3),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 4),
        ]
    )
    return Table(
        data,
        colWidths=list(widths),
        style=style,
        repeatRows=1,
        splitInRow=_MIN_ROW_SPLIT,
        hAlign="LEFT",
    )


def summary_table(cells: Sequence[tuple[str, str]], shares: Sequence[float]) -> Table:
    """The record's identity at a glance: small labels above large values."""
    s = styles()
    data = [
        [Text(label, s.summary_key) for label, _ in cells],
        [Text(value, s.summary_value) for _, value in cells],
    ]
    return Table(
        data,
        colWidths=[FRAME_WIDTH * share / sum(shares) for share in shares],
        style=TableStyle(
            [
                *_CELLS,
                ("LINEABOVE", (0, 0), (-1, 0), 0.75, RULE),
                ("LINEBELOW", (0, -1), (-1, -1), 0.75, RULE),
                ("LINEAFTER", (0, 0), (-2, -1), 0.5, RULE),
                ("LEFTPADDING", (0, 0), (-1, -1), 6),
                ("TOPPADDING", (0, 0), (-1, 0), 4),
                ("BOTTOMPADDING", (0, -1), (-1, -1), 6),
            ]
        ),
        hAlign="LEFT",
    )


def boxed(flowables: Sequence[Flowable], background: str, border: str) -> Table:
    """A full-width framed block (the banner, the certification)."""
    return Table(
        [[list(flowables)]],
        colWidths=[FRAME_WIDTH],
        style=TableStyle(
            [
                *_CELLS,
                ("BACKGROUND", (0, 0), (-1, -1), colors.HexColor(background)),
                ("BOX", (0, 0), (-1, -1), 1, colors.HexColor(border)),
                ("LEFTPADDING", (0, 0), (-1, -1), 8),
                ("RIGHTPADDING", (0, 0), (-1, -1), 8),
                ("TOPPADDING", (0, 0), (-1, -1), 6),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 7),
            ]
        ),
        splitInRow=_MIN_ROW_SPLIT,
        hAlign="LEFT",
    )


def gap(points: float = 4) -> Spacer:
    return Spacer(1, points)


def fit(value: str, font: str, size: float, width: float) -> str:
    """Shorten running-header text that would overflow its place, marking the cut."""
    value = " ".join(printable(value).split())
    if pdfmetrics.stringWidth(value, font, size) <= width:
        return value
    while value and pdfmetrics.stringWidth(value + "…", font, size) > width:
        value = value[:-1]
    return value + "…"


def draw_running_text(canvas: Canvas, top_left: str, top_right: str, bottom_left: str) -> None:
    """Header and footer of every page (the page count is added by `NumberedCanvas`)."""
    canvas.saveState()
    canvas.setStrokeColor(RULE)
    canvas.setLineWidth(0.5)
    top = PAGE_HEIGHT - MARGIN_TOP + 0.3 * inch
    bottom = MARGIN_BOTTOM - 0.42 * inch
    canvas.line(MARGIN_X, top - 4, PAGE_WIDTH - MARGIN_X, top - 4)
    canvas.line(MARGIN_X, bottom + 10, PAGE_WIDTH - MARGIN_X, bottom + 10)
    canvas.setFillColor(MUTED)
    half = FRAME_WIDTH / 2 - 6
    canvas.setFont(FONT_BOLD, 8)
    canvas.drawString(MARGIN_X, top, fit(top_left, FONT_BOLD, 8, half))
    canvas.drawRightString(PAGE_WIDTH - MARGIN_X, top, fit(top_right, FONT_BOLD, 8, half))
    canvas.setFont(FONT, 8)
    canvas.drawString(MARGIN_X, bottom, fit(bottom_left, FONT, 8, FRAME_WIDTH - 150))
    canvas.restoreState()


class NumberedCanvas(Canvas):  # type: ignore[misc]  # reportlab is untyped
    """Defers each page until the end so that every page can say "Page x of y".

    The known single-pass recipe: keep each page's state, then replay the pages once the
    count is known. Cheaper than building the document twice.
    """

    def __init__(self, *args: Any, creation_date: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._deferred_pages: list[dict[str, Any]] = []
        # The document's date is the record's issue time, not the clock, so that the same
        # content always gives the same bytes.
        self.setDateFormatter(lambda *_: creation_date)

    def showPage(self) -> None:  # reportlab's name
        self._deferred_pages.append(dict(self.__dict__))
        self._startPage()

    def save(self) -> None:
        total = len(self._deferred_pages)
        for state in self._deferred_pages:
            self.__dict__.update(state)
            self._draw_page_count(total)
            super().showPage()
        super().save()

    def _draw_page_count(self, total: int) -> None:
        self.saveState()
        self.setFont(FONT, 8)
        self.setFillColor(MUTED)
        number = self._pageNumber
        self.drawRightString(
            PAGE_WIDTH - MARGIN_X,
            MARGIN_BOTTOM - 0.42 * inch,
            f"Page {number} de {total} / Page {number} of {total}",
        )
        self.restoreState()
