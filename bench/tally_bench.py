"""Time hotline.tally on a million ballots and compare with pabutools' greedy rule.

Run from the project root: ``.venv/bin/python bench/tally_bench.py``. Not a test: timings
depend on the machine.
"""

from __future__ import annotations

import random
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hotline.tally import ProposalInfo, count_votes, decide_funding  # noqa: E402

BALLOTS = 1_000_000
PROPOSALS = 15
MAX_CHOICES = 5
RUNS = 5
SEED = 2025
BUDGET_CAP = 2_000_000
# Building pabutools' profile and running its greedy rule must fit this budget on the full
# data; otherwise it is timed on SUBSET ballots and the figures say so.
PABUTOOLS_BUDGET_S = 60.0
SUBSET = 100_000


def make_election(seed: int) -> tuple[list[ProposalInfo], list[list[int]]]:
    """Return 15 proposals and 1,000,000 ballots of 1–5 distinct choices, reproducibly."""
    rng = random.Random(seed)
    numbers = list(range(1, PROPOSALS + 1))
    proposals = [ProposalInfo(n, rng.randrange(50, 800) * 1000, f"Proposal {n}") for n in numbers]
    # Skew popularity so the result is not a coin toss: proposal weights differ.
    weights = [rng.random() + 0.2 for _ in numbers]
    ballots = []
    for _ in range(BALLOTS):
        k = rng.randint(1, MAX_CHOICES)
        chosen: set[int] = set()
        while len(chosen) < k:
            chosen.add(rng.choices(numbers, weights)[0])
        ballots.append(list(chosen))
    return proposals, ballots


def median_time(fn: Callable[[], object], runs: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(runs):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def ours(proposals: list[ProposalInfo], ballots: list[list[int]]) -> set[int]:
    count = count_votes(ballots, [p.number for p in proposals], MAX_CHOICES)
    results = decide_funding("bench", proposals, count, BUDGET_CAP)
    return {r.number for r in results.rows if r.funded}


def pabutools_greedy(proposals: list[ProposalInfo], ballots: list[list[int]]):
    """Return (seconds to build the profile, seconds for the rule, funded numbers)."""
    from pabutools.election import ApprovalBallot, ApprovalProfile, Cost_Sat, Instance, Project
    from pabutools.rules import greedy_utilitarian_welfare
    from pabutools.tiebreaking import TieBreakingRule

    start = time.perf_counter()
    projects = {p.number: Project(str(p.number), p.cost) for p in proposals}
    instance = Instance(projects.values(), budget_limit=BUDGET_CAP)
    profile = ApprovalProfile([ApprovalBallot(projects[n] for n in b) for b in ballots])
    built = time.perf_counter()
    # Cost_Sat makes pabutools rank by votes (see tests/test_tally.py); same tie-break as ours.
    outcome = greedy_utilitarian_welfare(
        instance, profile, sat_class=Cost_Sat,
        tie_breaking=TieBreakingRule(lambda i, p, proj: (proj.cost, int(proj.name))),
    )
    done = time.perf_counter()
    return built - start, done - built, {int(p.name) for p in outcome}


def measure(runs: int = RUNS, pabutools_budget_s: float = PABUTOOLS_BUDGET_S) -> dict:
    """Time both on the same election; the figures `main` prints (and `python -m bench` records)."""
    proposals, ballots = make_election(SEED)
    ours_s, ours_funded = median_time(lambda: ours(proposals, ballots), runs)
    count_s, _ = median_time(
        lambda: count_votes(ballots, [p.number for p in proposals], MAX_CHOICES), runs)
    out = {"ballots": BALLOTS, "proposals": PROPOSALS, "max_choices": MAX_CHOICES, "seed": SEED, "runs": runs,
           "ours_s": ours_s, "count_s": count_s, "funded": sorted(ours_funded)}
    try:
        import pabutools  # noqa: F401
    except ImportError:
        return out
    # Probe on the subset first, and only go to the full data if it projects under budget.
    build_s, rule_s, sub_funded = pabutools_greedy(proposals, ballots[:SUBSET])
    projected = (build_s + rule_s) * BALLOTS / SUBSET
    if projected <= pabutools_budget_s:
        build_s, rule_s, pabu_funded = pabutools_greedy(proposals, ballots)
        n, note = BALLOTS, "full data"
        ours_n_s, ours_n_funded = ours_s, ours_funded
    else:
        n, note = SUBSET, f"subset: full data projected at ~{projected:.0f} s > {pabutools_budget_s:.0f} s"
        pabu_funded = sub_funded
        ours_n_s, ours_n_funded = median_time(lambda: ours(proposals, ballots[:SUBSET]), runs)
    out.update({"pabutools_ballots": n, "pabutools_note": note, "pabutools_build_s": build_s,
                "pabutools_rule_s": rule_s, "ours_same_data_s": ours_n_s,
                "ratio": (build_s + rule_s) / ours_n_s, "ratio_rule_only": rule_s / ours_n_s,
                "same_funded": ours_n_funded == pabu_funded})
    return out


def main() -> None:
    print(f"Generating {BALLOTS:,} ballots (1–{MAX_CHOICES} of {PROPOSALS}, seed {SEED})…")
    r = measure()
    print(f"hotline.tally  count_votes + decide_funding, {BALLOTS:,} ballots: "
          f"median of {r['runs']} = {r['ours_s']:.3f} s (count_votes alone {r['count_s']:.3f} s)")
    if "ratio" not in r:
        print("pabutools not installed: no comparison.")
        return
    n = r["pabutools_ballots"]
    print(f"pabutools      greedy (Cost_Sat), {n:,} ballots ({r['pabutools_note']}): "
          f"build profile {r['pabutools_build_s']:.3f} s + rule {r['pabutools_rule_s']:.3f} s = "
          f"{r['pabutools_build_s'] + r['pabutools_rule_s']:.3f} s (one run)")
    print(f"hotline.tally  on the same {n:,} ballots: {r['ours_same_data_s']:.3f} s")
    print(f"speed ratio    pabutools / hotline.tally = {r['ratio']:.1f}x "
          f"(rule only, profile prebuilt: {r['ratio_rule_only']:.1f}x)")
    print(f"same funded set: {r['same_funded']} {r['funded']}")


if __name__ == "__main__":
    main()
