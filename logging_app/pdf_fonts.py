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
