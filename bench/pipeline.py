"""Recordings per minute through download + transcription, for the suite.

    .venv/bin/python -m bench.pipeline [--quick] [--recordings 24] [--workers 2]

1. The offline engine end to end: N spoken ideas (espeak-ng, 8 kHz, ~10 s each) are committed as
   Twilio's recording callback leaves them and queued on a fresh RQ queue; W `hotline worker
   --burst` processes download each from a local Twilio media stand-in and transcribe it with
   pocketsphinx (`TRANSCRIBER=pocketsphinx`). Reported: recordings per minute, from the first
   enqueue to the last transcript, on PostgreSQL.
2. `bench/pipeline_bench.py` (the pipeline's own benchmark: jobs/s through RQ with stand-ins for
   Twilio and Google, and pocketsphinx's real-time factor), run as it is and its lines quoted.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from bench.common import REDIS_URL, ROOT, scratch_postgres

sys.path.insert(0, str(ROOT / "bench"))


def offline(recordings: int, workers: int, scratch: Path) -> dict:
    import pipeline_bench as pb
    from redis import Redis

    from hotline import queue
    from hotline.config import Config
    from store import Database, recordings as store_recordings
    from tests.speech_standin import MediaStandIn, spoken_wav

    wav = Path(spoken_wav(pb.IDEA, str(scratch / "idea.wav"))).read_bytes()
    with scratch_postgres("hotline_pipeline") as url, MediaStandIn("AC" + "c" * 32, wav) as media:
        db = Database(url)
        db.upgrade()
        name = f"bench-offline-{uuid.uuid4().hex[:8]}"
        env = {**os.environ, "DATABASE_URL": url, "REDIS_URL": REDIS_URL, "TWILIO_ACCOUNT_SID": media.account_sid,
               "TWILIO_AUTH_TOKEN": pb.TOKEN, "SECRET_KEY": "bench", "RECORDINGS_DIR": str(scratch / name),
               "TWILIO_MEDIA_HOSTS": "127.0.0.1", "TRANSCRIBER": "pocketsphinx", "HOTLINE_QUEUE": name,
               "HOTLINE_INSTANCE": str(scratch / "instance"), "PYTHONPATH": str(ROOT)}
        config = Config.from_env(env)
        sids = pb.add_recordings(db, media, recordings)
        q = queue.make(config, db, queue.Settings.from_config(config, env))
        started = time.perf_counter()
        for sid in sids:
            q.enqueue(queue.DOWNLOAD, sid)
        procs = [subprocess.Popen([sys.executable, "-m", "hotline.cli", "worker", "--burst"], cwd=ROOT, env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for _ in range(workers)]
        for p in procs:
            p.wait(timeout=1800)
        elapsed = time.perf_counter() - started
        with db.unit_of_work() as s:
            states = [store_recordings.get(s, sid).pipeline for sid in sids]
            seconds = [store_recordings.get(s, sid).audio_seconds or 0.0 for sid in sids]
        db.dispose()
        conn = Redis.from_url(REDIS_URL)
        for key in conn.scan_iter(match=f"*{name}*", count=1000):
            conn.delete(key)
    done = states.count("transcribed")
    return {"recordings": recordings, "workers": workers, "seconds": elapsed, "transcribed": done,
            "states": {s: states.count(s) for s in set(states)}, "audio_seconds_each": round(sum(seconds) / len(seconds), 1),
            "per_minute": done / elapsed * 60}


def pipeline_bench(quick: bool) -> list[str]:
    cmd = [sys.executable, str(ROOT / "bench" / "pipeline_bench.py"),
           "--recordings", "50" if quick else "200", "--workers", "1,2" if quick else "1,2,4"]
    if quick:
        cmd.append("--no-rtf")
    with scratch_postgres("hotline_pipeline") as url:
        out = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=1800,
                             env={**os.environ, "BENCH_DATABASE_URL": url, "REDIS_URL": REDIS_URL})
    if out.returncode != 0:
        return [f"pipeline_bench.py failed ({out.returncode}): {out.stderr.strip().splitlines()[-1:]}"]
    return [line for line in out.stdout.splitlines() if line.strip()]


def run(args) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        result = {"offline": offline(args.recordings, args.workers, Path(tmp))}
    result["pipeline_bench"] = pipeline_bench(args.quick)
    result["pipeline_bench_command"] = (f"BENCH_DATABASE_URL=<scratch PostgreSQL> .venv/bin/python bench/pipeline_bench.py "
                                        f"--recordings {'50 --workers 1,2 --no-rtf' if args.quick else '200 --workers 1,2,4'}")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--recordings", type=int)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    args.recordings = args.recordings or (6 if args.quick else 24)
    out = run(args)
    o = out["offline"]
    print(f"offline engine: {o['transcribed']}/{o['recordings']} recordings of ~{o['audio_seconds_each']} s "
          f"with {o['workers']} workers in {o['seconds']:.1f} s = {o['per_minute']:.1f} recordings/min")
    print("\n".join(out["pipeline_bench"]))
    if args.json:
        args.json.write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
