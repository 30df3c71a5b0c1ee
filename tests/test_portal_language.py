"""French by default, English from the browser's Accept-Language or one click away; every
message of the interface has its French translation."""

from __future__ import annotations

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from flask.testing import FlaskClient

from logging_app import PROJECT_ROOT
from logging_app.portal.i18n import CATALOGUES, catalogue
from tests.portal_data import csrf_token


def test_french_is_the_default(client: FlaskClient) -> None:
    html = client.get("/login").get_data(as_text=True)
    assert '<html lang="fr">' in html and "Connexion à Ordophone" in html


def test_english_follows_accept_language(client: FlaskClient) -> None:
    html = client.get("/login", headers={"Accept-Language": "en-CA,en;q=0.8"}).get_data(True)
    assert '<html lang="en">' in html and "Sign in to Ordophone" in html


def test_the_language_button_switches_and_remembers(client: FlaskClient) -> None:
    response = client.post(
        "/language/en", data={"csrf_token": csrf_token(client), "next": "/login"}
    )
    assert response.headers["Location"] == "/login"
    assert "Sign in to Ordophone" in client.get("/login").get_data(as_text=True)
    client.post("/language/fr", data={"csrf_token": csrf_token(client)})
    assert "Connexion à Ordophone" in client.get("/login").get_data(as_text=True)


def test_every_message_has_a_french_translation() -> None:
    with (CATALOGUES / "fr" / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        french = read_po(handle, locale="fr")
    keywords = {"_": None, "gettext": None, "_l": None, "lazy_gettext": None}
    sources = [
        (PROJECT_ROOT / "logging_app", "**.py", "python"),
        (PROJECT_ROOT / "templates", "**.html", "jinja2.ext:babel_extract"),
    ]
    missing = [
        message
        for root, pattern, method in sources
        for _, _, message, _, _ in extract_from_dir(
            str(root), [(pattern, method)], keywords=keywords
        )
        if french.get(message) is None or not french[message].string
    ]
    assert missing == []


def test_the_catalogue_compiles_in_memory() -> None:
    assert catalogue("fr").gettext("Orders") == "Ordonnances"
    assert catalogue("en").gettext("Orders") == "Orders"
