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
from hotline.cli_prompts import prompts_group
from hotline.config import Config, ConfigError
from hotline.cyclefile import DEMO, CycleFileError, read
from store import Database, ballots, cycles, ideas, recordings, transcripts

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


def _load(db: Database, path: Path, demo: bool = False, force: bool = False) -> int:
    try:
        spec = read(path, _languages(), now=_now() if demo else None)
    except CycleFileError as e:
        raise click.ClickException(f"{path}: {e}")
    for warning in spec.warnings:
        click.echo(f"warning: {warning}", err=True)
    try:
        with db.unit_of_work() as s:
            return cycles.save(s, spec, _now(), force=force).id
    except cycles.BallotInUse as e:
        raise click.ClickException(f"{path}: {e}. Fix the file, or pass --force if the change is "
                                   "really meant (the votes then count for the new text and cost).")


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
    exe = sys.argv[0] if sys.argv[0].endswith("hotline") else "hotline"   # as it was typed
    click.echo(f"Try it:  {exe} call --url {url}      {exe} text --url {url} VOTE")
    create_app(config, db).run(host=host, port=port, threaded=True)


@main.group()
def cycle() -> None:
    """Budgeting cycles and their ballots."""


@cycle.command("load")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="change proposals even though ballots were cast on them")
def cycle_load(file: Path, force: bool) -> None:
    """Create or replace a cycle and its ballot from FILE; it becomes the cycle the line serves."""
    cycle_id = _load(_database(_config()), file, force=force)
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


EXPORT_FIELDS = ["ref_code", "created_at", "channel", "language", "status", "text", "text_source", "zip_code",
                 "recording_url", "recording_duration", "recording_status", "transcript_status",
                 "machine_transcript", "transcript_engine", "transcript_confidence", "transcript_language"]


def export_rows(db: Database, cycle_id: int | None) -> list[dict]:
    """One row per idea; `text` is the idea's current text (`store.ideas.current_texts`): the
    reviewed transcript, else the machine transcript, else the texted words."""
    with db.unit_of_work() as s:
        items = ideas.all_for_export(s, cycle_id)
        texts = ideas.current_texts(s, items)
        rows = []
        for i in items:
            rec, t = i.recording, texts[i.id]
            rows.append({"ref_code": i.ref_code, "created_at": i.created_at.isoformat(timespec="seconds"),
                         "channel": i.channel, "language": i.language, "status": i.status, "text": t.text,
                         "text_source": t.source, "zip_code": i.zip_code or "",
                         "recording_url": rec.url if rec else "",
                         "recording_duration": rec.duration if rec else "",
                         "recording_status": rec.status if rec else "",
                         "transcript_status": recordings.describe(rec.pipeline, rec.last_error) if rec else "",
                         "machine_transcript": t.machine_text or "",
                         "transcript_engine": t.engine or "",
                         "transcript_confidence": t.confidence if t.confidence is not None else "",
                         "transcript_language": (t.language or "") if rec else ""})
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


@ideas_group.command("correct")
@click.argument("ref")
@click.argument("text", nargs=-1, required=True)
@click.option("--reviewer", required=True, help="who corrected it (e.g. their staff email)")
def ideas_correct(ref: str, text: tuple[str, ...], reviewer: str) -> None:
    """Correct the transcript of the recorded idea REF; the machine's text is kept beside it."""
    db = _database(_config())
    with db.unit_of_work() as s:
        idea = ideas.by_ref(s, ref)
        if idea is None:
            raise click.ClickException(f"No idea {ref}: see `hotline ideas export` for reference codes.")
        try:
            transcripts.add_review(s, idea, " ".join(text), reviewer, _now())
        except ValueError as e:
            raise click.ClickException(str(e))
    click.echo(f"Idea {ref}: corrected transcript kept (the machine transcript is unchanged).")


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


def _jobs_runtime(config: Config, db: Database, queue_name: str | None = None):
    import dataclasses

    from hotline import jobs, queue

    settings = queue.Settings.from_config(config)
    if queue_name:
        settings = dataclasses.replace(settings, queue_name=queue_name)
    return jobs.Runtime(config, db, settings, queue.make(config, db, settings))


@main.command()
@click.option("--burst", is_flag=True, help="quit when the queue is empty (and due retries are done)")
@click.option("--queue", "queue_name", help="queue to work (default: HOTLINE_QUEUE or 'hotline')")
def worker(burst: bool, queue_name: str | None) -> None:
    """Run an RQ worker for recordings' jobs (needs REDIS_URL); run as many as you like.

    The worker runs RQ's scheduler too, so retries waiting out their backoff are picked up, and
    sweeps once at start for recordings left stuck while no worker ran.
    """
    import os

    from hotline import jobs

    config = _config()
    if not config.redis_url:
        raise click.ClickException("Set REDIS_URL to run a worker; without it jobs run inside the web process.")
    from rq import Worker

    from hotline.transcribe import UnknownTranscriber

    db = Database(config.database_url)
    rt = jobs.install(_jobs_runtime(config, db, queue_name))
    try:
        warm = getattr(rt.transcriber(), "warm", None)
    except UnknownTranscriber as e:
        raise click.ClickException(str(e))
    if warm:
        warm()     # load the speech model once, before RQ forks a work horse per job
    # A forked work horse must not share the parent's database connections.
    os.register_at_fork(after_in_child=lambda: db.engine.dispose(close=False))
    swept = jobs.sweep(rt)
    if swept:
        click.echo(f"Queued {len(swept)} recording(s) found stuck.")
    db.engine.dispose()
    Worker([rt.settings.queue_name], connection=rt.queue.connection).work(burst=burst, with_scheduler=True)


@main.group("jobs")
def jobs_group() -> None:
    """Recordings' background jobs: see how they stand, retry failures, re-queue stuck ones.

    Without REDIS_URL the jobs run here, and these commands wait for them to finish.
    """


def _wait_in_process(rt) -> None:
    wait = getattr(rt.queue, "wait", None)
    if wait:
        wait()


@jobs_group.command("status")
@click.option("--json", "as_json", is_flag=True, help="print JSON")
def jobs_status(as_json: bool) -> None:
    """Count recordings in each state of the pipeline and list the failed ones."""
    config = _config()
    db = _database(config)
    rt = _jobs_runtime(config, db)
    with db.unit_of_work() as s:
        counts = recordings.counts(s)
        failures = [{"recording_sid": r.recording_sid, "state": recordings.describe(r.pipeline, r.last_error),
                     "error": r.last_error or ""} for r in recordings.failed(s)]
    try:
        queue_stats = rt.queue.stats()
    except Exception as e:  # noqa: BLE001 — the database's counts are worth showing without Redis
        queue_stats = {"error": str(e)}
    if as_json:
        click.echo(json.dumps({"recordings": counts, "failed": failures,
                               "queue": {"name": rt.settings.queue_name, "kind": rt.queue.kind, **queue_stats}},
                              indent=2))
        return
    click.echo("Recordings:")
    for state, n in counts.items():
        label = "no audio (Twilio made none)" if state == recordings.NO_AUDIO else recordings.describe(state)
        click.echo(f"  {label:<30} {n}")
    click.echo(f"Queue {rt.settings.queue_name} ({rt.queue.kind}): "
               + ", ".join(f"{k} {v}" for k, v in queue_stats.items()))
    for f in failures:
        click.echo(f"  {f['recording_sid']}  {f['state']}" + (f"  ({f['error']})" if f["state"] == "download failed"
                                                              and f["error"] else ""))
    if failures:
        click.echo("Retry them with `hotline jobs retry --all-failed` (or one: `hotline jobs retry REF`).")


@jobs_group.command("retry")
@click.option("--all-failed", is_flag=True, help="every recording whose download or transcription failed")
@click.argument("refs", nargs=-1)
def jobs_retry(all_failed: bool, refs: tuple[str, ...]) -> None:
    """Queue failed recordings again (REFS: RecordingSids or idea reference codes).

    A named recording marked for a human transcriber is tried again too (after switching TRANSCRIBER).
    """
    from hotline import jobs

    if all_failed == bool(refs):
        raise click.ClickException("Name recordings (RecordingSid or idea reference) or pass --all-failed.")
    config = _config()
    db = _database(config)
    rt = _jobs_runtime(config, db)
    queued, unknown = jobs.retry(rt, None if all_failed else list(refs))
    for sid, stage in queued:
        click.echo(f"{sid}: queued for {stage}")
    _wait_in_process(rt)
    click.echo(f"Queued {len(queued)} recording(s) again.")
    if unknown:
        raise click.ClickException("Nothing to retry for: " + ", ".join(unknown)
                                   + " (not found, or not failed: see `hotline jobs status`).")


@jobs_group.command("sweep")
def jobs_sweep() -> None:
    """Queue again every recording stuck before a final state (lost job, dead worker)."""
    from hotline import jobs

    config = _config()
    db = _database(config)
    rt = _jobs_runtime(config, db)
    swept = jobs.sweep(rt)
    for sid, stage in swept:
        click.echo(f"{sid}: queued for {stage}")
    _wait_in_process(rt)
    click.echo(f"Queued {len(swept)} stuck recording(s).")


main.add_command(prompts_group)


if __name__ == "__main__":
    sys.exit(main())
