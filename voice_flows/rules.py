"""The PB rules a caller meets: windows, age and grade, residency, ballot choices (pure)."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from voice_flows.machine import CycleView

# Ages and grades outside these bounds are typing mistakes, not residents.
AGE_RANGE = range(1, 121)
GRADE_RANGE = range(0, 13)


def window(cycle: CycleView, now: datetime, which: str) -> str:
    """Say where `now` falls in the cycle's "ideas" or "voting" window: before, open or closed."""
    opens, closes = ((cycle.ideas_open, cycle.ideas_close) if which == "ideas"
                     else (cycle.voting_open, cycle.voting_close))
    if now < opens:
        return "before"
    return "open" if now <= closes else "closed"


def age_outcome(age: int, cycle: CycleView) -> str:
    """"ok" for a voting age, "young" when the grade may still qualify, "bad" for a slip."""
    if age not in AGE_RANGE:
        return "bad_number"
    if age >= cycle.min_age:
        return "ok"
    return "young" if cycle.min_grade is not None else "too_young"


def grade_outcome(grade: int, cycle: CycleView) -> str:
    if grade not in GRADE_RANGE:
        return "bad_number"
    if cycle.min_grade is not None and grade >= cycle.min_grade:
        return "ok"
    return "too_young"


ZIP_OUTCOMES = {"residential": "ok", "shared": "shared", "po-box": "po_box"}


def zip_outcome(zip_code: str, cycle: CycleView) -> str:
    """"ok" for a city ZIP; "shared" when it spans a neighbouring town too (ask which part);
    "po_box" for box-only ZIPs (ask where they live); "outside" otherwise.

    A ZIP merely starting with 021 is not Boston (Cambridge is 02138-02142): exact list only.
    """
    return ZIP_OUTCOMES.get(cycle.residency.get(zip_code, ""), "outside")


@dataclass(frozen=True)
class ChoiceCheck:
    outcome: str                 # ok | too_many | duplicate | unknown | empty
    numbers: tuple[int, ...]     # the distinct valid numbers, in the order given
    problem: tuple[int, ...] = ()  # the numbers at fault


def check_choices(numbers: Sequence[int], cycle: CycleView) -> ChoiceCheck:
    """Judge a list of proposal numbers against the ballot: 1 to max_choices distinct known ones."""
    if not numbers:
        return ChoiceCheck("empty", ())
    unknown = tuple(n for n in numbers if cycle.proposal(n) is None)
    if unknown:
        return ChoiceCheck("unknown", (), unknown)
    distinct = tuple(dict.fromkeys(numbers))
    if len(distinct) != len(numbers):
        repeated = tuple(n for n in distinct if list(numbers).count(n) > 1)
        return ChoiceCheck("duplicate", distinct, repeated)
    if len(distinct) > cycle.max_choices:
        return ChoiceCheck("too_many", distinct)
    return ChoiceCheck("ok", distinct)
