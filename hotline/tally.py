"""Count approval ballots and decide which proposals a cycle funds (pure: no I/O, no database)."""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass
from itertools import chain

__all__ = [
    "Count",
    "DEFAULT_RULE",
    "ProposalInfo",
    "RULES",
    "Results",
    "Row",
    "Rule",
    "UnknownRule",
    "count_votes",
    "decide_funding",
    "describe_rule",
    "to_csv",
    "to_json",
    "to_text",
]


@dataclass(frozen=True)
class ProposalInfo:
    """A proposal as it appears on one cycle's ballot."""

    number: int
    cost: int  # whole dollars
    title: str


@dataclass(frozen=True)
class Count:
    """Votes per proposal, plus how many ballots were and were not counted."""

    votes: dict[int, int]  # proposal number -> votes; every proposal present, 0 if none
    ballots: int  # ballots counted
    rejected: int  # ballots not counted (too many choices, unknown/duplicate number, empty)


@dataclass(frozen=True)
class Rule:
    """A funding rule: the order proposals are considered in, and how staff read it."""

    key: Callable[[ProposalInfo, int], tuple[int, ...]]  # (proposal, votes) -> sort key, smallest first
    text: str


@dataclass(frozen=True)
class Row:
    """One proposal's line in the results."""

    number: int
    title: str
    cost: int
    votes: int
    rank: int
    funded: bool
    tied: bool  # shares its vote count with another proposal


@dataclass(frozen=True)
class Results:
    """The outcome of a cycle: rows in rank order and the rule that produced them."""

    cycle: str
    budget_cap: int
    ballots: int
    rejected: int
    rows: tuple[Row, ...]
    funded_total: int
    rule: str
    rule_text: str


class UnknownRule(ValueError):
    """Raised when a cycle names a funding rule this module does not know."""


_GREEDY = (
    "Proposals are funded in order of votes while they fit under the cap; "
    "a proposal that does not fit is skipped and later ones are still considered; "
)

RULES: dict[str, Rule] = {
    # The cheaper proposal wins a tie because it leaves more of the cap for the
    # proposals ranked after it (issue text); the ballot number makes the order total.
    "greedy-cheaper-first": Rule(
        key=lambda p, votes: (-votes, p.cost, p.number),
        text=_GREEDY
        + "equal votes go to the cheaper proposal first, then the lower ballot number.",
    ),
    "greedy-lower-number-first": Rule(
        key=lambda p, votes: (-votes, p.number),
        text=_GREEDY + "equal votes go to the lower ballot number first.",
    ),
}

DEFAULT_RULE = "greedy-cheaper-first"


def _rule(name: str) -> Rule:
    try:
        return RULES[name]
    except KeyError:
        known = ", ".join(sorted(RULES))
        raise UnknownRule(
            f"Unknown funding rule {name!r}; set the cycle's rule to one of: {known}."
        ) from None


def describe_rule(rule: str) -> str:
    """Return the one-sentence explanation of ``rule`` printed with the results.

    :raises UnknownRule: if ``rule`` is not a key of :data:`RULES`.
    """
    return _rule(rule).text


def count_votes(
    ballots: Iterable[Collection[int]], numbers: Collection[int], max_choices: int
) -> Count:
    """Count approval ballots, rejecting any ballot that is not valid as a whole.

    A ballot is rejected if it is empty, has more than ``max_choices`` choices,
    names a proposal twice, or names a number not in ``numbers``. A rejected
    ballot contributes no votes at all: counting part of it would change what
    the voter chose.

    :param ballots: each ballot is the collection of proposal numbers chosen.
    :param numbers: the proposal numbers on this cycle's ballot.
    :param max_choices: the most choices one ballot may hold.
    """
    on_ballot = frozenset(numbers)
    is_on_ballot = on_ballot.issuperset
    accepted: list[Collection[int]] = []
    keep = accepted.append
    rejected = 0
    # One tight loop with the checks short-circuiting on the cheapest test first,
    # then a single C-level Counter pass: 1,000,000 ballots take well under a second
    # (bench/tally_bench.py).
    for ballot in ballots:
        n = len(ballot)
        if 0 < n <= max_choices and len(chosen := set(ballot)) == n and is_on_ballot(chosen):
            keep(ballot)
        else:
            rejected += 1
    counted = Counter(chain.from_iterable(accepted))
    votes = {number: counted.get(number, 0) for number in sorted(on_ballot)}
    return Count(votes=votes, ballots=len(accepted), rejected=rejected)


def decide_funding(
    cycle: str,
    proposals: Sequence[ProposalInfo],
    count: Count,
    budget_cap: int,
    rule: str = DEFAULT_RULE,
) -> Results:
    """Rank proposals by ``rule`` and fund each one that still fits under the cap.

    A proposal that does not fit is skipped and later ones are still considered.
    A proposal with no votes is never funded, even if money is left over.

    :param proposals: the proposals on the cycle's ballot; numbers must be unique.
    :param count: the result of :func:`count_votes`; a proposal missing from it has 0 votes.
    :param budget_cap: the most the cycle may spend, in whole dollars.
    :param rule: a key of :data:`RULES`.
    :raises UnknownRule: if ``rule`` is not a key of :data:`RULES`.
    :raises ValueError: on a negative cap or cost, or a repeated proposal number.
    """
    chosen_rule = _rule(rule)
    if budget_cap < 0:
        raise ValueError(f"The budget cap must not be negative (got {budget_cap}).")
    numbers = [p.number for p in proposals]
    if len(set(numbers)) != len(numbers):
        repeated = sorted(n for n, k in Counter(numbers).items() if k > 1)
        raise ValueError(f"Proposal numbers must be unique; repeated: {repeated}.")
    for p in proposals:
        if p.cost < 0:
            raise ValueError(f"Proposal {p.number} has a negative cost ({p.cost}).")

    votes = {p.number: count.votes.get(p.number, 0) for p in proposals}
    how_many_with = Counter(votes.values())
    ordered = sorted(proposals, key=lambda p: chosen_rule.key(p, votes[p.number]))

    remaining = budget_cap
    rows = []
    for rank, p in enumerate(ordered, start=1):
        funded = votes[p.number] > 0 and p.cost <= remaining
        if funded:
            remaining -= p.cost
        rows.append(
            Row(
                number=p.number,
                title=p.title,
                cost=p.cost,
                votes=votes[p.number],
                rank=rank,
                funded=funded,
                tied=how_many_with[votes[p.number]] > 1,
            )
        )
    return Results(
        cycle=cycle,
        budget_cap=budget_cap,
        ballots=count.ballots,
        rejected=count.rejected,
        rows=tuple(rows),
        funded_total=budget_cap - remaining,
        rule=rule,
        rule_text=chosen_rule.text,
    )


def to_json(results: Results) -> dict:
    """Return the results as a JSON-ready dict (the shape the dashboard and API publish)."""
    return {
        "cycle": results.cycle,
        "budget_cap": results.budget_cap,
        "ballots": results.ballots,
        "rejected_ballots": results.rejected,
        "proposals": [
            {
                "number": r.number,
                "title": r.title,
                "cost": r.cost,
                "votes": r.votes,
                "rank": r.rank,
                "funded": r.funded,
                "tied": r.tied,
            }
            for r in results.rows
        ],
        "funded_total": results.funded_total,
        "rule": results.rule_text,
        "rule_name": results.rule,
    }


def to_csv(results: Results) -> str:
    """Return the results as CSV: a header row, then one row per proposal in rank order."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["rank", "number", "title", "cost", "votes", "funded", "tied"])
    for r in results.rows:
        writer.writerow(
            [r.rank, r.number, r.title, r.cost, r.votes, "yes" if r.funded else "no",
             "yes" if r.tied else "no"]
        )
    return out.getvalue()


def _dollars(amount: int) -> str:
    return f"${amount:,}"


def _shorten(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


_TITLE_WIDTH = 40
_TIE_MARK = "="


def to_text(results: Results) -> str:
    """Return the results as a table for a terminal, with the funding line drawn in."""
    rows = results.rows
    last_funded = max((i for i, r in enumerate(rows) if r.funded), default=-1)
    cells = []
    for i, r in enumerate(rows):
        if r.funded:
            status = "FUNDED"
        elif i < last_funded:
            # Above the line but unfunded can only mean it did not fit what was left:
            # zero-vote proposals rank below every proposal with votes.
            status = "— did not fit"
        else:
            status = "—"
        votes = f"{r.votes:,}" + (_TIE_MARK if r.tied else " ")
        cells.append((str(r.rank), f"#{r.number}", votes, _dollars(r.cost), status,
                      _shorten(r.title, _TITLE_WIDTH)))
    header = ("Rank", "No.", "Votes", "Cost", "Result", "Title")
    widths = [max(len(c[k]) for c in [header, *cells]) for k in range(len(header))]
    right = (True, True, True, True, False, False)

    def line(values: tuple[str, ...]) -> str:
        parts = [v.rjust(w) if r else v.ljust(w) for v, w, r in zip(values, widths, right)]
        return "  ".join(parts).rstrip()

    table_width = sum(widths) + 2 * (len(widths) - 1)
    out = [
        f"Results for {results.cycle}",
        f"Ballots counted: {results.ballots:,}   Not counted: {results.rejected:,}",
        "",
        line(header),
        "-" * table_width,
    ]
    if last_funded == -1:
        out.append(" funding line: no proposal is funded ".center(table_width, "="))
    for i, c in enumerate(cells):
        out.append(line(c))
        if i == last_funded and i < len(cells) - 1:
            out.append(" funding line: nothing below is funded ".center(table_width, "="))
    out += [
        "-" * table_width,
        f"Funded: {_dollars(results.funded_total)} of {_dollars(results.budget_cap)} cap "
        f"({_dollars(results.budget_cap - results.funded_total)} left)",
    ]
    if any(r.tied for r in rows):
        out.append(f"{_TIE_MARK} tied on votes with another proposal; the rule below sets their order.")
    out.append(f"Rule ({results.rule}): {results.rule_text}")
    return "\n".join(out) + "\n"
