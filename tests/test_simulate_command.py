"""``ordophone simulate`` makes a scripted call to a running server through its simulator and
prints who heard, pressed and said what; ``ordophone order show`` then tells how it went."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from logging_app.cli import main
from tests.conftest import TEST_SECRET
from tests.phone_line import ACCOUNT_SID, AUTH_TOKEN, TWILIO_NUMBER, PhoneLine
from voice import companion
from voice.cli import register


@pytest.fixture
def cli(line: PhoneLine, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """The command line of the machine where `ordophone serve` started `line`."""
    settings = line.app.config["ORDOPHONE"]
    monkeypatch.setenv("ORDOPHONE_INSTANCE", line.app.instance_path)
    monkeypatch.setenv("DATABASE_URL", settings.database_url)
    monkeypatch.setenv("SECRET_KEY", TEST_SECRET)
    started = companion.Companion(line.sim.base_url, ACCOUNT_SID, AUTH_TOKEN, TWILIO_NUMBER, "")
    companion.save(line.app.instance_path, started)
    register(main)
    return CliRunner()


def test_simulate_prints_the_call_and_its_end(cli: CliRunner, line: PhoneLine) -> None:
    result = cli.invoke(
        main, ["simulate", "--scenario", "technologist-after-transfer", "--base-url", line.url]
    )
    assert result.exit_code == 0, result.output
    assert '[physician] hears: "Entrez votre NIP, puis le carré."' in result.stdout
    assert "[receptionist] presses 3" in result.stdout
    assert "[technologist] presses 2" in result.stdout
    assert "[sim]" not in result.stdout
    assert "attempt outcome: transmitted" in result.stdout
    number = result.stdout.split("Order ", 1)[1].split(":", 1)[0]

    shown = cli.invoke(main, ["order", "show", number])
    assert shown.exit_code == 0, shown.output
    attempt = json.loads(shown.stdout)["attempts"][0]
    assert attempt["outcome"] == "transmitted"
    assert attempt["started_at"] < attempt["ended_at"]
    assert attempt["professional"]["role"] == "technologist"
    assert attempt["professional"]["permit_number"] == "0456789"
    assert attempt["professional"]["name"] == "Marie Tremblay"
    assert attempt["professional"]["confirmed_at"]
    assert [r["role"] for r in attempt["refusals"]] == ["staff"]
    assert attempt["read_back_confirmed"] is True
    sids = attempt["call_sids"]
    assert sids["physician"].startswith("CA") and sids["professional"].startswith("CA")
    assert sids["physician"] != sids["professional"]


def test_simulate_without_a_running_simulator_says_what_to_do(
    runner: CliRunner, cli_env: dict[str, str]
) -> None:
    register(main)
    result = runner.invoke(main, ["simulate", "--scenario", "radiologist"])
    assert result.exit_code != 0
    assert "ordophone serve" in result.output
