"""From 'Twilio says a recording is ready' to a transcript staff can read and correct.

Real RQ workers against the machine's Redis (a fresh queue name per test), the real
google-cloud-speech client against the local Speech stand-in, and a local stand-in for Twilio's
media host; every test runs on SQLite and on PostgreSQL.
"""
from __future__ import annotations

import base64
import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from hotline import cli, create_app, jobs, queue
from hotline.phone import Phone, flask_transport
from store import ideas, recordings
from store.models import Idea, Recording, Transcript
from tests.conftest import AUTH_TOKEN, utcnow
from tests.driver import CallDriver, TextDriver
from tests.speech_standin import MediaStandIn, SpeechStandIn, spoken_wav, tone_wav
from tests.faults import pids_of   # the worker, its scheduler and its work horse
from voice_flows.machine import RecordingInfo

REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
HEARD = "more benches on blue hill avenue"
ROOT = Path(__file__).resolve().parents[1]


# ---- fixtures ----

@pytest.fixture
def speech():
    with SpeechStandIn(default=HEARD) as s:
        yield s


@pytest.fixture
def media(config):
    with MediaStandIn(config.account_sid, tone_wav(6.0)) as m:
        yield m


@pytest.fixture
def redis_conn():
    from redis import Redis

    conn = Redis.from_url(REDIS_URL)
    try:
        conn.ping()
    except Exception as e:  # noqa: BLE001
        if os.environ.get("CI"):
            raise
        pytest.skip(f"Redis not reachable at {REDIS_URL}: {e}")
    yield conn
    conn.close()


@pytest.fixture
def queue_name(redis_conn):
    """A queue of this test's own, and every Redis key it made removed afterwards."""
    name = f"test-{uuid.uuid4().hex[:12]}"
    yield name
    workers = redis_conn.smembers(f"rq:workers:{name}")
    for key in redis_conn.scan_iter(match=f"*{name}*", count=1000):
        redis_conn.delete(key)
    redis_conn.srem("rq:queues", f"rq:queue:{name}")
    for worker in workers:          # those killed on purpose never said goodbye
        redis_conn.delete(worker, worker + b":executions")
        redis_conn.srem("rq:workers", worker)


def pipeline_env(config, speech, queue_name: str, **overrides: str) -> dict[str, str]:
    """The environment a worker process of this test runs with (and the CLI reads)."""
    env = {"DATABASE_URL": "", "REDIS_URL": REDIS_URL, "TWILIO_ACCOUNT_SID": config.account_sid,
           "TWILIO_AUTH_TOKEN": AUTH_TOKEN, "SECRET_KEY": "test-secret-key",
           "RECORDINGS_DIR": str(config.recordings_dir), "TWILIO_MEDIA_HOSTS": "127.0.0.1",
           "TRANSCRIBER": "google", "GOOGLE_SPEECH_ENDPOINT": speech.url, "GOOGLE_SPEECH_TIMEOUT": "3",
           "DOWNLOAD_TIMEOUT": "3", "DOWNLOAD_RETRY_INTERVALS": "0,0", "TRANSCRIBE_RETRY_INTERVALS": "0,0",
           "HOTLINE_QUEUE": queue_name, "JOB_TIMEOUT": "30", "SWEEP_GRACE": "0"}
    env.update(overrides)
    return env


def pipeline_config(config, speech, queue_name: str = "hotline", redis: bool = False, **overrides: str):
    env = pipeline_env(config, speech, queue_name, **overrides)
    return dataclasses.replace(config, transcriber=env["TRANSCRIBER"], media_hosts=("127.0.0.1",),
                               redis_url=REDIS_URL if redis else None, extra=env)


@pytest.fixture
def rq_runtime(config, db, speech, queue_name):
    """Jobs in this process (an RQ SimpleWorker) use this test's settings; `rt.queue` is RQ."""
    rt = make_runtime(pipeline_config(config, speech, queue_name, redis=True), db)
    jobs.install(rt)
    yield rt
    jobs.install(None)


def make_runtime(cfg, db) -> jobs.Runtime:
    settings = queue.Settings.from_config(cfg, env={})
    return jobs.Runtime(cfg, db, settings, queue.make(cfg, db, settings))


def add_recording(db, media: MediaStandIn, lang: str = "en", duration: int = 6) -> str:
    """A recorded idea as the status callback leaves it: row committed, nothing downloaded yet."""
    sid = "RE" + uuid.uuid4().hex
    with db.unit_of_work() as s:
        ideas.record(s, "CA" + uuid.uuid4().hex, RecordingInfo(sid, media.recording_url(sid), duration),
                     "completed", ideas.Author(None, None, lang), utcnow())
    return sid


def work(rt: jobs.Runtime, sids: list[str], timeout: float = 20.0) -> dict[str, str]:
    """Run RQ burst workers (with the scheduler, for retries that wait) until every recording is final."""
    from rq import SimpleWorker

    deadline = time.monotonic() + timeout
    while True:
        SimpleWorker([rt.queue.rq], connection=rt.queue.connection).work(burst=True, with_scheduler=True,
                                                                          logging_level="WARNING")
        states = pipeline_states(rt.db, sids)
        if all(state in recordings.FINAL for state in states.values()):
            return states
        if time.monotonic() > deadline:
            raise AssertionError(f"recordings did not settle: {states}")
        time.sleep(0.2)


def pipeline_states(db, sids: list[str]) -> dict[str, str]:
    with db.unit_of_work() as s:
        return {sid: recordings.get(s, sid).pipeline for sid in sids}


def recording(db, sid: str) -> Recording:
    with db.unit_of_work() as s:
        return recordings.get(s, sid)


def machine_transcripts(db, sid: str) -> list[Transcript]:
    with db.unit_of_work() as s:
        return list(s.scalars(select(Transcript).join(Recording).where(Recording.recording_sid == sid,
                                                                       Transcript.kind == "machine")))


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.fixture
def runner(db, monkeypatch, tmp_path, config, speech, queue_name):
    """The `hotline` command with this test's environment."""
    for key, value in pipeline_env(config, speech, queue_name, DATABASE_URL=db.url).items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("HOTLINE_INSTANCE", str(tmp_path / "instance"))
    return CliRunner()


def export(runner) -> list[dict]:
    out = runner.invoke(cli.main, ["ideas", "export"])
    assert out.exit_code == 0, out.output
    return json.loads(out.stdout)


# ---- a caller's idea, end to end, without Redis ----

def test_recorded_idea_reaches_staff_as_a_transcript(config, db, demo, media, speech):
    cfg = pipeline_config(config, speech)
    app = create_app(cfg, db)
    phone = Phone("http://localhost", AUTH_TOKEN, flask_transport(app.test_client()), number="+16175550142",
                  account_sid=config.account_sid, recording_url=media.recording_url)
    call = CallDriver(phone.dial())
    call.press("1").press("2").record(duration=6).press("1").press("02121#")
    assert queue.for_app(app).kind == "in-process"
    assert queue.for_app(app).wait(timeout=20)
    (sid,) = [r["sid"] for r in call.recordings]
    rec = recording(db, sid)
    assert rec.pipeline == recordings.TRANSCRIBED
    kept = cfg.recordings_dir / rec.local_path
    assert kept.read_bytes() == tone_wav(6.0) and rec.bytes == kept.stat().st_size
    assert (rec.format, rec.sample_rate, rec.audio_seconds) == ("wav/pcm16", 8000, 6.0)
    (t,) = machine_transcripts(db, sid)
    assert (t.engine, t.language, t.text) == ("google", "en-US", HEARD[:1].upper() + HEARD[1:] + ".")
    assert t.seconds is not None and t.words[0]["confidence"] > 0
    with db.unit_of_work() as s:
        idea = s.scalar(select(Idea).where(Idea.recording_id == rec.id))
        assert ideas.current_text(s, idea).text == t.text


def test_idea_is_kept_when_redis_is_down_and_the_sweep_queues_it(config, db, demo, media, speech, runner):
    cfg = dataclasses.replace(pipeline_config(config, speech), redis_url="redis://127.0.0.1:1/0")
    app = create_app(cfg, db)
    phone = Phone("http://localhost", AUTH_TOKEN, flask_transport(app.test_client()),
                  account_sid=config.account_sid, recording_url=media.recording_url)
    call = CallDriver(phone.dial())
    call.press("1").press("2").record(duration=6)          # the callback's 200 did not wait for Redis
    (sid,) = [r["sid"] for r in call.recordings]
    assert recording(db, sid).pipeline == recordings.PENDING
    out = runner.invoke(cli.main, ["jobs", "sweep"], env={"REDIS_URL": ""})      # jobs run in the command
    assert out.exit_code == 0, out.output
    assert f"{sid}: queued for download" in out.output
    assert recording(db, sid).pipeline == recordings.TRANSCRIBED


def test_texted_idea_is_its_own_text(db, demo, phone):
    TextDriver(phone).send("IDEA Fix the swings at Ramsay Park")
    with db.unit_of_work() as s:
        (idea,) = s.scalars(select(Idea)).all()
        text = ideas.current_text(s, idea)
    assert (text.text, text.source) == ("Fix the swings at Ramsay Park", "sms")


# ---- on RQ, with real workers ----

def test_download_that_404s_twice_then_succeeds_ends_transcribed(config, db, media, speech, queue_name):
    cfg = pipeline_config(config, speech, queue_name, redis=True, DOWNLOAD_RETRY_INTERVALS="1,1,1")
    rt = jobs.install(make_runtime(cfg, db))
    try:
        media.not_found_first = 2
        sid = add_recording(db, media)
        rt.queue.enqueue(queue.DOWNLOAD, sid)
        assert work(rt, [sid]) == {sid: recordings.TRANSCRIBED}
    finally:
        jobs.install(None)
    rec = recording(db, sid)
    assert rec.download_attempts == 3 and rec.last_error is None
    assert [auth for _, _, auth in media.downloads(sid)] == [basic(config.account_sid, AUTH_TOKEN)] * 3
    assert len(machine_transcripts(db, sid)) == 1


def test_download_that_always_fails_ends_visibly_failed_and_staff_can_retry(db, media, speech, rq_runtime, runner):
    media.always = 503
    sid = add_recording(db, media)
    rq_runtime.queue.enqueue(queue.DOWNLOAD, sid)
    assert work(rq_runtime, [sid]) == {sid: recordings.DOWNLOAD_FAILED}
    rec = recording(db, sid)
    assert rec.download_attempts == 3 and "503" in rec.last_error
    assert recordings.describe(rec.pipeline, rec.last_error) == "download failed"
    with db.unit_of_work() as s:
        assert ideas.by_recording(s, sid) is not None           # the idea and its row are intact
    assert rq_runtime.queue.stats()["failed"] == 1               # and RQ lists the job as failed
    status = json.loads(runner.invoke(cli.main, ["jobs", "status", "--json"]).stdout)
    assert status["recordings"]["download_failed"] == 1 and status["queue"]["failed"] == 1
    assert status["failed"][0]["recording_sid"] == sid
    (row,) = [r for r in export(runner) if r["recording_url"].endswith(sid)]
    assert row["transcript_status"] == "download failed" and row["text_source"] == "none"

    media.always = None                                          # Twilio is back
    out = runner.invoke(cli.main, ["jobs", "retry", "--all-failed"])
    assert out.exit_code == 0 and f"{sid}: queued for download" in out.output, out.output
    assert work(rq_runtime, [sid]) == {sid: recordings.TRANSCRIBED}
    status = json.loads(runner.invoke(cli.main, ["jobs", "status", "--json"]).stdout)
    assert status["recordings"]["transcribed"] == 1 and status["recordings"]["download_failed"] == 0


def test_speech_outage_shows_its_reason_until_staff_retry_the_idea(db, media, speech, rq_runtime, runner):
    speech.always_fail = 503
    sid = add_recording(db, media)
    rq_runtime.queue.enqueue(queue.DOWNLOAD, sid)
    assert work(rq_runtime, [sid]) == {sid: recordings.TRANSCRIPTION_FAILED}
    rec = recording(db, sid)
    assert rec.transcribe_attempts == 3
    assert recordings.describe(rec.pipeline, rec.last_error).startswith("transcription failed: Google answered 503")
    with db.unit_of_work() as s:
        ref = ideas.by_recording(s, sid).ref_code

    speech.always_fail = None
    out = runner.invoke(cli.main, ["jobs", "retry", ref])
    assert out.exit_code == 0 and f"{sid}: queued for transcribe" in out.output, out.output
    assert work(rq_runtime, [sid]) == {sid: recordings.TRANSCRIBED}
    assert len(machine_transcripts(db, sid)) == 1
    assert len(media.downloads(sid)) == 1                        # the kept audio was used again


def test_rerunning_finished_jobs_changes_nothing(db, media, speech, rq_runtime):
    sid = add_recording(db, media)
    rq_runtime.queue.enqueue(queue.DOWNLOAD, sid)
    work(rq_runtime, [sid])
    before = recording(db, sid)
    assert jobs.download_recording(sid).startswith("nothing to download")
    assert jobs.transcribe_recording(sid).startswith("nothing to transcribe")
    rq_runtime.queue.enqueue(queue.DOWNLOAD, sid)
    rq_runtime.queue.enqueue(queue.TRANSCRIBE, sid)
    work(rq_runtime, [sid])
    after = recording(db, sid)
    assert (after.pipeline, after.sha256, after.local_path) == (recordings.TRANSCRIBED, before.sha256,
                                                                 before.local_path)
    assert len(machine_transcripts(db, sid)) == 1
    assert len(speech.recognitions()) == 1 and len(media.downloads(sid)) == 1


def test_transcription_after_the_file_vanished_downloads_it_again(config, db, media, speech, rq_runtime):
    sid = add_recording(db, media)
    rq_runtime.queue.enqueue(queue.DOWNLOAD, sid)
    work(rq_runtime, [sid])
    rec = recording(db, sid)
    (rq_runtime.config.recordings_dir / rec.local_path).write_bytes(b"RIFF damaged")
    with db.unit_of_work() as s:
        assert recordings.reset(s, recordings.get(s, sid)) is None      # transcribed: nothing to retry
        row = recordings.get(s, sid)
        row.pipeline = recordings.DOWNLOADED
    rq_runtime.queue.enqueue(queue.TRANSCRIBE, sid)
    assert work(rq_runtime, [sid]) == {sid: recordings.TRANSCRIBED}
    assert len(media.downloads(sid)) == 2 and len(machine_transcripts(db, sid)) == 1


def test_caller_speaking_haitian_creole_waits_for_a_human_transcriber(db, media, speech, rq_runtime):
    sid = add_recording(db, media, lang="ht")
    rq_runtime.queue.enqueue(queue.DOWNLOAD, sid)
    assert work(rq_runtime, [sid]) == {sid: recordings.NEEDS_HUMAN}
    rec = recording(db, sid)
    assert rec.local_path and "ht" in rec.last_error               # the audio is kept for the human
    assert speech.requests == []
    assert recordings.describe(rec.pipeline) == "needs a human transcriber"


def test_transcriber_none_keeps_the_audio_for_staff(config, db, media, speech, queue_name):
    rt = jobs.install(make_runtime(pipeline_config(config, speech, queue_name, redis=True, TRANSCRIBER="none"), db))
    try:
        sid = add_recording(db, media)
        rt.queue.enqueue(queue.DOWNLOAD, sid)
        assert work(rt, [sid]) == {sid: recordings.NEEDS_HUMAN}
    finally:
        jobs.install(None)
    assert recording(db, sid).sha256 and speech.requests == []


def test_sweep_requeues_a_recording_whose_worker_died(db, media, speech, rq_runtime, runner):
    sid = add_recording(db, media)
    with db.unit_of_work() as s:      # a worker took it an hour ago and was never heard of again
        recordings.claim(s, sid, recordings.DOWNLOAD, "dead-worker", utcnow() - timedelta(hours=1),
                         rq_runtime.settings.lease)
    out = runner.invoke(cli.main, ["jobs", "sweep"])
    assert out.exit_code == 0 and f"{sid}: queued for download" in out.output, out.output
    assert work(rq_runtime, [sid]) == {sid: recordings.TRANSCRIBED}      # the expired claim was taken over


def test_live_claim_keeps_a_second_job_off(db, media, rq_runtime):
    sid = add_recording(db, media)
    with db.unit_of_work() as s:
        assert recordings.claim(s, sid, recordings.DOWNLOAD, "worker-a", utcnow(), rq_runtime.settings.lease)
    with db.unit_of_work() as s:
        assert recordings.claim(s, sid, recordings.DOWNLOAD, "worker-b", utcnow(), rq_runtime.settings.lease) is None
        assert recordings.claim(s, sid, recordings.DOWNLOAD, "worker-a", utcnow(), rq_runtime.settings.lease)


# ---- workers as separate processes ----

def start_worker(env: dict[str, str], log: Path, *args: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "hotline.cli", "worker", *args], cwd=ROOT,
                            env={**os.environ, **env}, stdout=log.open("ab"), stderr=subprocess.STDOUT,
                            start_new_session=True)


def wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def test_killing_a_worker_mid_job_does_not_lose_the_job(config, db, media, speech, rq_runtime, tmp_path):
    from rq.registry import StartedJobRegistry

    sid = add_recording(db, media)
    rq_runtime.queue.enqueue(queue.DOWNLOAD, sid)
    speech.delay = 30.0                                  # the transcription will hang at Google
    env = pipeline_env(config, speech, rq_runtime.settings.queue_name, DATABASE_URL=db.url,
                       HOTLINE_INSTANCE=str(tmp_path / "instance"), GOOGLE_SPEECH_TIMEOUT="60")
    worker = start_worker(env, tmp_path / "worker.log")
    try:
        wait_for(lambda: speech.recognitions(), 30, f"the worker to reach Google ({tmp_path / 'worker.log'})")
        assert recording(db, sid).pipeline == recordings.TRANSCRIBING
    finally:
        for pid in pids_of(worker.pid):                  # the worker, its scheduler and its work horse, mid-job
            os.kill(pid, signal.SIGKILL)
        worker.wait()
    speech.delay = 0.0
    # RQ's abandoned-job handling: once the dead worker's heartbeat lapses, any worker's
    # maintenance retries its job. Move RQ's clock past the lapse rather than wait for it.
    StartedJobRegistry(rq_runtime.settings.queue_name, connection=rq_runtime.queue.connection).cleanup(
        timestamp=time.time() + 3600)
    assert work(rq_runtime, [sid]) == {sid: recordings.TRANSCRIBED}
    assert len(machine_transcripts(db, sid)) == 1       # transcribed exactly once
    assert len(speech.recognitions()) == 2 and len(media.downloads(sid)) == 1


def test_two_workers_at_once_never_do_the_same_job(config, db, media, speech, rq_runtime, tmp_path):
    sids = [add_recording(db, media) for _ in range(12)]
    for sid in sids:            # Twilio repeats callbacks: each recording is announced twice
        rq_runtime.queue.enqueue(queue.DOWNLOAD, sid)
        rq_runtime.queue.enqueue(queue.DOWNLOAD, sid)
    assert rq_runtime.queue.stats()["queued"] == 12
    assert jobs.sweep(rq_runtime) == []            # all twelve have a live job: the sweep adds none
    speech.delay = 0.05
    env = pipeline_env(config, speech, rq_runtime.settings.queue_name, DATABASE_URL=db.url,
                       HOTLINE_INSTANCE=str(tmp_path / "instance"))
    workers = [start_worker(env, tmp_path / f"worker{i}.log", "--burst") for i in range(2)]
    for w in workers:
        assert w.wait(timeout=90) == 0, (tmp_path / "worker0.log").read_text()[-3000:]
    assert set(pipeline_states(db, sids).values()) == {recordings.TRANSCRIBED}
    with db.unit_of_work() as s:
        assert s.scalar(select(func.count()).select_from(Transcript)) == 12
    assert len(speech.recognitions()) == 12
    assert all(len(media.downloads(sid)) == 1 for sid in sids)


def test_workers_asked_to_stop_go_within_seconds(config, db, speech, rq_runtime, tmp_path):
    """A deploy stops every worker (SIGTERM): idle ones must go at once, not a minute later."""
    env = pipeline_env(config, speech, rq_runtime.settings.queue_name, DATABASE_URL=db.url,
                       HOTLINE_INSTANCE=str(tmp_path / "instance"))
    logs = [tmp_path / f"worker{i}.log" for i in range(6)]
    workers = [start_worker(env, log) for log in logs]
    try:
        for log in logs:
            wait_for(lambda: log.exists() and "Listening on" in log.read_text(), 60, f"{log.name} to start")
        time.sleep(1)                                     # idle, waiting for work
        for w in workers:
            w.send_signal(signal.SIGTERM)
        stopped = time.monotonic()
        for w, log in zip(workers, logs):
            w.wait(timeout=30)
            assert time.monotonic() - stopped < 10, f"a worker took a while to stop: {log.read_text()[-2000:]}"
    finally:
        for w in workers:
            if w.poll() is None:
                w.kill()
                w.wait()


# ---- credentials ----

def test_credentials_go_only_to_twilio_media_hosts(config, db, media, speech, rq_runtime):
    media.require_auth = basic(config.account_sid, AUTH_TOKEN)
    listed = add_recording(db, media)
    sid = "RE" + uuid.uuid4().hex
    with db.unit_of_work() as s:   # the same server, named by a host that is not in TWILIO_MEDIA_HOSTS
        ideas.record(s, "CA" + uuid.uuid4().hex, RecordingInfo(sid, media.recording_url(sid, host="localhost"), 6),
                     "completed", ideas.Author(None, None, "en"), utcnow())
    for each in (listed, sid):
        rq_runtime.queue.enqueue(queue.DOWNLOAD, each)
    assert work(rq_runtime, [listed, sid]) == {listed: recordings.TRANSCRIBED, sid: recordings.DOWNLOAD_FAILED}
    assert [auth for _, _, auth in media.downloads(listed)] == [media.require_auth]
    assert [auth for _, _, auth in media.downloads(sid)] == [None]       # refused once, never retried
    assert "TWILIO_MEDIA_HOSTS" in recording(db, sid).last_error


def test_credentials_are_not_carried_across_a_redirect(db, media, rq_runtime):
    media.redirect_to = f"http://localhost:{media.port}"              # Twilio sends media to its storage
    sid = add_recording(db, media)
    rq_runtime.queue.enqueue(queue.DOWNLOAD, sid)
    work(rq_runtime, [sid])
    assert recording(db, sid).pipeline == recordings.TRANSCRIBED
    hops = [(host, auth is not None) for host, path, auth in media.seen if sid in path]
    assert hops == [("127.0.0.1", True), ("localhost", False)]


# ---- staff ----

def test_staff_correction_is_kept_beside_the_machine_text(db, media, speech, rq_runtime, runner):
    sid = add_recording(db, media)
    rq_runtime.queue.enqueue(queue.DOWNLOAD, sid)
    work(rq_runtime, [sid])
    with db.unit_of_work() as s:
        ref = ideas.by_recording(s, sid).ref_code
    out = runner.invoke(cli.main, ["ideas", "correct", ref, "More benches on Blue Hill Avenue, near Grove Hall",
                                   "--reviewer", "reviewer@boston.gov"])
    assert out.exit_code == 0, out.output
    (row,) = [r for r in export(runner) if r["ref_code"] == ref]
    assert row["text"] == "More benches on Blue Hill Avenue, near Grove Hall" and row["text_source"] == "reviewed"
    assert row["machine_transcript"] == "More benches on blue hill avenue."
    assert row["transcript_status"] == "transcribed" and row["transcript_engine"] == "staff"
    assert len(machine_transcripts(db, sid)) == 1


def test_offline_engine_transcribes_a_call_with_nothing_else_installed(config, db, demo, media, tmp_path):
    try:
        wav = Path(spoken_wav("we need a new library in our neighborhood", str(tmp_path / "idea.wav")))
    except FileNotFoundError as e:
        if os.environ.get("CI"):
            raise
        pytest.skip(str(e))
    media.wav = wav.read_bytes()
    cfg = dataclasses.replace(config, transcriber="", media_hosts=("127.0.0.1",), extra={
        "DOWNLOAD_RETRY_INTERVALS": "", "TRANSCRIBE_RETRY_INTERVALS": ""})      # "": the default engine
    app = create_app(cfg, db)
    phone = Phone("http://localhost", AUTH_TOKEN, flask_transport(app.test_client()),
                  account_sid=config.account_sid, recording_url=media.recording_url)
    call = CallDriver(phone.dial())
    call.press("1").press("2").record(wav_path=str(wav))
    assert queue.for_app(app).wait(timeout=30)
    (sid,) = [r["sid"] for r in call.recordings]
    (t,) = machine_transcripts(db, sid)
    assert t.engine == "pocketsphinx" and {"need", "new", "library"} <= set(t.text.split()), t.text
