"""The written record (DESIGN §5): what the PDF says, read back with pypdf.

Demo data only: every person, number and call below is fictional.
"""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pypdf
import pytest

from logging_app.record.content import content_sha256
from logging_app.record.pdf import (
    BANNERS,
    CERTIFICATION_EN,
    CERTIFICATION_FR,
    SHORT_BANNERS,
    Copy,
    render_record,
)

MARKUP = "<b>O'Brien & Co</b>"
TITLE = "Ordonnance verbale d'imagerie médicale / Verbal imaging order — record"


def record(segments: int = 4) -> dict[str, Any]:
    """A complete, fictional record; each test changes what it is about."""
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
                "laterality": "left",
                "contrast": False,
            },
            "indication": "Douleur à l'hypocondre droit depuis 3 jours; fièvre à 38,4 °C.",
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
            "address": "1200, rue Saint-Denis, Montréal (Québec)",
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
            {
                "speaker": "physician" if n % 2 == 0 else "professional",
                "text": f"Segment {n} : échographie abdominale, côté gauche.",
                "confidence": 0.91,
            }
            for n in range(segments)
        ],
    }


def pages(pdf: bytes) -> list[str]:
    reader = pypdf.PdfReader(io.BytesIO(pdf))
    return [" ".join(page.extract_text().split()) for page in reader.pages]


def text_of(content: dict[str, Any], copy: Copy = "prescriber") -> str:
    return " ".join(pages(render_record(content, copy)))


def printed_digest(text: str, label: str) -> str:
    found = re.search(label + r" ((?:[0-9a-f]{8} ){7}[0-9a-f]{8})", text)
    assert found, f"no digest after {label!r}"
    return found[1].replace(" ", "")


@pytest.fixture(scope="module")
def sample_text() -> str:
    return text_of(record())


@pytest.mark.parametrize(
    "expected",
    [
        TITLE,
        "12345674",
        "Urgente / Urgent",
        "Transmise / Transmitted",
        "Émis le / Issued : 2026-11-26 09:21:40 HNE/EST",
        "Ordonnance rédigée le / Order written 2026-11-26 08:40:12 HNE/EST",
        "Version précédente / Previous version Aucune (première version) / None (first version)",
        "Dre Hélène Côté-Bérubé",
        "Numéro de permis / Licence number 1-23456",
        "Afficheur et NIP / Caller ID and PIN",
        "Françoise Lévesque",
        "Date de naissance / Date of birth 1958-03-14",
        "LEVF58531412",
        "Échographie abdominale complète",
        "Modalité / Modality US",
        "Région / Body region Abdomen",
        "Latéralité / Laterality Gauche / Left",
        "Produit de contraste / Contrast Non / No",
        "Douleur à l'hypocondre droit depuis 3 jours; fièvre à 38,4 °C.",
        "Service choisi par le patient / Service chosen by the patient",
        "Clinique radiologique Saint-Édouard",
        "+1 514-555-0142",
        "1200, rue Saint-Denis, Montréal (Québec)",
        "Technologue / Technologist",
        "TI-204518",
        "Jérôme Gagnon (confiance de la reconnaissance / recognition confidence 0.93)",
        "Identité confirmée le / Identity confirmed at 2026-11-26 09:05:02 HNE/EST",
        "Personnel administratif ou autre / Administrative or other staff — "
        "2026-11-26 09:03:41 HNE/EST",
        "2026-11-26 09:02:55 HNE/EST · 2026-11-26 14:02:55 UTC",
        "2026-11-26 09:09:31 HNE/EST · 2026-11-26 14:09:31 UTC",
        "6 min 36 s (396 s)",
        "CA0000000000000000000000000000a001",
        "CA0000000000000000000000000000b002",
        "RE0000000000000000000000000000c003",
        "Oui / Yes — 2026-11-26 09:10:05 HNE/EST",
        "Médecin / Physician",
        "Professionnel / Professional",
        "Segment 0 : échographie abdominale, côté gauche.",
        "Segment 3 : échographie abdominale, côté gauche.",
        "0.91",
    ],
)
def test_record_prints_every_field(sample_text: str, expected: str) -> None:
    assert expected in sample_text


def test_record_prints_the_recording_hash(sample_text: str) -> None:
    label = re.escape("SHA-256 de l'enregistrement / Recording SHA-256")
    assert printed_digest(sample_text, label) == "4c" * 32


def test_certification_is_printed_in_french_and_english(sample_text: str) -> None:
    # Rule R4, word for word; spelled out here so that a change of wording fails a test.
    french = (
        "Je certifie que : ce document est une ordonnance originale et que celle-ci ne sera "
        "pas réutilisée. Elle sera conservée au dossier du patient; le service ou le "
        "laboratoire d'imagerie identifié en est le seul destinataire."
    )
    english = (
        "I certify that: this document is an original order and that it will not be "
        "reused. It will be kept in the patient's file; the identified imaging service or "
        "laboratory is its sole recipient."
    )
    assert (french, english) == (CERTIFICATION_FR, CERTIFICATION_EN)
    assert french in sample_text
    assert english in sample_text


PRESCRIBER_BANNER = (
    "Copie pour le dossier du patient (prescripteur) / Copy for the prescriber's patient file"
)
SERVICE_BANNER = "Copie pour le dossier du service d'imagerie / Copy for the imaging service's file"


@pytest.mark.parametrize(
    ("copy", "banner", "other"),
    [
        ("prescriber", PRESCRIBER_BANNER, SERVICE_BANNER),
        ("service", SERVICE_BANNER, PRESCRIBER_BANNER),
    ],
)
def test_each_copy_carries_its_own_banner_only(copy: Copy, banner: str, other: str) -> None:
    text = text_of(record(), copy)
    assert banner in text
    for half in other.split(" / "):
        assert half not in text


def test_the_two_copies_differ_only_in_their_banner() -> None:
    content = record()
    prescriber, service = text_of(content, "prescriber"), text_of(content, "service")
    assert prescriber != service
    assert render_record(content, "prescriber") != render_record(content, "service")
    # Take the banners out (in full on page 1, short atop each page): the rest is the same.
    for copy in ("prescriber", "service"):
        for banner in (" / ".join(BANNERS[copy]), SHORT_BANNERS[copy]):
            prescriber = prescriber.replace(banner, "BANNER")
            service = service.replace(banner, "BANNER")
    assert prescriber == service


def test_printed_sha256_is_the_content_hash(sample_text: str) -> None:
    label = re.escape("SHA-256 du contenu / Content SHA-256")
    assert printed_digest(sample_text, label) == content_sha256(record())


def test_content_sha256_is_over_canonical_json() -> None:
    content = record()
    reordered = dict(reversed(list(content.items())))
    assert content_sha256(reordered) == content_sha256(content)
    assert re.fullmatch(r"[0-9a-f]{64}", content_sha256(content))
    content["patient"]["name"] = "Francoise Levesque"
    assert content_sha256(content) != content_sha256(record())


def test_later_version_names_the_one_it_follows() -> None:
    content = record()
    content["version"] = 2
    content["previous"] = {"version": 1, "content_sha256": "9b1f0c2e" * 8}
    text = text_of(content)
    assert "Fait suite à la version 1 / Follows version 1" in text
    assert printed_digest(text, "SHA-256 :") == "9b1f0c2e" * 8


def test_every_page_says_page_x_of_y() -> None:
    texts = pages(render_record(record(segments=60), "service"))
    total = len(texts)
    assert total >= 3
    for number, text in enumerate(texts, start=1):
        assert f"Page {number} de {total} / Page {number} of {total}" in text


def test_metadata_names_the_record() -> None:
    reader = pypdf.PdfReader(io.BytesIO(render_record(record(), "prescriber")))
    meta = reader.metadata
    assert meta is not None
    assert meta.title == TITLE
    assert meta.author == "Ordophone"
    assert meta.subject == "12345674"
    assert meta.creator is not None and meta.creator.startswith("Ordophone")
    assert meta.creation_date_raw == "D:20261126142140+00'00'"


def test_every_font_is_embedded() -> None:
    reader = pypdf.PdfReader(io.BytesIO(render_record(record(), "prescriber")))
    fonts: dict[str, Any] = {}
    for page in reader.pages:
        resources: Any = page["/Resources"]
        for ref in resources["/Font"].values():
            font = ref.get_object()
            fonts[font["/BaseFont"]] = font
    assert fonts
    for name, font in fonts.items():
        assert "/FontFile2" in font["/FontDescriptor"], f"{name} is not embedded"


def test_accented_text_is_extracted_as_typed() -> None:
    content = record()
    content["patient"]["name"] = "Éloïse Çelik-Bérubé à l'Œuvre"
    content["order"]["indication"] = "ô è à ç É « guillemets » — 25 €"
    text = text_of(content)
    assert "Éloïse Çelik-Bérubé à l'Œuvre" in text
    assert "ô è à ç É « guillemets » — 25 €" in text


def _set(content: dict[str, Any], path: str, value: str) -> None:
    *parents, last = path.split(".")
    target: Any = content
    for key in parents:
        target = target[int(key)] if key.isdigit() else target[key]
    target[last] = value


@pytest.mark.parametrize(
    "path",
    [
        "patient.name",
        "patient.nam",
        "prescriber.name",
        "order.number",
        "order.exam.text",
        "order.exam.region",
        "order.indication",
        "service.name",
        "service.address",
        "professional.name",
        "professional.permit_number",
        "transcript.0.text",
    ],
)
@pytest.mark.parametrize(
    "hostile",
    [MARKUP, "a < b > c & d", '<font size="40">big</font>', "&amp; &lt;", "<br/><i>unclosed"],
)
def test_markup_in_user_text_prints_literally(path: str, hostile: str) -> None:
    content = record()
    _set(content, path, hostile)
    assert hostile in text_of(content)


def test_long_indication_wraps_and_prints_in_full() -> None:
    content = record()
    indication = " ".join(f"mot{n:04d}" for n in range(260))[:2000]
    assert len(indication) == 2000
    content["order"]["indication"] = indication
    assert indication in text_of(content)


@pytest.mark.parametrize("length", [2_000, 12_000])
def test_unbroken_text_longer_than_a_page_still_renders(length: int) -> None:
    content = record()
    content["order"]["indication"] = "¤" * length
    content["transcript"][0]["text"] = "¦" * length
    text = text_of(content)  # the running header and footer interrupt it at page breaks
    assert text.count("¤") == length
    assert text.count("¦") == length


@pytest.mark.parametrize(
    ("typed", "printed"),
    [
        ("e\u0301le\u0300ve", "élève"),  # decomposed accents are composed
        ("שלום", "[U+05E9][U+05DC][U+05D5][U+05DD]"),
        ("محمد", "[U+0645][U+062D][U+0645][U+062F]"),
        ("abc\u202edef", "abc[U+202E]def"),  # a bidi override is shown, not obeyed
        ("Nguyễn", "Nguy[U+1EC5]n"),
        ("tab\tand\x00nul", "tab and nul"),
    ],
)
def test_characters_outside_the_font_are_kept_as_code_points(typed: str, printed: str) -> None:
    content = record()
    content["patient"]["name"] = typed
    content["transcript"][0]["text"] = typed
    text = text_of(content)
    assert text.count(printed) >= 3  # the patient section, the footer, the transcript


def test_long_name_is_printed_in_full_and_shortened_in_the_footer() -> None:
    content = record()
    content["patient"]["name"] = "Lévesque " * 1500
    texts = pages(render_record(content, "prescriber"))
    assert all("Patient : Lévesque Lévesque" in text for text in texts)
    assert all("… · NAM LEVF58531412" in text for text in texts)
    assert " ".join(texts).count("Lévesque") > 1500


def test_empty_transcript_says_so() -> None:
    content = record(segments=0)
    assert "Aucune transcription / No transcript" in text_of(content)


def test_long_transcript_flows_across_pages() -> None:
    content = record(segments=200)
    texts = pages(render_record(content, "prescriber"))
    assert len(texts) >= 5
    whole = " ".join(texts)
    for n in (0, 99, 199):
        assert f"Segment {n} : échographie abdominale, côté gauche." in whole
    # The transcript's column headings repeat at the top of each page it covers.
    assert sum("# Interlocuteur / Speaker" in text for text in texts) >= 3


def test_record_without_a_professional_says_so() -> None:
    content = record(segments=0)
    content["professional"] = None
    content["refusals"] = []
    content["read_back"] = {"confirmed": False, "confirmed_at": None}
    content["outcome"] = "awaiting_confirmation"
    content["call"].update(professional_call_sid=None, recording_sid=None, recording_sha256=None)
    text = text_of(content)
    assert "Aucun professionnel n'a confirmé son identité" in text
    assert "Refus par d'autres membres du personnel / Refusals by other staff Aucun / None" in text
    assert "Non confirmée / Not confirmed" in text
    assert "En attente de confirmation / Awaiting confirmation" in text.replace("\n", " ")


def test_summer_times_are_daylight_time() -> None:
    content = record()
    content["issued_at"] = "2026-07-15T14:00:00+00:00"
    assert "2026-07-15 10:00:00 HAE/EDT" in text_of(content)


def test_confidence_may_be_stored_as_text() -> None:
    content = record()
    content["professional"]["name_confidence"] = "0.934"
    content["transcript"][0]["confidence"] = "0.875"
    text = text_of(content)
    assert "recognition confidence 0.934" in text
    assert "0.875" in text


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("schema", "ordophone-record/0"),
        ("order.priority", "stat"),
        ("prescriber.authenticated_by", "guess"),
        ("professional.role", "receptionist"),
        ("outcome", "not_transmitted"),
        ("transcript.0.speaker", "robot"),
        ("issued_at", "2026-11-26T14:21:40"),  # no offset: ambiguous
    ],
)
def test_unexpected_values_are_refused(path: str, value: str) -> None:
    content = record()
    _set(content, path, value)
    with pytest.raises(ValueError, match=r"."):
        render_record(content, "prescriber")


def test_service_not_chosen_by_the_patient_is_refused() -> None:
    content = record()
    content["service"]["chosen_by_patient"] = False
    with pytest.raises(ValueError, match="patient's choice"):
        render_record(content, "service")


def test_same_content_gives_identical_bytes() -> None:
    assert render_record(record(), "service") == render_record(record(), "service")


def test_bytes_do_not_depend_on_the_process() -> None:
    script = (
        "import sys; from logging_app.record.pdf import render_record; "
        "from test_record_pdf import record; "
        "sys.stdout.buffer.write(render_record(record(), 'service'))"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345", "PYTHONPATH": str(Path(__file__).parent)}
    other = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, check=True
    ).stdout
    assert other == render_record(record(), "service")
