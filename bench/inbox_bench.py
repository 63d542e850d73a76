"""Time the staff dashboard's inbox at 50,000 ideas: pages, filters, counts, search, one idea, CSV.

Run from the project root::

    .venv/bin/python bench/inbox_bench.py                 # SQLite (a temporary file)
    .venv/bin/python bench/inbox_bench.py --postgres      # a scratch PostgreSQL database on 127.0.0.1

Each figure is the median of several requests through the whole Flask app (signed in as a
reviewer: routing, queries, template), after one warm-up request. Not a test: timings depend on
the machine. The data is bulk-inserted (with SQLAlchemy directly, as a bench may) but shaped as the
line leaves it: 60 % recorded ideas with machine transcripts, 40 % texted, twelve languages, Boston
ZIPs, two months of dates, a third reviewed.
"""
from __future__ import annotations

import argparse
import os
import platform
import random
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import func, insert, select, text  # noqa: E402

from hotline import create_app  # noqa: E402
from hotline.config import Config  # noqa: E402
from hotline.dashboard import rulebook  # noqa: E402
from store import Database, review  # noqa: E402
from store.models import Idea, IdeaReview, Priority, Recording, Transcript  # noqa: E402
from tests.conftest import load_cycle  # noqa: E402

RUNS = 7
SEED = 2024
LANGUAGES = {"en": 50, "es": 20, "zh-Hant": 6, "zh-Hans": 3, "ht": 6, "vi": 4, "kea": 3, "pt": 3, "ru": 2,
             "ar": 1, "so": 1, "fr": 1}
VOCABULARY = ("more benches trees park library wifi youth seniors garden fridge crosswalk school lights water "
              "fountain art bus stop shade playground program classes food pantry street sidewalk repair "
              "community center pool basketball court safety mural lighting bike lane ramp access jobs summer "
              "teens music tutoring computers internet clinic").split()
RARE = "xylophone"        # in a handful of transcripts only


def make_ideas(db: Database, cycle_id: int, n: int, rng: random.Random) -> None:
    zips = [z for zs in rulebook.neighbourhoods().values() for z in zs]
    langs, weights = list(LANGUAGES), list(LANGUAGES.values())
    start = datetime(2024, 7, 1)
    with db.unit_of_work() as s:
        priority_ids = [p.id for p in review.priorities(s, cycle_id)]
    ideas, recs, trs, reviews = [], [], [], []
    for i in range(1, n + 1):
        words = " ".join(rng.choice(VOCABULARY) for _ in range(rng.randint(8, 60)))
        if i % 9973 == 0:
            words += f" {RARE}"
        voice = rng.random() < 0.6
        created = start + timedelta(seconds=rng.randrange(62 * 86400))
        if voice:
            sid = "RE" + uuid.UUID(int=rng.getrandbits(128)).hex
            recs.append({"id": i, "recording_sid": sid, "call_sid": "CA" + sid[2:], "url": f"https://x/{sid}",
                         "duration": rng.randint(5, 120), "status": "completed", "pipeline": "transcribed",
                         "created_at": created, "updated_at": created})
            trs.append({"recording_id": i, "idea_id": i, "kind": "machine", "engine": "google", "language": "en-US",
                        "text": words, "confidence": 0.85, "words": [], "alternatives": [], "created_at": created})
        judged = rng.choice(["eligible", "eligible", "not_eligible", "follow_up"]) if rng.random() < 0.33 else None
        ideas.append({"id": i, "ref_code": f"{i:07d}", "cycle_id": cycle_id, "channel": "voice" if voice else "sms",
                      "language": rng.choices(langs, weights)[0], "text": None if voice else words,
                      "zip_code": rng.choice(zips) if rng.random() < 0.8 else None,
                      "status": "withdrawn" if rng.random() < 0.01 else "received",
                      "recording_id": i if voice else None, "created_at": created, "eligibility": judged,
                      "priority_id": rng.choice(priority_ids) if judged else None})
        if judged:
            reviews.append({"idea_id": i, "reasons": ["not_feasible"] if judged == "not_eligible" else [],
                            "summary_en": "Summary: " + " ".join(words.split()[:8]), "notes": None, "version": 1,
                            "updated_by": "bench@boston.gov", "updated_at": created})
    with db.unit_of_work() as s:
        for model, rows in ((Recording, recs), (Idea, ideas), (Transcript, trs), (IdeaReview, reviews)):
            for k in range(0, len(rows), 5000):
                s.execute(insert(model), rows[k:k + 5000])
    with db.engine.begin() as c:
        if db.engine.dialect.name == "postgresql":
            c.execute(text("SELECT setval('ideas_id_seq', (SELECT max(id) FROM ideas))"))
            c.execute(text("SELECT setval('recordings_id_seq', (SELECT max(id) FROM recordings))"))
        else:
            c.execute(text("ANALYZE"))
    if db.engine.dialect.name == "postgresql":
        # What autovacuum leaves on a table that has been in use: statistics and a visibility map
        # (so the counts can read the facets index alone). A bulk load has neither yet.
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
            c.execute(text("VACUUM ANALYZE"))


def median_ms(fn: Callable[[], object], runs: int = RUNS) -> float:
    fn()                                   # warm-up: the first request pays for template compilation
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times) * 1000


def run(url: str, n: int) -> list[tuple[str, float, str]]:
    rng = random.Random(SEED)
    tmp = Path(tempfile.mkdtemp(prefix="inbox-bench-"))
    db = Database(url)
    db.upgrade()
    os.environ.setdefault("HOTLINE_INSTANCE", str(tmp / "instance"))
    cycle_id = load_cycle(db, now=datetime.utcnow())
    with db.unit_of_work() as s:
        review.seed_priorities(s, cycle_id)
    t = time.perf_counter()
    make_ideas(db, cycle_id, n, rng)
    print(f"  {n:,} ideas made in {time.perf_counter() - t:.1f} s", file=sys.stderr)
    config = Config.from_env({"SECRET_KEY": "bench", "TWILIO_AUTH_TOKEN": "bench",
                              "RECORDINGS_DIR": str(tmp / "recordings")})
    app = create_app(config, db)
    client = app.test_client()
    from tests.staff_driver import as_staff
    as_staff(client, db, "reviewer")

    def get(path: str) -> Callable[[], None]:
        def fetch() -> None:
            response = client.get(path)
            assert response.status_code == 200 and response.data, (path, response.status_code)   # read it all
        return fetch

    with db.unit_of_work() as s:
        # The cursor of the last page: the 50 oldest ideas remain after it.
        row = s.execute(select(Idea.created_at, Idea.id).order_by(Idea.created_at, Idea.id).offset(50).limit(1)).one()
        deep = review.Cursor(row[0], row[1]).encode()
        middle_ref = s.scalar(select(Idea.ref_code).order_by(Idea.created_at, Idea.id).offset(n // 2).limit(1))
        parks = s.scalar(select(Priority.id).where(Priority.cycle_id == cycle_id).order_by(Priority.position))
        common = s.scalar(select(func.count()).select_from(Transcript)
                          .where(func.lower(Transcript.text).like("%library%")))
    cases = [
        ("inbox, first page (50 of 50,000, counts per filter)", "/staff/ideas", ""),
        ("inbox, last page (keyset cursor)", f"/staff/ideas?after={deep}", ""),
        ("filter: Spanish", "/staff/ideas?lang=es", ""),
        ("filter: not reviewed, by phone", "/staff/ideas?review=unreviewed&channel=voice", ""),
        ("filter: one priority", f"/staff/ideas?priority={parks}", ""),
        ("filter: neighbourhood (Dorchester)", "/staff/ideas?hood=Dorchester", ""),
        ("filter: two weeks", "/staff/ideas?from=2024-07-10&to=2024-07-23", ""),
        ("search: common word (library)", "/staff/ideas?q=library", f"{common:,} transcripts hold it"),
        (f"search: rare word ({RARE})", f"/staff/ideas?q={RARE}", "5 ideas"),
        ("search: two words + Spanish", "/staff/ideas?q=bike+lane&lang=es", ""),
        ("search: reference number", f"/staff/ideas?q={middle_ref}", ""),
        ("one idea (with next/previous in the inbox)", f"/staff/ideas/{middle_ref}", ""),
    ]
    out = [(label, median_ms(get(path)), note) for label, path, note in cases]
    t = time.perf_counter()
    get("/staff/ideas.csv")()
    out.append(("CSV export of all 50,000 ideas (one run)", (time.perf_counter() - t) * 1000, ""))
    with db.engine.connect() as c:     # what OFFSET paging would cost for the last page (why keyset)
        t0 = time.perf_counter()
        for _ in range(RUNS):
            c.execute(select(Idea.id).order_by(Idea.created_at.desc(), Idea.id.desc()).offset(n - 50).limit(50)).all()
        offset_ms = (time.perf_counter() - t0) / RUNS * 1000
        t0 = time.perf_counter()
        for _ in range(RUNS):
            c.execute(select(Idea.id).where(text("(created_at, id) < (SELECT created_at, id FROM ideas WHERE id = 1)"))
                      .order_by(Idea.created_at.desc(), Idea.id.desc()).limit(50)).all()
        keyset_ms = (time.perf_counter() - t0) / RUNS * 1000
    out.append(("(query only) last page by OFFSET", offset_ms, "for comparison"))
    out.append(("(query only) a page by keyset", keyset_ms, "for comparison"))
    db.dispose()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ideas", type=int, default=50_000)
    parser.add_argument("--postgres", action="store_true", help="a scratch database on 127.0.0.1 (dropped after)")
    args = parser.parse_args()
    url = os.environ.get("BENCH_DATABASE_URL")
    drop = None
    if args.postgres and not url:
        from tests.conftest import _drop_postgres, _postgres_url
        url, drop = _postgres_url(), _drop_postgres
    url = url or f"sqlite:///{tempfile.mkdtemp(prefix='inbox-bench-db-')}/bench.db"
    backend = url.split(":", 1)[0].split("+")[0]
    print(f"{backend}, {args.ideas:,} ideas, median of {RUNS} (Python {platform.python_version()}, "
          f"{os.cpu_count()} CPUs)", file=sys.stderr)
    try:
        rows = run(url, args.ideas)
    finally:
        if drop:
            drop(url)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"load average after the run: {load} (on {os.cpu_count()} CPUs)", file=sys.stderr)
    print(f"| what ({backend}) | ms | note |\n| --- | ---: | --- |")
    for label, ms, note in rows:
        print(f"| {label} | {ms:,.1f} | {note} |")


if __name__ == "__main__":
    main()
