"""Turn bench/results.json into the generated part of BENCHMARKS.md (other sections are left as they are)."""
from __future__ import annotations

import re
from pathlib import Path

START = "<!-- bench:generated:start (python -m bench rewrites this part from bench/results.json) -->"
END = "<!-- bench:generated:end -->"

P99_TARGET_MS = 100.0
FLOOR_TARGET = 0.40
TALLY_TARGET_S = 2.0
PABUTOOLS_TARGET = 20.0
GROWTH_LIMIT_MIB = 10.0     # "no growth": what a 10-minute run may add once warm (allocator noise)


def _f(x: float, nd: int = 1) -> str:
    return f"{x:,.{nd}f}"


def _when(section: dict) -> str:
    load = section.get("load_before")
    note = f", load average before {load[0]:.2f}" if load else ""
    quiet = section.get("quiet_before")
    if quiet:
        note += (f", machine idle before it" if quiet.get("quiet") else
                 f", machine still busy ({quiet['busy_cores']} cores in use by others) after waiting {quiet['waited_s']} s")
    after = section.get("load_after")
    note += f" / after {after[0]:.2f}" if after else ""
    return f"*Measured {section.get('measured_at', '?')} UTC in {section.get('took_s', 0):.0f} s{note}" + (
        "; quick run*" if section.get("quick") else "*")


def machine(r: dict) -> str:
    m = r.get("machine", {})
    v = m.get("versions", {})
    soft = ", ".join(f"{k} {v[k]}" for k in ("python", "flask", "gunicorn", "sqlalchemy", "psycopg", "rq",
                                               "postgresql", "redis-server", "pabutools") if k in v)
    return (f"**Machine:** {m.get('cpu', '?')}, {m.get('cores', '?')} cores, {m.get('memory_mib', 0) / 1024:.0f} GiB, "
            f"Linux {m.get('kernel', '?')}; {soft}. PostgreSQL (stock settings, `synchronous_commit=on`) and "
            "Redis run on the same machine, as do the load generator and the stand-ins, so every figure below "
            "shares 2 cores between server, database and client; the CPU columns say who used what"
            + (f". The suite ran at nice {m['nice']} (servers, workers and load generator inherit it; "
               "PostgreSQL and Redis at normal priority) so that other work on the machine disturbs it less; "
               "the *others* column is that work's share" if m.get("nice") else "") + ".")


def targets(r: dict) -> str:
    rows = ["| target (2-core machine, medians of runs) | measured | verdict |", "| --- | --- | --- |"]
    surge = r.get("surge", {})
    cells, verdicts = [], []
    for label, think in (("human pace", 5.0), ("paced", surge.get("think", 1.0))):
        run = surge.get(label)
        if not run:
            continue
        # A p99 needs samples: the rare steps (recording an idea, ~1% of requests) are in the table.
        common = {k: v for k, v in run["steps"].items() if v.get("n", 0) >= 300} or run["steps"]
        worst_step, worst = max(common.items(), key=lambda kv: kv[1]["p99"])
        cells.append(f"{label} (~{think:g} s before each step, {run['rps']:.0f} requests/s): worst step p99 "
                     f"**{_f(worst['p99'])} ms** ({worst_step}), all requests p99 {_f(run['p99'])} ms, p50 "
                     f"{_f(run['p50'])} ms")
        verdicts.append(f"{label}: " + ("met" if worst["p99"] < P99_TARGET_MS else
                                        f"missed by {worst['p99'] - P99_TARGET_MS:.0f} ms"))
    if cells:
        flat = surge.get("flat out", {})
        cells.append(f"flat out (no pauses: 100 requests always in flight) p99 {_f(flat.get('p99', 0))} ms, "
                     "which is queueing at saturation")
        rows.append("| every webhook p99 < 100 ms at 100 concurrent conversations, PostgreSQL | "
                    + "; ".join(cells) + " | " + "; ".join(verdicts) + " (why: *Voting surge*) |")
    floor = r.get("floor", {}).get("results", {})
    if floor:
        parts, worst = [], 1.0
        for key, label in (("postgresql:sms", "texts, PostgreSQL"), ("postgresql:voice", "calls, PostgreSQL"),
                           ("sqlite:sms", "texts, SQLite"), ("sqlite:voice", "calls, SQLite")):
            if key in floor:
                ratio = floor[key]["ratio_to_floor"]
                if key.startswith("postgresql") or not any(k.startswith("postgresql") for k in floor):
                    worst = min(worst, ratio)       # the verdict is on the production database
                others = floor[key]["cpu_cores"].get("others", 0.0)
                parts.append(f"{label} {ratio:.1%}" + (f" (others used {others:.2f} cores meanwhile)"
                                                       if others > 0.25 else ""))
        verdict = "met" if worst >= FLOOR_TARGET else (f"missed: {worst:.1%} of the floor on PostgreSQL where 40% was asked "
                                                        f"({FLOOR_TARGET / worst:.1f}× short; why below)")
        rows.append(f"| voting steps ≥ 40% of the bare route's throughput | bare route {_f(floor['bare']['rps'], 0)} "
                    f"requests/s; {'; '.join(parts)} | {verdict} |")
    tally = r.get("tally")
    if tally:
        rows.append(f"| 1,000,000 ballots tallied in < 2 s | **{tally['ours_s']:.2f} s** (median of {tally['runs']}) | "
                    f"{'met' if tally['ours_s'] < TALLY_TARGET_S else 'missed'} |")
        if "ratio" in tally:
            rows.append(f"| ≥ 20× faster than pabutools' greedy rule, same data | **{tally['ratio']:.0f}×** on "
                        f"{tally['pabutools_ballots']:,} ballots (rule alone, profile prebuilt: "
                        f"{tally['ratio_rule_only']:.0f}×); same funded set: {tally['same_funded']} | "
                        f"{'met' if tally['ratio'] >= PABUTOOLS_TARGET else 'missed'} |")
    soak = r.get("soak")
    if soak and soak.get("memory_summary"):
        web = {k: v for k, v in soak["memory_summary"].items() if k.startswith("web")}
        growth = max((v["growth_mib"] for v in web.values()), default=0.0)
        rows.append(f"| no memory growth over a 10-minute surge | web workers after warm-up → end: "
                    + ", ".join(f"{v['after_warmup']:.0f} → {v['end']:.0f} MiB" for v in web.values())
                    + f" (largest change {growth:+.1f} MiB) | {'met' if growth < GROWTH_LIMIT_MIB else 'missed'} |")
    if surge.get("tally"):
        t = surge["tally"]
        rows.append(f"| two web processes and two workers share PostgreSQL and Redis; exact tally | "
                    f"{t['voters']:,} ballots and {t['ideas']} recorded ideas over all surge runs; "
                    f"pipeline {surge.get('pipeline')} | {'exact' if t['exact'] else 'NOT exact: ' + '; '.join(t['problems'])} |")
    return "\n".join(rows)


def floor_section(r: dict) -> str:
    from bench.webhook_floor import table

    f = r.get("floor")
    if not f:
        return ""
    res = f["results"]
    bare = res["bare"]
    lines = [
        "### Webhook cost against the floor",
        "",
        f"`.venv/bin/python -m bench.webhook_floor` — gunicorn as in the Procfile ({f['workers']} workers × "
        f"{f['threads']} threads, gthread), {f['connections']} keep-alive connections kept busy by the lean "
        f"replay client (`bench/load.py`, its own process), {f['duration']:.0f} s per run after a 2 s warm-up, "
        f"{f['runs']} runs. A texted vote is 5 requests (VOTE, age, ZIP, choices, YES), a called vote 11 (the "
        "call, 9 key presses, the status callback); latency is what the client saw, so it includes queueing "
        f"behind the other {f['connections'] - 1} connections.",
        "",
        table(f),
        "",
    ]
    for key in ("sqlite:tally", "postgresql:tally"):
        if key in res:
            t = res[key]
            lines.append(f"- {key.split(':')[0]}: {t['conversations']:,} conversations, {t['ballots']:,} ballots "
                         f"stored — {'exactly one each' if t['exact'] else 'MISMATCH'}.")
    pg = res.get("postgresql:sms") or res.get("sqlite:sms")
    if pg:
        lines += ["", f"Why the gap: the bare route costs the web processes {bare['web_cpu_ms_per_request']:.2f} ms of "
                      f"CPU per request; a voting step on PostgreSQL costs {pg['web_cpu_ms_per_request']:.2f} ms in the "
                      f"web process plus {pg['db_cpu_ms_per_request']:.2f} ms in PostgreSQL. A step checks the Twilio "
                      "signature and the sender's rate limit (one Redis round trip), then in one transaction reads the "
                      "conversation (locked) with its participant and any answer already given to this webhook, reads "
                      "the current cycle's fingerprint with the voter's receipt, and writes the conversation and the "
                      "answer it gives (sealed), plus the ballot and its choices on the last step."]
        prof = r.get("profile", {}).get("postgresql")
        layers = ""
        if prof:
            shares = prof["share_by_group"]
            top = ", ".join(f"{name} {share:.0%}" for name, share in shares.items() if share >= 0.03)
            lines[-1] += (f" Profiled inside one web process (`.venv/bin/python -m bench.step_profile`, "
                          f"{prof['requests']:,} requests of texted votes, one at a time): {prof['ms_per_request']:.2f} ms "
                          f"per request, {prof['cpu_ms_per_request']:.2f} ms of it CPU; "
                          f"{prof['statements_per_request']:.1f} SQL statements per request besides BEGIN and COMMIT, "
                          f"{prof['sql_ms_per_request']:.2f} ms inside the driver's execute (round trips included). "
                          f"Where the web process's CPU goes: {top} (measured {r['profile'].get('measured_at', '?')[:16]} UTC).")
            framework = sum(shares.get(k, 0.0) for k in ("SQLAlchemy", "psycopg (driver)", "Flask and Werkzeug"))
            layers = f" ({framework * prof['cpu_ms_per_request']:.1f} ms)"
        cores = r.get("machine", {}).get("cores", 2)
        budget = 1000 * cores / (FLOOR_TARGET * bare["rps"])
        ratio = pg["ratio_to_floor"]
        lines[-1] += (f" The floor does none of this, so the ratio measures the line's durable work per request. "
                      f"40% of the floor is {FLOOR_TARGET * bare['rps']:,.0f} requests/s, which on {cores} cores leaves "
                      f"{budget:.2f} ms of CPU per request for web process, database and client together — less than "
                      f"the step spends in the web framework and the database layers alone{layers}. The target is missed "
                      f"{FLOOR_TARGET / ratio:.1f}× ({ratio:.1%} where 40% was asked); closing it would take a step "
                      "without an ORM or a WSGI framework, or a compiled runtime: a redesign, not a tuning pass (what "
                      "was tuned is under *changes made*).")
    lines.append("")
    lines.append(_when(f))
    return "\n".join(lines)


def surge_section(r: dict) -> str:
    from bench.surge import table

    s = r.get("surge")
    if not s:
        return ""
    t = s["tally"]
    lines = [
        "### Voting surge",
        "",
        "`.venv/bin/python -m bench.surge` — two web servers (gunicorn, 1 worker × "
        f"{s['web_threads']} threads each, on two ports, as two machines would be), {s['rq_workers']} RQ workers "
        "(`hotline worker`), one PostgreSQL, one Redis. The load generator (its own process, threads driving "
        "`hotline.phone.Phone` over keep-alive connections) sends every request to the next server in turn, so "
        "consecutive steps of one conversation land on different processes. Residents text (50%) or call (45%) "
        "and vote for 1–5 random proposals; 5% of callers record an idea instead, which the workers download "
        "from a local Twilio media stand-in and transcribe with the Google Speech stand-in. Flat-out runs play "
        f"{s.get('residents', 0):,} residents each; paced runs measure {s.get('paced_seconds', 0):.0f} s after a "
        f"{s.get('ramp', 0):.0f} s ramp that spreads the conversations' starts.",
        "",
        table(s),
        f"**Tally check** (all runs of this section): {t['voters']:,} voters, {t['ballots']:,} ballots counted, "
        f"{t['ideas']} recorded ideas kept; receipts distinct and equal to the stored ballots; votes per "
        f"proposal {t['votes']} equal to what the residents cast: **{'exact' if t['exact'] else 'NOT exact'}**"
        + (f" ({'; '.join(t['problems'])})" if t["problems"] else "") + f". Recordings after the surge: {s.get('pipeline')}.",
        "",
        "Reading it: flat out, 100 conversations never pause, so 100 requests are always waiting and latency is "
        "queueing (Little's law: 100 in flight ÷ requests/s); that run measures capacity (ballots/s). The paced "
        "run is the 100-conversation target: each resident still answers ~10× faster than a caller who listens "
        "to the prompts.",
        "",
        _when(s),
    ]
    return "\n".join(lines)


def tally_section(r: dict) -> str:
    t = r.get("tally")
    if not t:
        return ""
    lines = ["### Tally", "",
             f"`.venv/bin/python bench/tally_bench.py` — {t['ballots']:,} ballots of 1–{t['max_choices']} choices "
             f"among {t['proposals']} proposals (seed {t['seed']}, skewed popularity), counted and funded by "
             f"`hotline.tally` (`count_votes` + `decide_funding`): **{t['ours_s']:.3f} s**, median of {t['runs']} "
             f"(counting alone {t['count_s']:.3f} s). Funded: {t['funded']}."]
    if "ratio" in t:
        lines += ["", f"pabutools' `greedy_utilitarian_welfare` (Cost_Sat, same tie-break) on {t['pabutools_ballots']:,} "
                      f"ballots ({t['pabutools_note']}): building the profile {t['pabutools_build_s']:.1f} s + the rule "
                      f"{t['pabutools_rule_s']:.1f} s, one run, against {t['ours_same_data_s']:.3f} s: "
                      f"**{t['ratio']:.0f}× faster** ({t['ratio_rule_only']:.0f}× counting the rule alone). Same "
                      f"funded set: {t['same_funded']}."]
    lines += ["", _when(t)]
    return "\n".join(lines)


def pipeline_section(r: dict) -> str:
    p = r.get("pipeline")
    if not p:
        return ""
    o = p["offline"]
    lines = ["### Pipeline", "",
             f"`.venv/bin/python -m bench.pipeline` — {o['recordings']} spoken ideas (~{o['audio_seconds_each']} s of "
             f"8 kHz speech each) through RQ on PostgreSQL with {o['workers']} `hotline worker` processes: download "
             f"from the Twilio media stand-in, then transcription by pocketsphinx (`TRANSCRIBER=pocketsphinx`). "
             f"{o['transcribed']}/{o['recordings']} transcribed in {o['seconds']:.1f} s: "
             f"**{o['per_minute']:.1f} recordings per minute** (about "
             f"{o['per_minute'] * o['audio_seconds_each'] / 60:.1f} minutes of speech per minute on 2 cores).",
             "", f"The pipeline's own benchmark, run as is (`{p.get('pipeline_bench_command', 'bench/pipeline_bench.py')}`):", "",
             "```", *p["pipeline_bench"], "```", "", _when(p)]
    return "\n".join(lines)


def soak_section(r: dict) -> str:
    s = r.get("soak")
    if not s or "soak" not in s:
        return ""
    run = s["soak"]
    mem = s.get("memory_summary", {})
    lines = ["### Memory over a 10-minute surge", "",
             f"`.venv/bin/python -m bench --soak` — the surge set-up under the paced load (100 conversations, "
             f"~{s.get('think', 1)} s pauses) for {run['wall'] / 60:.1f} minutes: {run['residents']:,} residents, "
             f"{run['ballots_per_s']:.1f} ballots/s, {run['rps']:.0f} requests/s, p99 {run['latency']['p99']:.1f} ms, "
             f"{run['errors']} failed conversations; tally {'exact' if s['tally']['exact'] else 'NOT exact'}. "
             "Resident memory (RSS) sampled every 10 s; growth is measured from the first sample after 60 s.", "",
             "| process | after warm-up MiB | end MiB | max MiB | change MiB | MiB/min |", "| --- | --- | --- | --- | --- | --- |"]
    for name, v in mem.items():
        lines.append(f"| {name} | {v['after_warmup']:.1f} | {v['end']:.1f} | {v['max']:.1f} | {v['growth_mib']:+.1f} | "
                     f"{v['mib_per_min']:+.3f} |")
    lines += ["", _when(s)]
    return "\n".join(lines)


def generated(r: dict) -> str:
    parts = [START, "## Surge readiness: measured performance (`python -m bench`)", "",
             machine(r), "",
             "**Commands:** `.venv/bin/python -m bench` (floor, profile, surge, tally, pipeline; about 20 minutes), "
             "`.venv/bin/python -m bench --soak` (the 10-minute memory soak), `.venv/bin/python -m bench --quick` "
             "(a 3-minute smoke run that records nothing). Each section also runs alone (commands in its "
             "heading). Figures are medians of 3 runs unless said otherwise.", "",
             "### Targets", "", targets(r), "",
             floor_section(r), "", surge_section(r), "", tally_section(r), "", pipeline_section(r), "",
             soak_section(r), END]
    return "\n".join(p for p in parts if p is not None) + "\n"


def write(results: dict, path: Path) -> None:
    """Replace the generated block of `path` (or insert it before the first other `## ` section)."""
    text = path.read_text() if path.exists() else "# Benchmarks\n\n"
    block = generated(results)
    if START in text and END in text:
        text = re.sub(re.escape(START) + r".*?" + re.escape(END) + r"\n?", lambda _: block, text, flags=re.S)
    else:
        m = re.search(r"^## ", text, flags=re.M)
        text = text[:m.start()] + block + "\n" + text[m.start():] if m else text.rstrip() + "\n\n" + block
    path.write_text(text)
