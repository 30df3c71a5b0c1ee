"""The look of the written record: styles, the tables of its sections and markup helpers.

Fonts and what they can print are in `fonts`; header, footer and page x of y in
`page`.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any
from xml.sax.saxutils import escape

from reportlab.lib import colors
from reportlab.lib.pagesizes import letter
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import inch
from reportlab.platypus import Flowable, Paragraph, Spacer, Table, TableStyle

from .fonts import FONT, FONT_BOLD, FONT_ITALIC, register_fonts, wrap_lines

PAGE_SIZE = letter  # Québec clinics file Letter paper
PAGE_WIDTH, PAGE_HEIGHT = PAGE_SIZE
MARGIN_X = 0.75 * inch
MARGIN_TOP = 0.85 * inch
MARGIN_BOTTOM = 0.8 * inch
FRAME_WIDTH = PAGE_WIDTH - 2 * MARGIN_X
KEY_WIDTH = 2.25 * inch
_PAD_X = 5

INK_HEX = "#1b2430"
INK = colors.HexColor(INK_HEX)
MUTED_HEX = "#4a5560"
MUTED = colors.HexColor(MUTED_HEX)
RULE = colors.HexColor("#b8c2cc")
RULE_DARK = colors.HexColor("#5b6773")
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


class Styles:
    """Paragraph styles of the record, built once after the fonts are registered."""

    def __init__(self) -> None:
        register_fonts()
        base = ParagraphStyle("body", fontName=FONT, fontSize=9, leading=11.5, textColor=INK)
        self.body = base
        self.key = ParagraphStyle("key", parent=base, fontSize=8.5, leading=10.5)
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


@functools.cache
def styles() -> Styles:
    return Styles()


def markup(plain: str) -> str:
    """Plain text made safe for a Paragraph, which parses markup; line breaks kept."""
    return escape(plain).replace("\n", "<br/>")


def two_tone(french: str, english: str) -> str:
    """Paragraph markup: French, then English beside it in a quieter colour."""
    if french == english:
        return markup(french)
    return f'{markup(french)} <font color="{MUTED_HEX}">/ {markup(english)}</font>'


def stacked(french: str, english: str) -> str:
    """Paragraph markup: French, with English in small type beneath (the summary's values)."""
    return f'{markup(french)}<br/><font size="8" color="{MUTED_HEX}">/ {markup(english)}</font>'


def heading(french: str, english: str, *, keep_with_next: bool = True) -> Paragraph:
    """A section heading, kept with what follows unless the section is long."""
    s = styles()
    text = f'{markup(french)} <font name="{FONT}" color="{MUTED_HEX}">/ {markup(english)}</font>'
    return Paragraph(text, s.heading if keep_with_next else s.heading_alone)


# The transcript starts on a new page unless this much room is left for its first rows.
MIN_LISTING_START = 1.6 * inch

# A row may split across pages only if at least this much of it fits (points).
_MIN_ROW_SPLIT = 24

# Table cells hold plain strings (see `wrap_lines`). Every table names its font, since
# reportlab's default is Helvetica, which is not embedded. Leading is 1.2 x the size
# because that is what a table assumes when it splits a long cell across pages.
_PADDING = [
    ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ("LEFTPADDING", (0, 0), (-1, -1), _PAD_X),
    ("RIGHTPADDING", (0, 0), (-1, -1), _PAD_X),
    ("TOPPADDING", (0, 0), (-1, -1), 2.5),
    ("BOTTOMPADDING", (0, 0), (-1, -1), 3.5),
]
_KEY_FONT = ("FONT", FONT, 8.5, 8.5 * 1.2)
_VALUE_FONT = ("FONT", FONT, 9, 9 * 1.2)


def _lines(value: str, font: str, size: float, column: float) -> str:
    return wrap_lines(value, font, size, column - 2 * _PAD_X)


# A section's row: label and value, plain text; a third item, True, sets the value in bold.
Row = tuple[str, str] | tuple[str, str, bool]


def key_value_table(rows: Sequence[Row]) -> Table:
    """A section's two columns: the label (muted), then the value; `True` makes it bold."""
    value_width = FRAME_WIDTH - KEY_WIDTH
    data = []
    commands: list[tuple[Any, ...]] = [
        *_PADDING,
        (_KEY_FONT[0], (0, 0), (0, -1), *_KEY_FONT[1:]),
        (_VALUE_FONT[0], (1, 0), (1, -1), *_VALUE_FONT[1:]),
        ("TEXTCOLOR", (0, 0), (0, -1), MUTED),
        ("TEXTCOLOR", (1, 0), (1, -1), INK),
        ("BACKGROUND", (0, 0), (0, -1), KEY_SHADE),
        ("LINEABOVE", (0, 0), (-1, 0), 0.75, RULE),
        ("LINEBELOW", (0, 0), (-1, -1), 0.5, RULE),
    ]
    for index, (key, value, *strong) in enumerate(rows):
        font = FONT_BOLD if strong and strong[0] else FONT
        if font != FONT:
            commands.append(("FONTNAME", (1, index), (1, index), font))
        data.append([_lines(key, FONT, 8.5, KEY_WIDTH), _lines(value, font, 9, value_width)])
    return Table(
        data,
        colWidths=[KEY_WIDTH, value_width],
        style=TableStyle(commands),
        splitInRow=_MIN_ROW_SPLIT,
        hAlign="LEFT",
    )


def listing_table(
    header: Sequence[str], rows: Sequence[Sequence[str]], widths: Sequence[float]
) -> Table:
    """Rows of a list (the transcript), header repeated on each page, rows striped."""
    data = [[_lines(cell, FONT, 8.5, width) for cell, width in zip(header, widths, strict=True)]]
    data.extend(
        [_lines(cell, FONT, 9, width) for cell, width in zip(row, widths, strict=True)]
        for row in rows
    )
    style = TableStyle(
        [
            *_PADDING,
            (_VALUE_FONT[0], (0, 0), (-1, -1), *_VALUE_FONT[1:]),
            (_KEY_FONT[0], (0, 0), (-1, 0), *_KEY_FONT[1:]),
            ("TEXTCOLOR", (0, 0), (-1, 0), MUTED),
            ("TEXTCOLOR", (0, 1), (-1, -1), INK),
            ("BACKGROUND", (0, 0), (-1, 0), KEY_SHADE),
            ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, STRIPE]),
            ("LINEABOVE", (0, 0), (-1, 0), 0.75, RULE),
            ("LINEBELOW", (0, 0), (-1, -1), 0.5, RULE),
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
        [Paragraph(label, s.summary_key) for label, _ in cells],
        [Paragraph(value, s.summary_value) for _, value in cells],
    ]
    return Table(
        data,
        colWidths=[FRAME_WIDTH * share / sum(shares) for share in shares],
        style=TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, -1), FONT),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
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
                ("FONTNAME", (0, 0), (-1, -1), FONT),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
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


class SignaturePlace(Flowable):  # type: ignore[misc]  # reportlab is untyped
    """The framed place of the visible signature field: it prints the signer's lines and
    notes where it was drawn (page index, box in points), where signing puts the field."""

    def __init__(self, lines: Sequence[tuple[str, str]], where: list[tuple[int, ...]]) -> None:
        super().__init__()
        self.lines = lines  # (text, colour)
        self.where = where
        self.width, self.height = FRAME_WIDTH, 14 + 12 * len(lines)

    def wrap(self, available_width: float, available_height: float) -> tuple[float, float]:
        return self.width, self.height

    def draw(self) -> None:
        canvas = self.canv
        canvas.saveState()
        canvas.setStrokeColor(RULE_DARK)
        canvas.setLineWidth(1)
        canvas.rect(0, 0, self.width, self.height, stroke=1, fill=0)
        y = self.height - 16
        for index, (line, colour) in enumerate(self.lines):
            canvas.setFont(FONT_BOLD if index == 0 else FONT, 9 if index == 0 else 8.5)
            canvas.setFillColor(colors.HexColor(colour))
            canvas.drawString(8, y, line)
            y -= 12
        canvas.restoreState()
        x, y = canvas.absolutePosition(0, 0)
        self.where.append((canvas.getPageNumber() - 1, x, y, x + self.width, y + self.height))


def gap(points: float = 4) -> Spacer:
    return Spacer(1, points)
