"""Languages: French by default, English from ``Accept-Language`` or one click away.

Messages are written in English in the code and templates; the French catalogue is a plain
gettext ``.po`` file (``logging_app/translations/fr/LC_MESSAGES/messages.po``) compiled in
memory the first time it is needed, so a fresh clone needs no build step. Dates are shown in
America/Montreal.
"""

from __future__ import annotations

from functools import cache
from io import BytesIO
from pathlib import Path

from babel import Locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations
from flask import Flask, request, session
from flask_babel import Babel, Domain

LANGUAGES = ("fr", "en")
DEFAULT_LANGUAGE = "fr"
TIMEZONE = "America/Montreal"
CATALOGUES = Path(__file__).resolve().parent.parent / "translations"


@cache
def catalogue(language: str) -> NullTranslations:
    """The compiled translations of ``language`` (English is the source: no catalogue)."""
    po_file = CATALOGUES / language / "LC_MESSAGES" / "messages.po"
    if not po_file.exists():
        return NullTranslations()
    with po_file.open("rb") as handle:
        messages = read_po(handle, locale=language)
    compiled = BytesIO()
    write_mo(compiled, messages)
    compiled.seek(0)
    return Translations(compiled)


class CompiledPoDomain(Domain):  # type: ignore[misc]
    """Flask-Babel's message domain, reading ``.po`` catalogues instead of ``.mo`` files."""

    def get_translations(self) -> NullTranslations:
        return catalogue(str(current_language()))


def current_language() -> str:
    """The visitor's choice (the language button), else their browser's, else French."""
    chosen = session.get("lang")
    if chosen in LANGUAGES:
        return str(chosen)
    return request.accept_languages.best_match(LANGUAGES, default=DEFAULT_LANGUAGE) or "fr"


def init_app(app: Flask) -> None:
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT_LANGUAGE)
    app.config.setdefault("BABEL_DEFAULT_TIMEZONE", TIMEZONE)
    babel = Babel(app, locale_selector=lambda: Locale.parse(current_language()))
    babel.domain_instance = CompiledPoDomain()
    app.jinja_env.globals["current_language"] = current_language
