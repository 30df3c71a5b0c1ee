"""The record's typeface: Bitstream Vera, embedded, and what it can print.

Vera ships inside the reportlab wheel, so the record renders the same on a fresh machine,
and every glyph is embedded (the standard 14 PDF fonts are not). It covers Latin-1 and a few
more characters (283 in all: French and English text, Œ œ, € and typographic punctuation),
not Latin Extended (ř, ł, ễ), Greek, Cyrillic, Arabic, Hebrew or CJK. reportlab draws a
missing character as an empty box *and loses it* (it maps every missing character to
glyph 0), so `printable` writes such characters as their code points instead: the record
stays lossless and says plainly that something could not be drawn.
"""

from __future__ import annotations

import functools
import unicodedata
from pathlib import Path

import reportlab
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

FONT = "OrdophoneVera"
FONT_BOLD = "OrdophoneVera-Bold"
FONT_ITALIC = "OrdophoneVera-Italic"
FONT_BOLD_ITALIC = "OrdophoneVera-BoldItalic"

_FILES = {
    FONT: "Vera.ttf",
    FONT_BOLD: "VeraBd.ttf",
    FONT_ITALIC: "VeraIt.ttf",
    FONT_BOLD_ITALIC: "VeraBI.ttf",
}


@functools.cache
def register_fonts() -> frozenset[int]:
    """Register the Vera family once per process (parsing a TTF costs milliseconds).

    Returns the code points that every face of the family can draw.
    """
    folder = Path(reportlab.__file__).parent / "fonts"
    faces = []
    for name, file in _FILES.items():
        font = TTFont(name, str(folder / file))
        pdfmetrics.registerFont(font)
        faces.append(frozenset(font.face.charToGlyph))
    pdfmetrics.registerFontFamily(
        FONT, normal=FONT, bold=FONT_BOLD, italic=FONT_ITALIC, boldItalic=FONT_BOLD_ITALIC
    )
    return frozenset.intersection(*faces)


def printable(value: str) -> str:
    """The text as the record can draw it, without losing any character.

    Composed to NFC first (a decomposed "é" becomes the "é" Vera has); control characters
    other than line breaks and exotic spaces become plain spaces; any other character
    the font lacks is written as [U+XXXX].
    """
    covered = register_fonts()
    composed = unicodedata.normalize("NFC", value)
    if all(ord(char) in covered for char in composed):
        return composed
    return "".join(_substitute(char, covered) for char in composed)


def _substitute(char: str, covered: frozenset[int]) -> str:
    code = ord(char)
    if code in covered or char in "\n\t":
        return char
    category = unicodedata.category(char)
    if category == "Cc" or category == "Zs":
        return " "
    if category in ("Zl", "Zp"):
        return "\n"
    return f"[U+{code:04X}]"


def wrap_lines(value: str, font: str, size: float, width: float) -> str:
    """Break plain text into lines no wider than `width`, for a table cell to draw.

    Tables draw plain strings line by line, far faster than a Paragraph (no markup to
    parse, nothing to escape); this does the Paragraph's other job, word wrapping. Runs of
    spaces collapse, line breaks stay, and a word longer than a line is cut.
    """
    space = pdfmetrics.stringWidth(" ", font, size)
    lines: list[str] = []
    for paragraph in value.split("\n"):
        line: list[str] = []
        used = -space
        for word in paragraph.split():
            word_width = pdfmetrics.stringWidth(word, font, size)
            if word_width > width:
                *whole, word = _cut(word, font, size, width)
                if line:
                    lines.append(" ".join(line))
                lines.extend(whole)
                line, used = [], -space
                word_width = pdfmetrics.stringWidth(word, font, size)
            elif line and used + space + word_width > width:
                lines.append(" ".join(line))
                line, used = [], -space
            line.append(word)
            used += space + word_width
        lines.append(" ".join(line))
    return "\n".join(lines)


def _cut(word: str, font: str, size: float, width: float) -> list[str]:
    pieces: list[str] = []
    start, used = 0, 0.0
    for index, char in enumerate(word):
        char_width = pdfmetrics.stringWidth(char, font, size)
        if used + char_width > width and index > start:
            pieces.append(word[start:index])
            start, used = index, 0.0
        used += char_width
    pieces.append(word[start:])
    return pieces
