"""Cycle files (YAML, see docs/interface.md, "Cycle file"): read, check and turn into a `CycleSpec`."""
from __future__ import annotations

import csv
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from hotline.tally import DEFAULT_RULE, RULES

ZIP_LISTS = Path(__file__).parent / "data" / "zip_lists"
DEMO = Path(__file__).parent / "data" / "demo-cycle.yaml"


class CycleFileError(ValueError):
    """The cycle file cannot be used; the message names the field to fix."""


@dataclass(frozen=True)
class ProposalSpec:
    number: int
    cost: int
    title: dict[str, str]
    description: dict[str, str]


@dataclass(frozen=True)
class CycleSpec:
    name: str
    timezone: str
    ideas_open: datetime          # naive UTC
    ideas_close: datetime
    voting_open: datetime
    voting_close: datetime
    budget_cap: int
    max_choices: int
    min_age: int
    min_grade: int | None
    residency: dict[str, str]
    tie_rule: str
    proposals: tuple[ProposalSpec, ...]
    warnings: tuple[str, ...] = field(default=())


def zip_list(name: str) -> dict[str, str]:
    """Read a named ZIP list shipped with the app (hotline/data/zip_lists/NAME.csv)."""
    path = ZIP_LISTS / f"{name}.csv"
    if not path.exists():
        known = ", ".join(sorted(p.stem for p in ZIP_LISTS.glob("*.csv")))
        raise CycleFileError(f"residency_zip_codes: no ZIP list named {name!r} (known: {known}); "
                             "give a list of ZIP codes instead")
    with path.open(encoding="utf-8") as f:
        return {row["zip"].strip(): row["kind"].strip() for row in csv.DictReader(f)}


def _utc(value: Any, tz: ZoneInfo, name: str) -> datetime:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise CycleFileError(f"cycle.{name}: {value!r} is not a date and time like 2025-01-15T00:00:00")
    if not isinstance(value, datetime):
        raise CycleFileError(f"cycle.{name}: a date and time is required")
    local = value if value.tzinfo else value.replace(tzinfo=tz)
    return local.astimezone(ZoneInfo("UTC")).replace(tzinfo=None)


def _texts(value: Any, where: str) -> dict[str, str]:
    if isinstance(value, str):
        return {"en": value}
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise CycleFileError(f"{where}: give texts per language, e.g. {{en: \"…\", es: \"…\"}}")
    return {str(k): v.strip() for k, v in value.items()}


def parse(data: Any, languages: tuple[str, ...], now: datetime | None = None) -> CycleSpec:
    """Check a loaded cycle file and return its spec.

    :param languages: the line's languages; missing proposal translations become warnings.
    :param now: when given, the windows are moved so that ideas and voting are both open
        (the demo cycle), keeping the file's dates otherwise.
    :raises CycleFileError: naming what to fix.
    """
    if not isinstance(data, dict) or not isinstance(data.get("cycle"), dict):
        raise CycleFileError("the file needs a `cycle:` section and a `proposals:` list")
    c = data["cycle"]
    for key in ("name", "timezone", "ideas_open", "ideas_close", "voting_open", "voting_close", "budget_cap"):
        if key not in c:
            raise CycleFileError(f"cycle.{key} is missing")
    try:
        tz = ZoneInfo(str(c["timezone"]))
    except (ZoneInfoNotFoundError, ValueError):
        raise CycleFileError(f"cycle.timezone: {c['timezone']!r} is not a time zone like America/New_York")
    windows = {k: _utc(c[k], tz, k) for k in ("ideas_open", "ideas_close", "voting_open", "voting_close")}
    if now is not None:
        windows = {"ideas_open": now - timedelta(days=1), "ideas_close": now + timedelta(days=365),
                   "voting_open": now - timedelta(days=1), "voting_close": now + timedelta(days=365)}
    if windows["ideas_open"] >= windows["ideas_close"] or windows["voting_open"] >= windows["voting_close"]:
        raise CycleFileError("cycle: each window must open before it closes")
    zips = c.get("residency_zip_codes", "boston")
    residency = zip_list(zips) if isinstance(zips, str) else {str(z).zfill(5): "residential" for z in zips}
    rule = c.get("tie_rule", DEFAULT_RULE)
    if rule not in RULES:
        raise CycleFileError(f"cycle.tie_rule: {rule!r} is not one of {', '.join(RULES)}")
    max_choices = int(c.get("max_choices", 5))
    raw = data.get("proposals") or []
    if not isinstance(raw, list) or not raw:
        raise CycleFileError("proposals: at least one proposal is needed")
    proposals, untitled, seen = [], {}, set()
    for i, p in enumerate(raw, start=1):
        where = f"proposals[{i}]"
        if not isinstance(p, dict) or "number" not in p or "cost" not in p or "title" not in p:
            raise CycleFileError(f"{where}: needs number, cost and title")
        number, cost = int(p["number"]), int(p["cost"])
        if number in seen or number < 1:
            raise CycleFileError(f"{where}: number {number} is repeated or not positive")
        if cost < 0:
            raise CycleFileError(f"{where}: cost must not be negative")
        seen.add(number)
        title = _texts(p["title"], f"{where}.title")
        if "en" not in title:
            raise CycleFileError(f"{where}.title: an English title is required (it is the fallback)")
        description = _texts(p.get("description", {}), f"{where}.description")
        missing = tuple(lang for lang in languages if lang not in title)
        if missing:
            untitled.setdefault(missing, []).append(number)
        proposals.append(ProposalSpec(number, cost, title, description))
    if max_choices < 1 or max_choices > len(proposals):
        raise CycleFileError(f"cycle.max_choices: must be between 1 and the number of proposals ({len(proposals)})")
    return CycleSpec(
        name=str(c["name"]), timezone=str(c["timezone"]), budget_cap=int(c["budget_cap"]),
        max_choices=max_choices, min_age=int(c.get("min_age", 11)),
        min_grade=int(c["min_grade"]) if c.get("min_grade") is not None else None,
        residency=residency, tie_rule=rule, proposals=tuple(sorted(proposals, key=lambda p: p.number)),
        warnings=tuple(f"{_proposals(numbers)}: no title in {', '.join(missing)}; English will be used"
                       for missing, numbers in untitled.items()), **windows)


def _proposals(numbers: list[int]) -> str:
    """"proposal 4", "proposals 1–15" or "proposals 2, 5–7": one warning line per missing set."""
    numbers = sorted(numbers)
    runs: list[list[int]] = []
    for n in numbers:
        if runs and n == runs[-1][-1] + 1:
            runs[-1].append(n)
        else:
            runs.append([n])
    spans = ", ".join(str(r[0]) if len(r) == 1 else f"{r[0]}–{r[-1]}" for r in runs)
    return f"proposal{'s' if len(numbers) > 1 else ''} {spans}"


def read(path: Path, languages: tuple[str, ...], now: datetime | None = None) -> CycleSpec:
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as e:
        raise CycleFileError(f"cannot read {path}: {e}")
    return parse(data, languages, now)
