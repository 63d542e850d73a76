"""Benchmark the recording pipeline: jobs per second through RQ, and pocketsphinx's real-time factor.

    .venv/bin/python bench/pipeline_bench.py [--recordings 200] [--workers 1,2,4] [--no-rtf]

1. Throughput. N recordings are committed as the status callback leaves them, their downloads
   queued on a fresh RQ queue in the machine's Redis, and W `hotline worker --burst` processes
   drain it: each recording is two jobs (download, then transcription). Twilio and Google are
   the local stand-ins from tests/speech_standin.py answering at once, so the figure is the
   pipeline's own cost (RQ, a forked work horse per job, the database, the file store), the
   ceiling before any real network or engine time. The in-process runner (no Redis) is timed too.
2. Offline engine. pocketsphinx transcribes espeak-ng speech resampled to 8 kHz (a phone line's
   rate): real-time factor = processing seconds / audio seconds, with the model already loaded
   (a worker loads it once, before forking), for a short idea and for a three-minute one.

Needs Redis on REDIS_URL (default redis://127.0.0.1:6379/0), espeak-ng and sox. Uses a scratch
SQLite database unless BENCH_DATABASE_URL names another (e.g. a scratch PostgreSQL database).
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import platform
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hotline import jobs, queue  # noqa: E402
from hotline.config import Config  # noqa: E402
from hotline.transcribe import for_tag, make, read_wav  # noqa: E402
from hotline.transcribe.audio import write_wav  # noqa: E402
from store import Database, ideas, recordings  # noqa: E402
from tests.speech_standin import MediaStandIn, SpeechStandIn, spoken_wav, tone_wav  # noqa: E402
from voice_flows.machine import RecordingInfo  # noqa: E402

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
TOKEN = "bench-auth-token"
IDEA = ("we need a new library in our neighborhood. the park near the school needs more trees and benches. "
        "please fix the sidewalks on main street so that older people can walk safely.")


def add_recordings(db: Database, media: MediaStandIn, n: int) -> list[str]:
    sids = []
    with db.unit_of_work() as s:
        for _ in range(n):
            sid = "RE" + uuid.uuid4().hex
            ideas.record(s, "CA" + uuid.uuid4().hex, RecordingInfo(sid, media.recording_url(sid), 10), "completed",
                         ideas.Author(None, None, "en"), jobs.utcnow())
            sids.append(sid)
    return sids


def settled(db: Database, sids: list[str]) -> bool:
    with db.unit_of_work() as s:
        return all(recordings.get(s, sid).pipeline in recordings.FINAL for sid in sids)


def throughput_rq(db_url: str, workers: int, n: int, media: MediaStandIn, speech: SpeechStandIn,
                  scratch: Path) -> float:
    from redis import Redis

    name = f"bench-{uuid.uuid4().hex[:10]}"
    env = {**os.environ, "DATABASE_URL": db_url, "REDIS_URL": REDIS_URL, "TWILIO_ACCOUNT_SID": media.account_sid,
           "TWILIO_AUTH_TOKEN": TOKEN, "SECRET_KEY": "bench", "RECORDINGS_DIR": str(scratch / name),
           "TWILIO_MEDIA_HOSTS": "127.0.0.1", "TRANSCRIBER": "google", "GOOGLE_SPEECH_ENDPOINT": speech.url,
           "HOTLINE_QUEUE": name, "HOTLINE_INSTANCE": str(scratch / "instance")}
    config = Config.from_env(env)
    db = Database(db_url)
    sids = add_recordings(db, media, n)
    q = queue.make(config, db, queue.Settings.from_config(config, env))
    for sid in sids:
        q.enqueue(queue.DOWNLOAD, sid)
    started = time.perf_counter()
    procs = [subprocess.Popen([sys.executable, "-m", "hotline.cli", "worker", "--burst"], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for _ in range(workers)]
    for p in procs:
        p.wait()
    elapsed = time.perf_counter() - started
    assert settled(db, sids), "some recordings did not finish"
    conn = Redis.from_url(REDIS_URL)
    for key in conn.scan_iter(match=f"*{name}*", count=1000):
        conn.delete(key)
    db.dispose()
    return 2 * n / elapsed


def throughput_in_process(db_url: str, n: int, media: MediaStandIn, speech: SpeechStandIn, scratch: Path) -> float:
    env = {"DATABASE_URL": db_url, "TWILIO_ACCOUNT_SID": media.account_sid, "TWILIO_AUTH_TOKEN": TOKEN,
           "SECRET_KEY": "bench", "RECORDINGS_DIR": str(scratch / "inproc"), "TWILIO_MEDIA_HOSTS": "127.0.0.1",
           "TRANSCRIBER": "google", "GOOGLE_SPEECH_ENDPOINT": speech.url}
    config = Config.from_env(env)
    config = dataclasses.replace(config, extra=env)
    db = Database(db_url)
    sids = add_recordings(db, media, n)
    q = queue.make(config, db)
    started = time.perf_counter()
    for sid in sids:
        q.enqueue(queue.DOWNLOAD, sid)
    q.wait()
    elapsed = time.perf_counter() - started
    assert settled(db, sids)
    db.dispose()
    return 2 * n / elapsed


def real_time_factor(scratch: Path) -> list[tuple[str, float, float, float, int]]:
    """(label, audio seconds, processing seconds, RTF, words) for a short and a three-minute idea."""
    engine = make("pocketsphinx")
    started = time.perf_counter()
    engine.warm()
    load = time.perf_counter() - started
    print(f"pocketsphinx model load (once per worker process): {load:.2f} s")
    short = read_wav(Path(spoken_wav(IDEA, str(scratch / "idea.wav"))).read_bytes())
    pause = b"\0\0" * 8000 * 2
    long_pcm = b""
    while len(long_pcm) < 180 * 8000 * 2:
        long_pcm += short.data + pause
    long = read_wav(write_wav(long_pcm[: 180 * 8000 * 2], 8000))
    rows = []
    for label, audio in (("one idea", short), ("three-minute idea", long)):
        times = []
        for _ in range(3 if audio.seconds < 60 else 1):     # the median of three short runs, one long one
            t = time.perf_counter()
            result = engine.transcribe(audio, for_tag("en"))
            times.append(time.perf_counter() - t)
        took = sorted(times)[len(times) // 2]
        rows.append((label, audio.seconds, took, took / audio.seconds, len(result.text.split())))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--recordings", type=int, default=200)
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--no-rtf", action="store_true", help="skip the offline engine's real-time factor")
    args = parser.parse_args()
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, Python "
          f"{platform.python_version()}")
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        db_url = os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{scratch / 'bench.db'}"
        Database(db_url).upgrade()
        print(f"database: {db_url.split('://')[0]}")
        with MediaStandIn("AC" + "b" * 32, tone_wav(10.0)) as media, SpeechStandIn() as speech:
            for w in [int(x) for x in args.workers.split(",")]:
                rate = throughput_rq(db_url, w, args.recordings, media, speech, scratch)
                print(f"RQ, {w} worker(s): {rate:.1f} jobs/s ({rate / 2:.1f} recordings/s), "
                      f"{args.recordings} recordings of 10 s")
            rate = throughput_in_process(db_url, args.recordings, media, speech, scratch)
            print(f"in-process runner (2 threads): {rate:.1f} jobs/s ({rate / 2:.1f} recordings/s)")
        for label, seconds, took, rtf, words in ([] if args.no_rtf else real_time_factor(scratch)):
            print(f"pocketsphinx, {label}: {seconds:.1f} s of 8 kHz audio in {took:.2f} s -> "
                  f"real-time factor {rtf:.3f} ({words} words)")


if __name__ == "__main__":
    main()
