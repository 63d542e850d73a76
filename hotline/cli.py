"""The `hotline` command: serve the line, load cycles, tally, export, and a phone in the terminal."""
from __future__ import annotations

import csv
import io
import json
import os
import sys
from datetime import datetime, timezone
from pathlib import Path

import click

import prompts
from hotline import create_app, reports, tally
from hotline.cli_prompts import prompts_group
from hotline.config import Config, ConfigError, default_database_path
from hotline.cyclefile import DEMO, CycleFileError, read
from store import Database, cycles, ideas, recordings, staff, transcripts

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


def _existing_database() -> Database:
    """The hotline's database, for commands that only read it: run elsewhere than where the
    hotline runs, they must say so rather than make an empty database (and secrets) there."""
    path = default_database_path()
    if not os.environ.get("DATABASE_URL") and not path.exists():
        raise click.ClickException(f"No hotline database at {path}: run this in the folder where the hotline "
                                   "runs (`make run`), or set DATABASE_URL.")
    return _database(_config())


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
    with db.unit_of_work() as s:
        nobody = staff.count(s) == 0
    click.echo(f"Staff dashboard: {url}/staff"
               + (f"  (no staff yet: first admin with `{exe} staff create you@example.org --role admin`)"
                  if nobody else ""))
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
        return reports.results(s, c)


@main.command()
@click.option("--cycle", "cycle_id", type=int, help="cycle id (default: the current cycle)")
@click.option("--format", "fmt", type=click.Choice(["text", "json", "csv"]), default="text", show_default=True)
def results(cycle_id: int | None, fmt: str) -> None:
    """Tally the ballots and show which proposals are funded."""
    r = results_of(_existing_database(), cycle_id)
    if fmt == "json":
        click.echo(json.dumps(tally.to_json(r), indent=2, ensure_ascii=False))
    elif fmt == "csv":
        click.echo(tally.to_csv(r), nl=False)
    else:
        click.echo(tally.to_text(r))


@main.group("ideas")
def ideas_group() -> None:
    """Ideas residents left by phone and by text."""


EXPORT_FIELDS = reports.EXPORT_FIELDS


def export_rows(db: Database, cycle_id: int | None) -> list[dict]:
    """One row per idea (`hotline.reports.idea_rows`)."""
    with db.unit_of_work() as s:
        return reports.idea_rows(s, ideas.all_for_export(s, cycle_id))


@ideas_group.command("export")
@click.option("--cycle", "cycle_id", type=int, help="cycle id (default: every cycle)")
@click.option("--format", "fmt", type=click.Choice(["json", "csv"]), default="json", show_default=True)
def ideas_export(cycle_id: int | None, fmt: str) -> None:
    """Every idea with its channel, language, text, recording link and status."""
    rows = export_rows(_existing_database(), cycle_id)
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


@main.group("staff")
def staff_group() -> None:
    """Accounts for the staff dashboard (/staff)."""


def _read_password(from_stdin: bool, email: str) -> str:
    from hotline.dashboard import passwords

    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        passwords.check_strength(password, email)
    except passwords.WeakPassword as e:
        raise click.ClickException(str(e))
    return passwords.hash_password(password)


@staff_group.command("create")
@click.argument("email")
@click.option("--role", type=click.Choice(list(staff.ROLES)), required=True, help="admin or reviewer")
@click.option("--password-stdin", is_flag=True, help="read the password from the first line of stdin")
def staff_create(email: str, role: str, password_stdin: bool) -> None:
    """Create a dashboard account for EMAIL (the password is asked, or read from stdin)."""
    db = _database(_config())
    password_hash = _read_password(password_stdin, email)
    with db.unit_of_work() as s:
        try:
            row = staff.create(s, email, role, password_hash, _now())
        except staff.StaffExists:
            raise click.ClickException(f"{staff.normal_email(email)} has an account already; "
                                       f"set a new password with `hotline staff password {email}`.")
        except ValueError as e:
            raise click.ClickException(str(e))
        staff.audit(s, None, "staff.create", _now(), f"staff:{row.email}", {"role": role, "via": "cli"},
                    actor_name="cli")
    click.echo(f"Created {role} {staff.normal_email(email)}; sign in at /staff/login.")


@staff_group.command("password")
@click.argument("email")
@click.option("--password-stdin", is_flag=True, help="read the password from the first line of stdin")
def staff_password(email: str, password_stdin: bool) -> None:
    """Set a new password for EMAIL (and sign them out everywhere)."""
    db = _database(_config())
    password_hash = _read_password(password_stdin, email)
    with db.unit_of_work() as s:
        row = staff.by_email(s, email)
        if row is None:
            raise click.ClickException(f"No account for {email}: create it with `hotline staff create`.")
        staff.set_password(s, row, password_hash)
        staff.audit(s, None, "staff.password", _now(), f"staff:{row.email}", {"via": "cli"}, actor_name="cli")
    click.echo(f"New password set for {row.email}.")


@staff_group.command("list")
def staff_list() -> None:
    """Every dashboard account with its role."""
    db = _database(_config())
    with db.unit_of_work() as s:
        for row in staff.everyone(s):
            click.echo(f"{row.email}\t{row.role}\t{'active' if row.active else 'disabled'}")


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
    its periodic maintenance (at start, then every 10 minutes) sweeps for stuck recordings.
    """
    from redis import Redis
    from rq import Worker

    from hotline import jobs
    from hotline.transcribe import TranscriptionError, UnknownTranscriber

    config = _config()
    if not config.redis_url:
        raise click.ClickException("Set REDIS_URL to run a worker; without it jobs run inside the web process.")
    db = Database(config.database_url)
    rt = jobs.install(_jobs_runtime(config, db, queue_name))
    try:
        warm = getattr(rt.transcriber(), "warm", None)
        if warm:
            warm()     # load the model / build the client once, before RQ forks a work horse per job
    except (UnknownTranscriber, TranscriptionError) as e:
        raise click.ClickException(str(e))
    # A forked work horse must not share the parent's database connections.
    os.register_at_fork(after_in_child=lambda: db.engine.dispose(close=False))

    class SweepingWorker(Worker):
        """An RQ worker whose periodic maintenance also queues recordings left stuck (lost
        enqueues, workers that died), so no cron job is needed for it."""

        def run_maintenance_tasks(self) -> None:
            super().run_maintenance_tasks()
            try:
                _replay_spool(rt)       # a worker on the web host drains what an outage left there
                swept = jobs.sweep(rt)
            except Exception:  # noqa: BLE001 — a failed sweep must not stop the worker; the next one retries
                self.log.exception("sweep for stuck recordings failed")
                return
            if swept:
                self.log.info("queued %d recording(s) found stuck", len(swept))

        def subscribe(self) -> None:
            # RQ lets the thread that listens for its commands wait up to 60 s at a time, and
            # redis-py 8 waits for that thread without a bound when the worker stops: a worker
            # asked to stop (a deploy, the end of a burst) could take a minute to go. A 1 s wait
            # bounds that; an idle thread waking once a second costs nothing measurable.
            self.log.info("Worker %s: subscribing to channel %s", self.name, self.pubsub_channel_name)
            self.pubsub = self.connection.pubsub()
            self.pubsub.subscribe(**{self.pubsub_channel_name: self.handle_payload})
            self.pubsub_thread = self.pubsub.run_in_thread(
                sleep_time=1, daemon=True, exception_handler=self._pubsub_exception_handler)

    # Its own connection: a worker waits on Redis for minutes at a time for the next job.
    SweepingWorker([rt.settings.queue_name], connection=Redis.from_url(config.redis_url)).work(
        burst=burst, with_scheduler=True)


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
    report = _replay_spool(rt)
    if report.done or report.waiting:
        click.echo(_spool_summary(report))
    swept = jobs.sweep(rt)
    for sid, stage in swept:
        click.echo(f"{sid}: queued for {stage}")
    _wait_in_process(rt)
    click.echo(f"Queued {len(swept)} stuck recording(s).")


def _replay_spool(rt):
    from hotline import queue, spool

    return spool.replay(rt.config, rt.db, enqueue=lambda sid: rt.queue.enqueue(queue.DOWNLOAD, sid))


def _spool_summary(report) -> str:
    text = (f"Spool: {len(report.replayed)} written to the database, {len(report.already)} there already, "
            f"{len(report.nothing_kept)} with nothing to keep")
    for label, names in (("for another database", report.other_database), ("unreadable", report.unreadable),
                         ("failed", report.failed)):
        if names:
            text += f", {len(names)} {label}"
    return text + (" — the database is still unreachable; the rest wait." if report.waiting else ".")


@main.group("spool")
def spool_group() -> None:
    """What callers gave while the database was unreachable, kept on this machine until it is back."""


@spool_group.command("status")
def spool_status() -> None:
    """List the waiting entries (numbers masked)."""
    from hotline import edge, spool
    from store.identity import mask

    config = _config()
    mine = spool.fingerprint(config.database_url)
    paths = spool.pending(config)
    for path in paths:
        try:
            entry = spool.read(config, path)
        except ValueError as e:
            click.echo(f"{path.name}\tunreadable: {e}")
            continue
        d = entry.data
        who = edge.caller_number(d.get("sender") or "")
        if entry.kind == spool.RECORDING:
            what = f"recording {d['recording_sid']} ({d['status']}, {d.get('duration', 0)} s)"
        else:
            what = f"text {d.get('message_sid') or '(no sid)'} from {mask(who) if who else 'a withheld number'}"
        other = "" if entry.database == mine else "  [for another database]"
        click.echo(f"{entry.received_at:%Y-%m-%d %H:%M:%S}  {what}{other}")
    click.echo(f"{len(paths)} entr{'y' if len(paths) == 1 else 'ies'} waiting in {spool.directory(config)}.")


@spool_group.command("replay")
def spool_replay() -> None:
    """Write the waiting entries into the database now (each once, however often this runs)."""
    config = _config()
    db = _database(config)
    report = _replay_spool(_jobs_runtime(config, db))
    click.echo(_spool_summary(report))
    if report.waiting:
        raise click.ClickException("The database is still unreachable: run this again once it is back.")


@main.group("privacy")
def privacy_group() -> None:
    """Personal data: remove it once a cycle's retention period is over."""


@privacy_group.command("purge")
@click.option("--cycle", "cycle_id", type=int, required=True, help="the cycle whose data to remove")
@click.option("--older-than", "days", type=int, default=None,
              help="retention in days: data older than this goes (default PRIVACY_RETENTION_DAYS or 90)")
@click.option("--yes", is_flag=True, help="remove it; without this, only show what would go")
def privacy_purge(cycle_id: int, days: int | None, yes: bool) -> None:
    """Remove phone numbers, recordings' audio and links, conversation state and stored answers older
    than the retention period; keep every idea's text and transcripts and every ballot.

    The cycle must have closed more than DAYS days ago. Numbers go for everyone not heard from since
    then (opted-out numbers keep only a keyed hash, so a STOP is still honoured).
    """
    from datetime import timedelta

    from store import NotFound, privacy

    config = _config()
    db = _database(config)
    days = days if days is not None else int(os.environ.get("PRIVACY_RETENTION_DAYS") or 90)
    if days < 0:
        raise click.ClickException("--older-than takes a number of days, 0 or more.")
    now = _now()
    try:
        with db.unit_of_work() as s:
            out = privacy.purge(s, cycle_id, now - timedelta(days=days), now, apply=yes)
    except NotFound:
        raise click.ClickException(f"No cycle {cycle_id}: see `hotline results` for the current one.")
    except privacy.TooSoon as e:
        raise click.ClickException(f"{e}. Wait, or pass a shorter --older-than.")
    verb = "Removed" if yes else "Would remove"
    click.echo(f"{verb} from cycle {out.cycle!r}, data older than {out.cutoff:%Y-%m-%d}:")
    click.echo(f"  phone numbers: {out.numbers_removed}  (and {out.opted_out_kept} opted-out numbers, "
               "keeping only their keyed hash)")
    click.echo(f"  ideas unlinked from a number: {out.ideas_unlinked}")
    click.echo(f"  recordings: {out.recordings_scrubbed} Twilio links and call ids, {len(out.audio_files)} audio files")
    click.echo(f"  conversations: {out.conversations}, stored webhook answers: {out.stored_answers}, "
               f"rate-limit counters: {out.rate_counts}")
    if yes:
        gone, failed = privacy.delete_audio(config.recordings_dir, out.audio_files)
        click.echo(f"  audio files deleted: {gone}" + (f"; could not delete: {', '.join(failed)}" if failed else ""))
    click.echo(f"Kept: {out.kept_ideas} ideas with their texts, {out.kept_transcripts} transcripts, "
               f"{out.kept_ballots} ballots.")
    if not yes:
        click.echo("Nothing was removed: run again with --yes to remove it.")


main.add_command(prompts_group)


if __name__ == "__main__":
    sys.exit(main())
