"""The `hotline` command: serve the line, load cycles, tally, export, and a phone in the terminal."""
from __future__ import annotations

import csv
import io
import json
import sys
from datetime import datetime, timezone
from pathlib import Path

import click

import prompts
from hotline import create_app, tally
from hotline.config import Config, ConfigError
from hotline.cyclefile import DEMO, CycleFileError, read
from store import Database, ballots, cycles, ideas

DEFAULT_URL = "http://127.0.0.1:5000"


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def _config() -> Config:
    try:
        return Config.from_env()
    except ConfigError as e:
        raise click.ClickException(str(e))


def _database(config: Config) -> Database:
    db = Database(config.database_url)
    db.upgrade()
    return db


def _languages() -> tuple[str, ...]:
    return tuple(prompts.languages())


def _load(db: Database, path: Path, demo: bool = False) -> int:
    try:
        spec = read(path, _languages(), now=_now() if demo else None)
    except CycleFileError as e:
        raise click.ClickException(f"{path}: {e}")
    for warning in spec.warnings:
        click.echo(f"warning: {warning}", err=True)
    with db.unit_of_work() as s:
        return cycles.save(s, spec, _now()).id


@click.group()
def main() -> None:
    """PB Hotline: the phone and text line of a city's Participatory Budgeting."""


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
def serve(host: str, port: int) -> None:
    """Run the webhooks; create or upgrade the database; load the demo cycle if there is none."""
    config = _config()
    db = _database(config)
    with db.unit_of_work() as s:
        empty = cycles.current(s) is None
    if empty:
        cycle_id = _load(db, DEMO, demo=True)
        click.echo(f"Loaded the demo cycle (id {cycle_id}): ideas and voting are both open.")
    url = f"http://{host}:{port}"
    click.echo(f"PB Hotline on {url}  (database: {config.database_url})")
    if config.dev_token:
        click.echo(f"Development Twilio auth token: {config.auth_token}  (kept in {config.instance_dir})")
    click.echo(f"Try it:  hotline call --url {url}      hotline text --url {url} VOTE")
    create_app(config, db).run(host=host, port=port, threaded=True)


@main.group()
def cycle() -> None:
    """Budgeting cycles and their ballots."""


@cycle.command("load")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def cycle_load(file: Path) -> None:
    """Create or replace a cycle and its ballot from FILE; it becomes the cycle the line serves."""
    cycle_id = _load(_database(_config()), file)
    click.echo(f"Loaded {file}; the line now serves this cycle.")
    click.echo(cycle_id)


def results_of(db: Database, cycle_id: int | None) -> tally.Results:
    with db.unit_of_work() as s:
        c = cycles.get(s, cycle_id)
        if c is None:
            raise click.ClickException("No such cycle: load one with `hotline cycle load FILE.yaml`.")
        proposals = [tally.ProposalInfo(p.number, p.cost, p.title.get("en") or next(iter(p.title.values())))
                     for p in c.proposals]
        count = tally.count_votes(ballots.choice_lists(s, c.id), [p.number for p in proposals], c.max_choices)
        return tally.decide_funding(c.name, proposals, count, c.budget_cap, c.tie_rule)


@main.command()
@click.option("--cycle", "cycle_id", type=int, help="cycle id (default: the current cycle)")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "csv"]), default="text", show_default=True)
def results(cycle_id: int | None, fmt: str) -> None:
    """Tally the ballots and show which proposals are funded."""
    r = results_of(_database(_config()), cycle_id)
    if fmt == "json":
        click.echo(json.dumps(tally.to_json(r), indent=2, ensure_ascii=False))
    elif fmt == "csv":
        click.echo(tally.to_csv(r), nl=False)
    else:
        click.echo(tally.to_text(r))


@main.group("ideas")
def ideas_group() -> None:
    """Ideas residents left by phone and by text."""


EXPORT_FIELDS = ["ref_code", "created_at", "channel", "language", "status", "text", "zip_code",
                 "recording_url", "recording_duration", "recording_status"]


def export_rows(db: Database, cycle_id: int | None) -> list[dict]:
    with db.unit_of_work() as s:
        rows = []
        for i in ideas.all_for_export(s, cycle_id):
            rec = i.recording
            rows.append({"ref_code": i.ref_code, "created_at": i.created_at.isoformat(timespec="seconds"),
                         "channel": i.channel, "language": i.language, "status": i.status, "text": i.text or "",
                         "zip_code": i.zip_code or "", "recording_url": rec.url if rec else "",
                         "recording_duration": rec.duration if rec else "",
                         "recording_status": rec.status if rec else ""})
        return rows


@ideas_group.command("export")
@click.option("--cycle", "cycle_id", type=int, help="cycle id (default: every cycle)")
@click.option("--format", "fmt", type=click.Choice(["json", "csv"]), default="json", show_default=True)
def ideas_export(cycle_id: int | None, fmt: str) -> None:
    """Every idea with its channel, language, text, recording link and status."""
    rows = export_rows(_database(_config()), cycle_id)
    if fmt == "json":
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=EXPORT_FIELDS)
    writer.writeheader()
    writer.writerows(rows)
    click.echo(out.getvalue(), nl=False)


@main.command()
@click.option("--url", default=DEFAULT_URL, show_default=True, help="where the hotline runs")
@click.option("--from", "number", default="+16175550123", show_default=True, help="the caller's number")
def call(url: str, number: str) -> None:
    """A phone in the terminal: hear the prompts, press keys, record from a WAV file."""
    from hotline.phone_cli import run_call
    from hotline.phone import PhoneError
    try:
        run_call(url, _config().auth_token, number)
    except PhoneError as e:
        raise click.ClickException(str(e))


@main.command()
@click.option("--url", default=DEFAULT_URL, show_default=True, help="where the hotline runs")
@click.option("--from", "number", default="+16175550123", show_default=True, help="the sender's number")
@click.argument("body", nargs=-1, required=True)
def text(url: str, number: str, body: tuple[str, ...]) -> None:
    """Send one text as Twilio would and print the replies."""
    from hotline.phone_cli import run_text
    from hotline.phone import PhoneError
    try:
        run_text(url, _config().auth_token, number, " ".join(body))
    except PhoneError as e:
        raise click.ClickException(str(e))


@main.group()
def db() -> None:
    """The database."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply the migrations."""
    config = _config()
    _database(config)
    click.echo(f"Database is up to date: {config.database_url}")


@main.command()
def worker() -> None:
    """Run an RQ worker for background jobs (needs REDIS_URL)."""
    config = _config()
    if not config.redis_url:
        raise click.ClickException("Set REDIS_URL to run a worker; without it jobs run inside the web process.")
    from redis import Redis
    from rq import Worker
    Worker(["default"], connection=Redis.from_url(config.redis_url)).work(with_scheduler=True)


if __name__ == "__main__":
    sys.exit(main())
