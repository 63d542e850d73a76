"""Staff review of ideas: priorities, eligibility, summaries and notes, and the inbox (filters,
search, counts, pages) that stays fast at 50,000 ideas (bench/inbox_bench.py)."""
from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Integer, any_, bindparam, func, or_, select, tuple_, union, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session, selectinload

from store.models import Ballot, Cycle, Idea, IdeaReview, Participant, Priority, Proposal, Transcript

ELIGIBLE, NOT_ELIGIBLE, FOLLOW_UP, UNREVIEWED = "eligible", "not_eligible", "follow_up", "unreviewed"
JUDGEMENTS = (ELIGIBLE, NOT_ELIGIBLE, FOLLOW_UP)
NO_PRIORITY = 0          # the priority filter's value for "not sorted yet"
MAX_TERMS = 6


class StaleReview(Exception):
    """Someone else saved this idea's review after the form was opened; `by` is who."""

    def __init__(self, by: str | None) -> None:
        super().__init__(by)
        self.by = by


# ---- priorities ----

def priorities(s: Session, cycle_id: int | None) -> list[Priority]:
    if cycle_id is None:
        return []
    return list(s.scalars(select(Priority).where(Priority.cycle_id == cycle_id)
                          .order_by(Priority.position, Priority.id)))


def priority(s: Session, priority_id: int) -> Priority | None:
    return s.get(Priority, priority_id)


def add_priority(s: Session, cycle_id: int, name: str, description: str | None = None,
                 proposal_number: int | None = None) -> Priority:
    """:raises ValueError: an empty name, or one the cycle has already."""
    name = " ".join(name.split())
    if not name:
        raise ValueError("a priority needs a name")
    if s.scalar(select(Priority.id).where(Priority.cycle_id == cycle_id, func.lower(Priority.name) == name.lower())):
        raise ValueError(f"this cycle already has a priority named {name!r}")
    last = s.scalar(select(func.max(Priority.position)).where(Priority.cycle_id == cycle_id))
    row = Priority(cycle_id=cycle_id, name=name, description=(description or "").strip() or None,
                   proposal_number=proposal_number, position=(last or 0) + 1)
    s.add(row)
    s.flush()
    return row


def update_priority(s: Session, row: Priority, name: str, description: str | None,
                    proposal_number: int | None) -> dict[str, Any]:
    """Rename or re-describe a priority; return what changed (for the audit log)."""
    name = " ".join(name.split())
    if not name:
        raise ValueError("a priority needs a name")
    clash = s.scalar(select(Priority.id).where(Priority.cycle_id == row.cycle_id, Priority.id != row.id,
                                               func.lower(Priority.name) == name.lower()))
    if clash:
        raise ValueError(f"this cycle already has a priority named {name!r}")
    new = {"name": name, "description": (description or "").strip() or None, "proposal_number": proposal_number}
    changed = {k: v for k, v in new.items() if getattr(row, k) != v}
    for k, v in changed.items():
        setattr(row, k, v)
    return changed


def move_priority(s: Session, row: Priority, step: int) -> None:
    """Swap a priority with its neighbour above (-1) or below (+1)."""
    rows = priorities(s, row.cycle_id)
    i = next(k for k, r in enumerate(rows) if r.id == row.id)
    j = i + step
    if 0 <= j < len(rows):
        rows[i], rows[j] = rows[j], rows[i]
    for position, r in enumerate(rows, start=1):
        r.position = position


def remove_priority(s: Session, row: Priority) -> int:
    """Delete a priority; its ideas go back to "not sorted". Returns how many ideas that was."""
    n = s.scalar(select(func.count()).select_from(Idea).where(Idea.priority_id == row.id)) or 0
    s.execute(update(Idea).where(Idea.priority_id == row.id).values(priority_id=None))
    s.delete(row)
    s.flush()
    return n


def seed_priorities(s: Session, cycle_id: int) -> int:
    """Start a cycle's priority list from its ballot (one priority per proposal, as the PB process
    drafts one proposal per priority); return how many were added."""
    proposals = s.scalars(select(Proposal).where(Proposal.cycle_id == cycle_id).order_by(Proposal.number))
    have = {p.name.lower() for p in priorities(s, cycle_id)}
    added = 0
    for p in proposals:
        name = " ".join(str(p.title.get("en") or next(iter(p.title.values()), "")).split())
        if name and name.lower() not in have:
            add_priority(s, cycle_id, name, proposal_number=p.number)
            have.add(name.lower())
            added += 1
    return added


def idea_counts_by_priority(s: Session, cycle_id: int) -> dict[int, int]:
    rows = s.execute(select(Idea.priority_id, func.count()).where(Idea.cycle_id == cycle_id, Idea.priority_id.is_not(None))
                     .group_by(Idea.priority_id))
    return {pid: n for pid, n in rows}


# ---- one idea's review ----

def review_of(s: Session, idea_id: int) -> IdeaReview | None:
    return s.get(IdeaReview, idea_id)


def priority_names(s: Session, ids: Sequence[int | None]) -> dict[int, str]:
    """The names of these priorities (an id whose priority is gone is left out)."""
    wanted = {i for i in ids if i}
    if not wanted:
        return {}
    return dict(s.execute(select(Priority.id, Priority.name).where(Priority.id.in_(wanted))).all())


def reviews_of(s: Session, idea_ids: Sequence[int]) -> dict[int, IdeaReview]:
    if not idea_ids:
        return {}
    return {r.idea_id: r for r in s.scalars(select(IdeaReview).where(IdeaReview.idea_id.in_(list(idea_ids))))}


@dataclass(frozen=True)
class Judgement:
    """What a reviewer decided about an idea (everything the idea page's form saves but the transcript)."""

    priority_id: int | None
    eligibility: str | None
    reasons: tuple[str, ...] = ()
    summary_en: str | None = None
    notes: str | None = None


def save_review(s: Session, idea: Idea, judgement: Judgement, by: str, now: datetime,
                seen_version: int | None = None) -> dict[str, Any]:
    """Keep the judgement; return the fields that changed, old and new (for the audit log).

    :param seen_version: the review's version when the form was opened; if someone saved since,
        nothing is written and `StaleReview` is raised, so no one's work is silently lost.
    :raises ValueError: an unknown eligibility, or reasons given for an idea not judged ineligible.
    """
    if judgement.eligibility not in (None, *JUDGEMENTS):
        raise ValueError(f"eligibility must be one of {', '.join(JUDGEMENTS)}")
    reasons = list(dict.fromkeys(judgement.reasons)) if judgement.eligibility == NOT_ELIGIBLE else []
    if judgement.eligibility == NOT_ELIGIBLE and not reasons:
        raise ValueError("say which of the rulebook's criteria the idea does not meet")
    row = s.get(IdeaReview, idea.id, with_for_update=True)
    if row is None:
        row = IdeaReview(idea_id=idea.id, reasons=[], version=0)
        s.add(row)
    elif seen_version is not None and row.version != seen_version:
        raise StaleReview(row.updated_by)
    before = {"priority_id": idea.priority_id, "eligibility": idea.eligibility, "reasons": list(row.reasons or []),
              "summary_en": row.summary_en, "notes": row.notes}
    new = {"priority_id": judgement.priority_id, "eligibility": judgement.eligibility, "reasons": reasons,
           "summary_en": (judgement.summary_en or "").strip() or None, "notes": (judgement.notes or "").strip() or None}
    changed = {k: {"from": before[k], "to": v} for k, v in new.items() if before[k] != v}
    if changed:
        idea.priority_id, idea.eligibility = new["priority_id"], new["eligibility"]
        row.reasons, row.summary_en, row.notes = new["reasons"], new["summary_en"], new["notes"]
        row.version = (row.version or 0) + 1
        row.updated_by, row.updated_at = by, now
    s.flush()
    return changed


# ---- the inbox ----

@dataclass(frozen=True)
class Filters:
    """What the inbox shows. Dates are UTC bounds (`created_from` inclusive, `created_to` exclusive);
    `zips` is a neighbourhood or ZIP already turned into ZIP codes by the caller."""

    cycle_id: int | None = None
    status: str | None = None
    review: str | None = None          # unreviewed | eligible | not_eligible | follow_up
    language: str | None = None
    channel: str | None = None
    priority_id: int | None = None     # NO_PRIORITY: not sorted yet
    created_from: datetime | None = None
    created_to: datetime | None = None
    zips: tuple[str, ...] | None = None
    search: str = ""
    oldest_first: bool = False
    ids: tuple[int, ...] | None = None  # the search already run (`resolve_search`): these ideas match it
    ids_as_array: bool = False          # PostgreSQL: send `ids` as one array parameter


FACETS = ("status", "review", "language", "channel", "priority")


def _like(term: str) -> str:
    return "%" + term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _terms(search: str) -> list[str]:
    return list(dict.fromkeys(t.lower() for t in search.split()))[:MAX_TERMS]


def _matching(term: str):
    """Ideas whose texts, transcripts (machine or reviewed), summary or notes contain `term`, or
    whose reference code it is. One id set per source, so each can use its own (trigram) index."""
    pattern = _like(term)
    sources = [
        select(Idea.id).where(func.lower(Idea.text).like(pattern, escape="\\")),
        select(Idea.id).join(Transcript, Transcript.recording_id == Idea.recording_id)
        .where(func.lower(Transcript.text).like(pattern, escape="\\")),
        select(IdeaReview.idea_id).where(or_(func.lower(IdeaReview.summary_en).like(pattern, escape="\\"),
                                             func.lower(IdeaReview.notes).like(pattern, escape="\\"))),
    ]
    if term.replace("-", "").isdigit():
        sources.append(select(Idea.id).where(Idea.ref_code == term.replace("-", "")))
    return union(*sources)


def _conditions(f: Filters, skip: str | None = None) -> list[ColumnElement]:
    """The WHERE clauses for `f` (on `ideas` alone); `skip` leaves one facet out."""
    out: list[ColumnElement] = []
    if f.cycle_id is not None:
        out.append(Idea.cycle_id == f.cycle_id)
    if f.status and skip != "status":
        out.append(Idea.status == f.status)
    if f.language and skip != "language":
        out.append(Idea.language == f.language)
    if f.channel and skip != "channel":
        out.append(Idea.channel == f.channel)
    if f.review and skip != "review":
        out.append(Idea.eligibility.is_(None) if f.review == UNREVIEWED else Idea.eligibility == f.review)
    if f.priority_id is not None and skip != "priority":
        out.append(Idea.priority_id.is_(None) if f.priority_id == NO_PRIORITY else Idea.priority_id == f.priority_id)
    if f.created_from is not None:
        out.append(Idea.created_at >= f.created_from)
    if f.created_to is not None:
        out.append(Idea.created_at < f.created_to)
    if f.zips is not None and skip != "zip":
        out.append(Idea.zip_code.in_(f.zips))      # an empty tuple matches nothing
    if f.ids is not None and f.ids_as_array:
        out.append(Idea.id == any_(bindparam("search_ids", list(f.ids), type_=ARRAY(Integer), unique=True)))
    elif f.ids is not None:
        out.append(Idea.id.in_(f.ids))          # an empty tuple matches nothing
    else:
        for term in _terms(f.search):
            out.append(Idea.id.in_(_matching(term)))
    return out


MAX_RESOLVED = 30_000     # below SQLite's 32,766 parameters a statement; PostgreSQL takes one array


def resolve_search(s: Session, f: Filters) -> Filters:
    """Run the search once and carry its result as ids, so that the page and the counts do not each
    search the texts again. A search matching more than MAX_RESOLVED ideas stays a subquery."""
    terms = _terms(f.search)
    if not terms or f.ids is not None:
        return f
    q = select(Idea.id).where(*(Idea.id.in_(_matching(term)) for term in terms))
    if f.cycle_id is not None:
        q = q.where(Idea.cycle_id == f.cycle_id)
    ids = list(s.scalars(q.limit(MAX_RESOLVED + 1)))
    if len(ids) > MAX_RESOLVED:
        return f
    # A list of thousands of parameters costs PostgreSQL more than the search did; one array does not.
    return replace(f, ids=tuple(ids), ids_as_array=s.get_bind().dialect.name == "postgresql")


def _from_ideas(*columns):
    return select(*columns).select_from(Idea)


@dataclass(frozen=True)
class Cursor:
    """Where a page starts: the (created_at, id) of the row just before it in the inbox's order."""

    created_at: datetime
    id: int

    def encode(self) -> str:
        return f"{self.created_at.strftime('%Y%m%dT%H%M%S.%f')}_{self.id}"

    @classmethod
    def decode(cls, value: str | None) -> "Cursor | None":
        """None for anything that is not a cursor (a hand-edited URL starts again at the top)."""
        try:
            stamp, ident = (value or "").split("_", 1)
            return cls(datetime.strptime(stamp, "%Y%m%dT%H%M%S.%f"), int(ident))
        except ValueError:
            return None


@dataclass(frozen=True)
class InboxRow:
    idea: Idea
    review: IdeaReview | None


@dataclass(frozen=True)
class Page:
    rows: list[InboxRow]
    before: Cursor | None     # the page before this one starts after this (None: this is the first)
    after: Cursor | None      # the next page starts after this (None: this is the last)


def _order(oldest_first: bool, backwards: bool):
    ascending = oldest_first != backwards
    return (Idea.created_at.asc(), Idea.id.asc()) if ascending else (Idea.created_at.desc(), Idea.id.desc())


def _past(cursor: Cursor, oldest_first: bool, backwards: bool) -> ColumnElement:
    key, at = tuple_(Idea.created_at, Idea.id), tuple_(cursor.created_at, cursor.id)
    return key > at if oldest_first != backwards else key < at


def page(s: Session, f: Filters, after: Cursor | None = None, before: Cursor | None = None,
         size: int = 50, with_recordings: bool = False) -> Page:
    """One page of the inbox, newest first (or oldest first): the ideas after `after`, or the page
    that ends just before `before` (paging back). Keyset paging: page 1,000 costs what page 1 does."""
    backwards = before is not None and after is None
    q = (select(Idea, IdeaReview).outerjoin(IdeaReview, IdeaReview.idea_id == Idea.id).where(*_conditions(f))
         .order_by(*_order(f.oldest_first, backwards)))
    if with_recordings:
        q = q.options(selectinload(Idea.recording))
    cursor = before if backwards else after
    if cursor is not None:
        q = q.where(_past(cursor, f.oldest_first, backwards))
    got = list(s.execute(q.limit(size + 1)))
    more = len(got) > size
    got = got[:size]
    if backwards:
        got.reverse()
    rows = [InboxRow(idea, review) for idea, review in got]
    first = Cursor(rows[0].idea.created_at, rows[0].idea.id) if rows else None
    last = Cursor(rows[-1].idea.created_at, rows[-1].idea.id) if rows else None
    if backwards:
        return Page(rows, first if more else None, last)
    has_after = more
    return Page(rows, first if cursor is not None else None, last if has_after else None)


def neighbours(s: Session, f: Filters, idea: Idea) -> tuple[str | None, str | None]:
    """The reference codes of the ideas before and after `idea` in the inbox as filtered."""
    here = Cursor(idea.created_at, idea.id)
    refs = []
    for backwards in (True, False):
        q = (_from_ideas(Idea.ref_code).where(*_conditions(f), _past(here, f.oldest_first, backwards))
             .order_by(*_order(f.oldest_first, backwards)).limit(1))
        refs.append(s.scalar(q))
    return refs[0], refs[1]


@dataclass(frozen=True)
class Counts:
    """How many ideas match, and per facet value how many would match with that value chosen
    instead (each facet's counts ignore the facet's own filter, as shoppers expect)."""

    total: int
    by: dict[str, dict[Any, int]] = field(default_factory=dict)
    zips: dict[str | None, int] = field(default_factory=dict)


def counts(s: Session, f: Filters) -> Counts:
    """Counts per filter in two queries over ix_ideas_facets alone (no table rows are read):

    - grouped by every facet at once (a few hundred rows, even at 50,000 ideas), then folded here:
      a row that misses one facet's filter counts for that facet only; a row that misses none
      counts for every facet and the total;
    - grouped by ZIP, every filter but the ZIP applied (the neighbourhood list).
    """
    # In the order of ix_ideas_facets, so the grouping follows the index instead of sorting.
    columns = (Idea.status, Idea.language, Idea.channel, Idea.eligibility, Idea.priority_id)
    grouped = (_from_ideas(*columns, func.count())
               .where(*_conditions(replace(f, status=None, review=None, language=None, channel=None,
                                           priority_id=None)))
               .group_by(*columns))
    wanted = (f.status, f.language, f.channel, f.review, f.priority_id)
    names = ("status", "language", "channel", "review", "priority")
    by: dict[str, Counter] = {name: Counter() for name in names}
    total = 0
    connection = s.connection()      # plain rows: no ORM loading for a few hundred tuples
    for status, language, channel, eligibility, priority_id, n in connection.execute(grouped):
        values = (status, language, channel, eligibility or UNREVIEWED, priority_id or NO_PRIORITY)
        misses = [k for k, want in enumerate(wanted) if want is not None and want != values[k]]
        if not misses:
            total += n
            for name, value in zip(names, values):
                by[name][value] += n
        elif len(misses) == 1:
            by[names[misses[0]]][values[misses[0]]] += n
    zips = dict(connection.execute(_from_ideas(Idea.zip_code, func.count()).where(*_conditions(f, skip="zip"))
                                   .group_by(Idea.zip_code)).all())
    return Counts(total, {name: dict(c) for name, c in by.items()}, zips)


# ---- what an idea page needs besides the idea ----

def all_cycles(s: Session) -> list[Cycle]:
    """Every cycle, the newest loaded first."""
    return list(s.scalars(select(Cycle).order_by(Cycle.loaded_at.desc(), Cycle.id.desc())))


def caller_of(s: Session, idea: Idea) -> Participant | None:
    """Who left the idea (their number only encrypted: `store.identity`); None for anonymous callers."""
    return s.get(Participant, idea.participant_id) if idea.participant_id is not None else None


# ---- the ballot's wording, as staff fix it (translations, costs before voting) ----

def proposal(s: Session, cycle_id: int, number: int) -> Proposal | None:
    return s.scalar(select(Proposal).where(Proposal.cycle_id == cycle_id, Proposal.number == number))


def ballots_cast(s: Session, cycle_id: int) -> int:
    return s.scalar(select(func.count()).select_from(Ballot).where(Ballot.cycle_id == cycle_id)) or 0


def update_proposal(s: Session, row: Proposal, titles: dict[str, str], cost: int | None) -> dict[str, Any]:
    """Set a proposal's titles (a language left empty is removed) and cost; return what changed.

    :raises ValueError: no English title, a negative cost, or a cost or English title changed once
        ballots are cast (voters chose what they were shown: `store.cycles` refuses the same).
    """
    titles = {lang: " ".join(text.split()) for lang, text in titles.items() if text and text.strip()}
    if not titles.get("en"):
        raise ValueError("every proposal needs an English title (other languages fall back to it)")
    if cost is not None and cost < 0:
        raise ValueError("a cost cannot be negative")
    voted = ballots_cast(s, row.cycle_id) > 0
    if voted and ((cost is not None and cost != row.cost) or titles["en"] != row.title.get("en")):
        raise ValueError("ballots are already cast: the cost and the English title can no longer change")
    changed: dict[str, Any] = {}
    if titles != row.title:
        changed["title"] = {"from": dict(row.title), "to": titles}
        row.title = titles
    if cost is not None and cost != row.cost:
        changed["cost"] = {"from": row.cost, "to": cost}
        row.cost = cost
    return changed
