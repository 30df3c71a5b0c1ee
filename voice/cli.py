"""Voice's commands: ``ordophone simulate`` and a ``serve`` that brings its own telephone.

``register`` adds them to the ``ordophone`` group (``logging_app.cli.run`` calls it, so
that the domain never imports ``voice``).
"""

from __future__ import annotations

import sys
import urllib.error
import urllib.request
from datetime import timedelta
from pathlib import Path
from typing import Any

import click
from flask import Flask

from logging_app import create_app
from logging_app.cli import with_app
from logging_app.config import ConfigError
from logging_app.db import transaction
from logging_app.server import shared_metrics
from voice import companion, scenarios


def register(main: click.Group) -> None:
    """Add ``simulate`` and wrap ``serve`` (once, however often it is called)."""
    if "simulate" in main.commands:
        return
    main.add_command(simulate)
    main.add_command(webhooks_group)
    original = main.commands["serve"]
    main.add_command(_serve_with_simulator(original), "serve")


def _serve_with_simulator(original: click.Command) -> click.Command:
    """``serve``, which first starts the simulator when no Twilio credentials are set."""

    @click.pass_context
    def callback(ctx: click.Context, /, **options: Any) -> None:
        with shared_metrics():  # before the app (and prometheus_client) is first loaded
            _serve(ctx, original, options)

    return click.Command(
        original.name,
        params=original.params,
        callback=callback,
        help=(original.help or "")
        + "\n\nWithout Twilio credentials, the built-in simulator is started on port + 1.",
    )


def _serve(ctx: click.Context, original: click.Command, options: dict[str, Any]) -> None:
    try:
        app = create_app()
    except ConfigError as exc:
        raise click.ClickException(f"configuration: {exc}") from None
    if app.config["ORDOPHONE"].twilio_configured:
        ctx.invoke(original, **options)
        return
    instance = Path(app.instance_path)
    process, started = companion.start(options["host"], options["port"], instance)
    click.echo(
        f"No Twilio credentials: calls go to the built-in simulator at "
        f"{started.base_url} (try `ordophone simulate --scenario radiologist`).",
        err=True,
    )
    try:
        ctx.invoke(original, **options)
    finally:
        companion.stop(process)


@click.command()
@click.option(
    "--scenario", "name", required=True, type=click.Choice(sorted(scenarios.SCENARIOS)),
    help="Which call to make.",
)  # fmt: skip
@click.option("--base-url", help="The running Ordophone server (default: the one `serve` ran).")
@click.option("--verbose", is_flag=True, help="Also show the simulator's own lines.")
@with_app
def simulate(app: Flask, name: str, base_url: str | None, verbose: bool) -> None:
    """Make a scripted call to a running `ordophone serve` through its simulator, on a fresh
    fictional order, and print who heard, pressed and said what."""
    started = companion.load(Path(app.instance_path))
    if started is None:
        raise click.ClickException("no simulator found: start `ordophone serve` (or make run)")
    app_url = (base_url or started.app_url).rstrip("/")
    _check_reachable(app_url)
    scenario = scenarios.SCENARIOS[name]
    control = scenarios.SimulatorControl(started.base_url, started.account_sid, started.auth_token)
    try:
        number, service_phone = scenarios.prepare_order(app, scenario)
        request = scenarios.scenario_request(
            scenario, number, app_url, started.phone_number, service_phone
        )
        click.echo(f"Scenario {name}: {scenario.description}\n")
        log = control.run(request, timeout=300)
        control.answer_demo_phones()  # the scenario's service script made way for the demo's
    except scenarios.ScenarioError as exc:
        raise click.ClickException(str(exc)) from None
    for line in log.splitlines():
        if verbose or not line.startswith("[sim]"):
            click.echo(line)
    click.echo("")
    for line in scenarios.summary(scenarios.settle(app, number)):
        click.echo(line)


def _check_reachable(url: str) -> None:
    try:
        with urllib.request.urlopen(f"{url}/", timeout=5):  # noqa: S310 - a local URL
            return
    except urllib.error.HTTPError:
        return  # it answered
    except OSError as exc:
        click.echo(f"ordophone: error: Ordophone does not answer at {url} ({exc})", err=True)
        sys.exit(1)


@click.group("webhooks")
def webhooks_group() -> None:
    """Maintenance of what the telephony webhooks store."""


@webhooks_group.command("prune")
@click.option(
    "--older-than-hours", type=click.IntRange(min=0), default=24, show_default=True,
    help="Delete the receipts of webhooks received longer ago than this.",
)  # fmt: skip
@with_app
def prune(app: Flask, older_than_hours: int) -> None:
    """Delete old webhook receipts (the stored answers that make Twilio's retries safe);
    safe to run every minute, as cron does with `records sweep`."""
    from voice.webhooks import prune_receipts  # the webhooks' code, only for this command

    with transaction(app) as db:
        count = prune_receipts(db, timedelta(hours=older_than_hours))
    click.echo(f"{count} webhook receipt(s) deleted.")
