"""The inbox's URL: query arguments to `store.review.Filters` and back, so that a filtered view can
be bookmarked, shared with a colleague, and carried to an idea and back (for next/previous)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Mapping
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from hotline.dashboard import rulebook
from store.review import JUDGEMENTS, NO_PRIORITY, UNREVIEWED, Filters

FIELDS = ("cycle", "q", "status", "review", "lang", "channel", "priority", "from", "to", "hood", "zip", "sort")
ALL_CYCLES = "all"


@dataclass(frozen=True)
class InboxQuery:
    filters: Filters
    values: dict[str, str]          # what the form shows (only the arguments that were understood)

    def args(self, **overrides: str | None) -> str:
        """The query string for these filters (plus paging arguments), empty values left out."""
        merged = {**self.values, **overrides}
        return urlencode({k: v for k, v in merged.items() if v})


def _day(value: str) -> date | None:
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def _utc(day: date, tz: ZoneInfo) -> datetime:
    """Midnight of `day` where the office is, as the naive UTC the database keeps."""
    return datetime.combine(day, time(0), tz).astimezone(timezone.utc).replace(tzinfo=None)


def parse(args: Mapping[str, str], tz: ZoneInfo, default_cycle: int | None) -> InboxQuery:
    """Read the inbox's arguments; anything not understood is ignored rather than refused."""
    raw = {k: (args.get(k) or "").strip() for k in FIELDS}
    values: dict[str, str] = {}
    cycle_id: int | None = default_cycle
    if raw["cycle"] == ALL_CYCLES:
        cycle_id, values["cycle"] = None, ALL_CYCLES
    elif raw["cycle"].isdigit():
        cycle_id = int(raw["cycle"])
        values["cycle"] = raw["cycle"]
    for key in ("status", "lang", "channel"):
        if raw[key]:
            values[key] = raw[key][:32]
    review = raw["review"] if raw["review"] in (*JUDGEMENTS, UNREVIEWED) else None
    if review:
        values["review"] = review
    priority_id = None
    if raw["priority"] == "none":
        priority_id, values["priority"] = NO_PRIORITY, "none"
    elif raw["priority"].isdigit():
        priority_id, values["priority"] = int(raw["priority"]), raw["priority"]
    start, end = _day(raw["from"]), _day(raw["to"])
    if start:
        values["from"] = start.isoformat()
    if end:
        values["to"] = end.isoformat()
    zips: tuple[str, ...] | None = None
    if raw["hood"] in rulebook.neighbourhoods():
        zips, values["hood"] = rulebook.neighbourhoods()[raw["hood"]], raw["hood"]
    if raw["zip"]:
        wanted = tuple(z for z in raw["zip"].replace(",", " ").split() if z.isdigit() and len(z) == 5)
        if wanted:
            zips = tuple(sorted(set(wanted) & set(zips))) if zips is not None else wanted
            values["zip"] = " ".join(wanted)
    if raw["q"]:
        values["q"] = raw["q"][:200]
    oldest = raw["sort"] == "oldest"
    if oldest:
        values["sort"] = "oldest"
    filters = Filters(cycle_id=cycle_id, status=values.get("status"), review=review, language=values.get("lang"),
                      channel=values.get("channel"), priority_id=priority_id,
                      created_from=_utc(start, tz) if start else None,
                      created_to=_utc(end + timedelta(days=1), tz) if end else None,
                      zips=zips, search=values.get("q", ""), oldest_first=oldest)
    return InboxQuery(filters, values)
