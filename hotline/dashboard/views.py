"""Ideas: the inbox, one idea (listen, correct, judge, sort), its audio, the caller's number, the CSV."""
from __future__ import annotations

import csv
import io
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from flask import (Response, abort, flash, g, redirect, render_template, request, send_file, stream_with_context,
                   url_for)

from hotline import reports
from hotline.dashboard import bp, inbox, rulebook
from hotline.dashboard.auth import admin_only, current, db, hotline, log_action, signed_in, utcnow
from store import cycles, identity, ideas, recordings, review, transcripts
from store import staff as accounts
from store.review import Cursor, Judgement, StaleReview

OFFICE_TZ = ZoneInfo("America/New_York")
PAGE_SIZE = 50
LOW_CONFIDENCE = 0.80     # words the engine was less sure of than this are marked for the reviewer
EXCERPT = 180


def zone_of(cycle) -> ZoneInfo:
    """The cycle's time zone (the office's when there is no cycle, or it names none we know)."""
    try:
        return ZoneInfo(cycle.timezone) if cycle is not None else OFFICE_TZ
    except (KeyError, ValueError):
        return OFFICE_TZ


@bp.app_template_filter("local")
def local_time(value: datetime | None, fmt: str = "%b %-d, %Y %-I:%M %p") -> str:
    """A stored (naive UTC) time as the office reads it, in the cycle's time zone."""
    if value is None:
        return ""
    tz = g.get("tz", OFFICE_TZ)
    return value.replace(tzinfo=ZoneInfo("UTC")).astimezone(tz).strftime(fmt)


@bp.app_template_filter("excerpt")
def excerpt(text: str | None, width: int = EXCERPT) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"


def _inbox_query(s) -> tuple[inbox.InboxQuery, Any]:
    current_cycle = cycles.current(s)
    query = inbox.parse(request.args, zone_of(current_cycle), current_cycle.id if current_cycle else None)
    g.tz = zone_of(cycles.get(s, query.filters.cycle_id) if query.filters.cycle_id else current_cycle)
    return query, current_cycle


@bp.get("/ideas")
@signed_in
def ideas_inbox() -> Any:
    after, before = Cursor.decode(request.args.get("after")), Cursor.decode(request.args.get("before"))
    start = max(1, request.args.get("start", 1, type=int) or 1)
    with db().unit_of_work() as s:
        query, current_cycle = _inbox_query(s)
        f = review.resolve_search(s, query.filters)
        page = review.page(s, f, after=after, before=before, size=PAGE_SIZE)
        counts = review.counts(s, f)
        texts = ideas.current_texts(s, [r.idea for r in page.rows])
        names = review.priority_names(s, [r.idea.priority_id for r in page.rows])
        priorities = review.priorities(s, f.cycle_id)
        all_cycles = review.all_cycles(s)
    languages = sorted(set(counts.by["language"]) | set(hotline().languages), key=rulebook.language_name)
    if before is not None and after is None:
        start = max(1, start - PAGE_SIZE)
    return render_template("staff/inbox.html", query=query, page=page, counts=counts, texts=texts,
                           priorities=priorities, names=names, cycles=all_cycles, current_cycle=current_cycle,
                           languages=languages, start=start, page_size=PAGE_SIZE, rulebook=rulebook,
                           hoods=_hood_counts(counts.zips))


def _hood_counts(zip_counts: dict[str | None, int]) -> list[tuple[str, int]]:
    return [(name, sum(zip_counts.get(z, 0) for z in zips)) for name, zips in rulebook.neighbourhoods().items()]


EXPORT_CHUNK = 1000
EXTRA_FIELDS = ["priority", "eligibility", "not_eligible_because", "summary_en", "notes", "reviewed_by",
                "reviewed_at"]


@bp.get("/ideas.csv")
@signed_in
def ideas_csv() -> Response:
    """The ideas the inbox shows (every page), with staff's review beside each caller's words.

    Streamed a thousand ideas at a time, each thousand in its own short unit of work: 50,000 ideas
    never sit in memory at once, and no transaction stays open while the file downloads.
    """
    with db().unit_of_work() as s:
        query, _ = _inbox_query(s)
        f = review.resolve_search(s, query.filters)
        log_action(s, "ideas.export", None, {"filters": query.values})

    def lines():
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=[*reports.EXPORT_FIELDS, *EXTRA_FIELDS], lineterminator="\r\n")
        out.write("\ufeff")            # Excel opens UTF-8 as such only with the byte-order mark
        writer.writeheader()
        after = None
        while True:
            with db().unit_of_work() as s:
                chunk = review.page(s, f, after=after, size=EXPORT_CHUNK, with_recordings=True)
                rows = reports.idea_rows(s, [r.idea for r in chunk.rows])
                names = review.priority_names(s, [r.idea.priority_id for r in chunk.rows])
                for row, r in zip(rows, chunk.rows):
                    row.update(_review_columns(r.idea, r.review, names))
                    writer.writerow({k: _cell(v) for k, v in row.items()})
            yield out.getvalue()
            out.seek(0)
            out.truncate()
            if chunk.after is None:
                return
            after = chunk.after

    stamp = utcnow().strftime("%Y%m%d-%H%M")
    return Response(stream_with_context(lines()), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="pb-ideas-{stamp}.csv"'})


def _review_columns(idea, r, names: dict[int, str]) -> dict[str, Any]:
    """The export's columns for staff's review of `idea` (`r`: its IdeaReview, if any)."""
    out = dict.fromkeys(EXTRA_FIELDS, "")
    out.update(priority=names.get(idea.priority_id, "") if idea.priority_id else "", eligibility=idea.eligibility or "")
    if r is not None:
        out.update(not_eligible_because="; ".join(rulebook.NOT_ELIGIBLE_REASONS.get(k, k) for k in r.reasons),
                   summary_en=r.summary_en or "", notes=r.notes or "", reviewed_by=r.updated_by or "",
                   reviewed_at=r.updated_at.isoformat(timespec="seconds") if r.updated_at else "")
    return out


def _cell(value: Any) -> Any:
    """Keep a resident's words from running as a spreadsheet formula when staff open the file (OWASP CSV injection)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


# ---- one idea ----

def _marked_words(machine) -> list[dict[str, Any]]:
    """The machine transcript's words, each with whether to mark it (low confidence) and where it starts."""
    out = []
    for w in (machine.words or []) if machine else []:
        conf = w.get("confidence")
        out.append({"word": str(w.get("word", "")), "start": w.get("start"), "confidence": conf,
                    "low": conf is not None and conf < LOW_CONFIDENCE})
    return out


def _audio_state(rec) -> dict[str, Any]:
    """What the player shows: the file if it is kept, otherwise why not and what to do."""
    if rec is None:
        return {"kind": "none"}
    if rec.local_path and _audio_path(rec) is not None:
        return {"kind": "file", "seconds": rec.audio_seconds or rec.duration, "format": rec.format}
    if rec.local_path:
        return {"kind": "failed", "label": "the kept audio file is missing from the server"}
    if rec.pipeline in recordings.FAILED:
        return {"kind": "failed", "label": recordings.describe(rec.pipeline, rec.last_error)}
    return {"kind": "waiting", "label": recordings.describe(rec.pipeline, rec.last_error) or "not downloaded yet"}


def _audio_path(rec) -> Path | None:
    root = Path(hotline().config.recordings_dir).resolve()
    path = (root / rec.local_path).resolve()
    # local_path comes from our own pipeline, but a path that leaves the directory is never served.
    if root not in path.parents or not path.is_file():
        return None
    return path


def _idea_page(ref: str, *, form: dict[str, Any] | None = None, error: str | None = None,
               revealed: str | None = None, status: int = 200) -> Any:
    with db().unit_of_work() as s:
        item = ideas.by_ref(s, ref)
        if item is None:
            abort(404)
        query, current_cycle = _inbox_query(s)
        cycle = cycles.get(s, item.cycle_id) if item.cycle_id else current_cycle
        g.tz = zone_of(cycle)
        text = ideas.current_text(s, item)
        rows = transcripts.for_recordings(s, [item.recording_id]).get(item.recording_id, []) \
            if item.recording_id else []
        machine, reviewed = transcripts.machine(rows), transcripts.reviewed(rows)
        row = review.review_of(s, item.id)
        priorities = review.priorities(s, cycle.id if cycle else None)
        previous_ref, next_ref = review.neighbours(s, review.resolve_search(s, query.filters), item)
        caller = review.caller_of(s, item)
        number = _number_of(caller)
        masked = (identity.mask(number) if number else "unreadable (was SECRET_KEY changed?)") if caller else None
        history = accounts.events(s, limit=30, target=f"idea:{ref}")
        audio = _audio_state(item.recording)
    saved = {"transcript": text.text if item.recording_id else "", "summary_en": (row.summary_en if row else "") or "",
             "notes": (row.notes if row else "") or "", "priority": str(item.priority_id or ""),
             "eligibility": item.eligibility or "", "reasons": list(row.reasons) if row else [],
             "version": row.version if row else 0}
    return render_template(
        "staff/idea.html", idea=item, text=text, machine=machine, reviewed=reviewed,
        words=_marked_words(machine), low_confidence=LOW_CONFIDENCE, review=row, form={**saved, **(form or {})},
        priorities=priorities, cycle=cycle, previous_ref=previous_ref, next_ref=next_ref, query=query,
        masked_phone=masked, revealed=revealed, history=history, audio=audio, error=error,
        reasons=rulebook.NOT_ELIGIBLE_REASONS, rulebook=rulebook,
        neighbourhood=rulebook.neighbourhood_of(item.zip_code)), status


def _number_of(caller) -> str | None:
    """The caller's number, or None if it cannot be decrypted (the server's SECRET_KEY changed)."""
    try:
        return identity.decrypt_phone(hotline().config.secret_key, caller.phone_encrypted)
    except Exception:  # noqa: BLE001 — cryptography's InvalidToken and friends: show the page regardless
        return None


@bp.get("/ideas/<ref>")
@signed_in
def idea(ref: str) -> Any:
    return _idea_page(ref)


def _form_values() -> dict[str, Any]:
    form = request.form
    return {"transcript": form.get("transcript", ""), "summary_en": form.get("summary_en", ""),
            "notes": form.get("notes", ""), "priority": form.get("priority", ""),
            "eligibility": form.get("eligibility", ""), "reasons": form.getlist("reasons"),
            "version": form.get("version", type=int)}


@bp.post("/ideas/<ref>")
@signed_in
def idea_save(ref: str) -> Any:
    """Save the reviewer's transcript correction and judgement together; then this idea or the next."""
    values = _form_values()
    me = current()
    now = utcnow()
    try:
        with db().unit_of_work() as s:
            item = ideas.by_ref(s, ref)
            if item is None:
                abort(404)
            cycle = cycles.get(s, item.cycle_id) if item.cycle_id else cycles.current(s)
            allowed = {p.id for p in review.priorities(s, cycle.id if cycle else None)}
            priority_id = int(values["priority"]) if str(values["priority"]).isdigit() else None
            if priority_id is not None and priority_id not in allowed:
                raise ValueError("That priority is not one of this cycle's.")
            unknown = [r for r in values["reasons"] if r not in rulebook.NOT_ELIGIBLE_REASONS]
            if unknown:
                raise ValueError("Unknown reason: " + ", ".join(unknown))
            corrected = " ".join(values["transcript"].split())
            if item.recording_id is not None and "transcript" in request.form:
                before = ideas.current_text(s, item)
                if corrected and corrected != " ".join(before.text.split()):
                    transcripts.add_review(s, item, corrected, me.email, now)
                    log_action(s, "transcript.correct", f"idea:{ref}",
                               {"from": before.text[:2000], "to": corrected[:2000], "was": before.source})
            changed = review.save_review(
                s, item, Judgement(priority_id, values["eligibility"] or None, tuple(values["reasons"]),
                                   values["summary_en"], values["notes"]),
                me.email, now, seen_version=values["version"])
            if changed:
                log_action(s, "idea.review", f"idea:{ref}", _readable(changed, s))
    except StaleReview as e:
        values["version"] = _version_now(ref)
        return _idea_page(ref, form=values, status=409,
                          error=f"{e.by or 'Someone'} saved this idea while you were working on it, so nothing was "
                                "saved. Their version is in the history below; save again to replace it with yours.")
    except ValueError as e:
        return _idea_page(ref, form=values, error=str(e), status=400)
    flash("Saved.")
    back = request.form.get("back", "")
    target = request.form.get("go_next") and request.form.get("next_ref")
    return redirect(url_for("staff.idea", ref=target or ref) + (f"?{back}" if back else ""))


def _version_now(ref: str) -> int:
    with db().unit_of_work() as s:
        item = ideas.by_ref(s, ref)
        row = review.review_of(s, item.id) if item else None
        return row.version if row else 0


def _readable(changed: dict[str, Any], s) -> dict[str, Any]:
    """Audit detail with priority names, not ids (an id means nothing once the list changes)."""
    out = dict(changed)
    if "priority_id" in out:
        out["priority"] = {side: (review.priority(s, v).name if v and review.priority(s, v) else None)
                           for side, v in out.pop("priority_id").items()}
    return out


@bp.get("/ideas/<ref>/audio")
@signed_in
def idea_audio(ref: str) -> Any:
    """The kept recording, to signed-in staff only; Range requests are answered 206 so the player can seek."""
    with db().unit_of_work() as s:
        item = ideas.by_ref(s, ref)
        rec = item.recording if item else None
        path = _audio_path(rec) if rec is not None and rec.local_path else None
    if path is None:
        abort(404)
    response = send_file(path, mimetype="audio/wav", conditional=True, etag=True, max_age=0,
                         download_name=f"idea-{ref}.wav")
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.post("/ideas/<ref>/reveal")
@admin_only
def reveal_phone(ref: str) -> Any:
    """Show an admin the caller's full number, once, and log that they saw it."""
    reason = " ".join(request.form.get("reason", "").split())[:200]
    if not reason:
        return _idea_page(ref, error="Say why the number is needed (e.g. calling back about the idea).", status=400)
    with db().unit_of_work() as s:
        item = ideas.by_ref(s, ref)
        if item is None:
            abort(404)
        caller = review.caller_of(s, item)
        if caller is None:
            return _idea_page(ref, error="This idea came from a withheld number.", status=400)
        number = _number_of(caller)
        if number is None:
            return _idea_page(ref, error="The number cannot be decrypted with this server's SECRET_KEY.", status=500)
        log_action(s, "phone.reveal", f"idea:{ref}", {"reason": reason})
    return _idea_page(ref, revealed=number)
