"""The ballot side, for admins: cycles (windows, cap, rules), proposals in every language, live
turnout, and results with the funding line. Nothing here can tie a ballot to a phone number:
ballots carry only a keyed voter hash, which no page or file shows (tests check it)."""
from __future__ import annotations

from typing import Any

from flask import Response, abort, flash, g, redirect, render_template, request, url_for

from hotline import reports, tally
from hotline.dashboard import bp, charts, rulebook
from hotline.dashboard.auth import admin_only, db, hotline, log_action, utcnow
from hotline.dashboard.views import zone_of
from store import ballots, cycles, review

CHANNELS = ["voice", "sms"]


def _cycle_or_404(s, cycle_id: int):
    cycle = cycles.get(s, cycle_id)
    if cycle is None:
        abort(404)
    g.tz = zone_of(cycle)
    return cycle


def _turnout(s, cycle_id: int) -> dict[str, Any]:
    raw = ballots.turnout(s, cycle_id)
    by_day: dict[str, dict[str, int]] = {}
    for (day, channel), n in raw.items():
        by_day.setdefault(day, {})[channel] = n
    channels = CHANNELS + sorted({c for _, c in raw} - set(CHANNELS))
    by_channel = {c: sum(n for (_, ch), n in raw.items() if ch == c) for c in channels}
    return {"by_day": dict(sorted(by_day.items())), "channels": channels, "by_channel": by_channel,
            "total": sum(raw.values()), "chart": charts.turnout_chart(by_day, channels), "as_of": utcnow()}


def _window_state(cycle, now) -> dict[str, str]:
    def state(opens, closes) -> str:
        return "not open yet" if now < opens else "open now" if now <= closes else "closed"
    return {"ideas": state(cycle.ideas_open, cycle.ideas_close), "voting": state(cycle.voting_open, cycle.voting_close)}


@bp.get("/ballot")
@admin_only
def ballot_home() -> Any:
    with db().unit_of_work() as s:
        cycle = cycles.current(s)
        everything = review.all_cycles(s)
    if cycle is None:
        return render_template("staff/cycles.html", cycles=everything)
    return redirect(url_for("staff.cycle_page", cycle_id=cycle.id))


@bp.get("/ballot/cycles")
@admin_only
def cycle_list() -> Any:
    with db().unit_of_work() as s:
        everything = review.all_cycles(s)
        current = cycles.current(s)
    return render_template("staff/cycles.html", cycles=everything, current=current)


@bp.get("/ballot/<int:cycle_id>")
@admin_only
def cycle_page(cycle_id: int) -> Any:
    languages = list(hotline().languages)
    with db().unit_of_work() as s:
        cycle = _cycle_or_404(s, cycle_id)
        proposals = list(cycle.proposals)
        turnout = _turnout(s, cycle.id)
        residency = cycle.residency or {}
        current = cycles.current(s)
    missing = {p.number: [lang for lang in languages if not (p.title.get(lang) or "").strip()] for p in proposals}
    return render_template(
        "staff/cycle.html", cycle=cycle, proposals=proposals, languages=languages, missing=missing,
        turnout=turnout, windows=_window_state(cycle, utcnow()), is_current=current is not None and current.id == cycle.id,
        residency_count=len(residency), rule_text=_rule_text(cycle.tie_rule), rulebook=rulebook,
        missing_total=sum(len(v) for v in missing.values()))


def _rule_text(rule: str) -> str:
    try:
        return tally.describe_rule(rule)
    except tally.UnknownRule as e:
        return str(e)


@bp.get("/ballot/<int:cycle_id>/turnout")
@admin_only
def turnout_fragment(cycle_id: int) -> Any:
    """The turnout section alone: the cycle page fetches it every 30 s while open."""
    with db().unit_of_work() as s:
        cycle = _cycle_or_404(s, cycle_id)
        turnout = _turnout(s, cycle.id)
    return render_template("staff/_turnout.html", cycle=cycle, turnout=turnout)


@bp.post("/ballot/<int:cycle_id>/proposals/<int:number>")
@admin_only
def proposal_save(cycle_id: int, number: int) -> Any:
    languages = list(hotline().languages)
    titles = {lang: request.form.get(f"title_{lang}", "") for lang in languages}
    raw_cost = request.form.get("cost", "").replace(",", "").replace("$", "").strip()
    with db().unit_of_work() as s:
        cycle = _cycle_or_404(s, cycle_id)
        row = review.proposal(s, cycle.id, number)
        if row is None:
            abort(404)
        # Titles in languages the line does not serve (kept in the cycle file) are left as they are.
        titles = {**{k: v for k, v in row.title.items() if k not in languages}, **titles}
        try:
            if raw_cost and not raw_cost.isdigit():
                raise ValueError("the cost is whole dollars, e.g. 150000")
            changed = review.update_proposal(s, row, titles, int(raw_cost) if raw_cost else None)
        except ValueError as e:
            flash(f"Proposal {number} not saved: {e}.", "error")
            changed = None
        if changed:
            log_action(s, "proposal.edit", f"proposal:{cycle.id}:{number}", changed)
            flash(f"Proposal {number} saved.")
    return redirect(url_for("staff.cycle_page", cycle_id=cycle_id) + f"#proposal-{number}")


@bp.get("/ballot/<int:cycle_id>/results")
@admin_only
def results_page(cycle_id: int) -> Any:
    with db().unit_of_work() as s:
        cycle = _cycle_or_404(s, cycle_id)
        results = reports.results(s, cycle)
        closed = utcnow() > cycle.voting_close
    rows = results.rows
    last_funded = max((i for i, r in enumerate(rows) if r.funded), default=-1)
    return render_template("staff/results.html", cycle=cycle, results=results, chart=charts.results_chart(results),
                           last_funded=last_funded, closed=closed)


@bp.get("/ballot/<int:cycle_id>/results.csv")
@admin_only
def results_csv(cycle_id: int) -> Response:
    with db().unit_of_work() as s:
        cycle = _cycle_or_404(s, cycle_id)
        results = reports.results(s, cycle)
        log_action(s, "results.export", f"cycle:{cycle.id}", {"ballots": results.ballots})
    stamp = utcnow().strftime("%Y%m%d-%H%M")
    return Response(tally.to_csv(results), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="pb-results-{cycle.id}-{stamp}.csv"'})
