"""What the dashboard shows about the PB rulebook: why an idea is not eligible, language names,
Boston's neighbourhoods by ZIP. Staff read English; residents' words stay in their language."""
from __future__ import annotations

import csv
from functools import cache
from importlib import resources

# The eligibility criteria of the PB Rulebook (docs/pb-process.md, "Eligibility of an idea"): an
# idea judged not eligible names the criteria it fails. Keys are stored; labels may be reworded.
NOT_ELIGIBLE_REASONS: dict[str, str] = {
    "not_one_time": "Not one-time spending (ongoing costs or new permanent positions)",
    "salaries": "Pays city employees' salaries",
    "not_city_property": "On private, state or federal property (e.g. DCR or MBTA)",
    "not_a_category": "Not a program, service, infrastructure, technology or community improvement",
    "not_feasible": "Not feasible, or against City policy, law, regulation or the PB ordinance",
    "no_city_department": "No City department or agency with a budget appropriation could carry it out",
    "harms_unequally": "More surveillance or policing that harms residents unequally",
}

ELIGIBILITY_LABELS = {"eligible": "Eligible", "not_eligible": "Not eligible", "follow_up": "Needs follow-up",
                      "unreviewed": "Not reviewed yet"}

# docs/interface.md, "Language tags"
LANGUAGE_NAMES = {"en": "English", "es": "Spanish", "ht": "Haitian Creole", "kea": "Cape Verdean Creole",
                  "zh-Hant": "Chinese (Traditional)", "zh-Hans": "Chinese (Simplified)", "vi": "Vietnamese",
                  "ru": "Russian", "pt": "Portuguese", "ar": "Arabic", "so": "Somali", "fr": "French"}
RIGHT_TO_LEFT = {"ar"}

CHANNEL_NAMES = {"voice": "Phone call", "sms": "Text message"}
STATUS_NAMES = {"received": "Received", "withdrawn": "Withdrawn by the caller"}


def language_name(tag: str) -> str:
    return LANGUAGE_NAMES.get(tag, tag)


@cache
def neighbourhoods() -> dict[str, tuple[str, ...]]:
    """Neighbourhood name -> its ZIP codes, from the city's ZIP list shipped with the app."""
    out: dict[str, list[str]] = {}
    with resources.files("hotline").joinpath("data/zip_lists/boston.csv").open(encoding="utf-8") as f:
        for row in csv.DictReader(f):
            name = (row.get("neighborhood") or "").strip()
            if name:
                out.setdefault(name, []).append(row["zip"].strip())
    return {name: tuple(zips) for name, zips in sorted(out.items())}


def neighbourhood_of(zip_code: str | None) -> str | None:
    if not zip_code:
        return None
    return next((name for name, zips in neighbourhoods().items() if zip_code in zips), None)
