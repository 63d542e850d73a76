"""What the CLI and the staff dashboard both publish: a cycle's results and the ideas export.

One function each, so `hotline results` and the dashboard's chart, and `hotline ideas export` and
the dashboard's CSV, can never disagree.
"""
from __future__ import annotations

from typing import Any

from hotline import tally
from store import ballots, ideas, recordings
from store.models import Cycle, Idea

EXPORT_FIELDS = ["ref_code", "created_at", "channel", "language", "status", "text", "text_source", "zip_code",
                 "recording_url", "recording_duration", "recording_status", "transcript_status",
                 "machine_transcript", "transcript_engine", "transcript_confidence", "transcript_language"]


def results(s: Any, cycle: Cycle) -> tally.Results:
    """Tally the cycle's ballots and decide which proposals it funds."""
    proposals = [tally.ProposalInfo(p.number, p.cost, p.title.get("en") or next(iter(p.title.values())))
                 for p in cycle.proposals]
    count = tally.count_votes(ballots.choice_lists(s, cycle.id), [p.number for p in proposals], cycle.max_choices)
    return tally.decide_funding(cycle.name, proposals, count, cycle.budget_cap, cycle.tie_rule)


def idea_rows(s: Any, items: list[Idea]) -> list[dict]:
    """One row per idea (`EXPORT_FIELDS`); `text` is the idea's current text
    (`store.ideas.current_texts`): the reviewed transcript, else the machine transcript, else the
    texted words. `items` should have their recordings loaded (`store.ideas.all_for_export`)."""
    texts = ideas.current_texts(s, items)
    rows = []
    for i in items:
        rec, t = i.recording, texts[i.id]
        rows.append({"ref_code": i.ref_code, "created_at": i.created_at.isoformat(timespec="seconds"),
                     "channel": i.channel, "language": i.language, "status": i.status, "text": t.text,
                     "text_source": t.source, "zip_code": i.zip_code or "",
                     "recording_url": rec.url if rec else "",
                     "recording_duration": rec.duration if rec else "",
                     "recording_status": rec.status if rec else "",
                     "transcript_status": recordings.describe(rec.pipeline, rec.last_error) if rec else "",
                     "machine_transcript": t.machine_text or "",
                     "transcript_engine": t.engine or "",
                     "transcript_confidence": t.confidence if t.confidence is not None else "",
                     "transcript_language": (t.language or "") if rec else ""})
    return rows
