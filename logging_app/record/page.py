"""Page furniture of the written record: running header and footer, "Page x of y"."""

from __future__ import annotations

from typing import Any

from reportlab.lib.units import inch
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfgen.canvas import Canvas

from .fonts import FONT, FONT_BOLD, printable
from .format import VOIDED
from .layout import (
    FRAME_WIDTH,
    MARGIN_BOTTOM,
    MARGIN_TOP,
    MARGIN_X,
    MUTED,
    PAGE_HEIGHT,
    PAGE_WIDTH,
    RULE,
    URGENT,
)

# The footer's left part; the right part says "Page x de y / Page x of y".
_FOOTER_WIDTH = FRAME_WIDTH - 150


def fit(value: str, font: str, size: float, width: float) -> str:
    """Shorten running-header text that would overflow its place, marking the cut."""
    value = " ".join(printable(value).split())
    if pdfmetrics.stringWidth(value, font, size) <= width:
        return value
    room = width - pdfmetrics.stringWidth("…", font, size)
    used = 0.0
    for index, char in enumerate(value):
        used += pdfmetrics.stringWidth(char, font, size)
        if used > room:
            return value[:index] + "…"
    return value


def draw_running_text(
    canvas: Canvas, *, order: str, copy_label: str, patient: str, nam: str, voided: bool = False
) -> None:
    """Header and footer of every page (the page count is added by `NumberedCanvas`);
    ``voided``: the order was not transmitted, and every page says not to act on it.

    A long patient name is shortened, never the NAM, which identifies the patient.
    """
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
    canvas.drawString(MARGIN_X, top, fit(order, FONT_BOLD, 8, half))
    canvas.drawRightString(PAGE_WIDTH - MARGIN_X, top, fit(copy_label, FONT_BOLD, 8, half))
    canvas.setFont(FONT, 8)
    label, identifier = "Patient : ", f" · NAM {fit(nam, FONT, 8, 100)}"
    room = _FOOTER_WIDTH - pdfmetrics.stringWidth(label + identifier, FONT, 8)
    canvas.drawString(MARGIN_X, bottom, label + fit(patient, FONT, 8, room) + identifier)
    if voided:
        canvas.setFillColor(URGENT)
        canvas.setFont(FONT_BOLD, 9)
        canvas.drawCentredString(PAGE_WIDTH / 2, top + 11, " / ".join(VOIDED))
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
