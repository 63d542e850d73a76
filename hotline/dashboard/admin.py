"""For admins: staff accounts, the audit log, and each cycle's list of community priorities."""
from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for

from hotline.dashboard import bp, passwords
from hotline.dashboard.auth import admin_only, current, db, log_action, signed_in, utcnow
from store import cycles, review
from store import staff as accounts

AUDIT_PAGE = 100


# ---- staff accounts ----

@bp.get("/team")
@admin_only
def team() -> Any:
    with db().unit_of_work() as s:
        people = accounts.everyone(s)
    return render_template("staff/team.html", people=people, roles=accounts.ROLES, form={}, error=None)


@bp.post("/team")
@admin_only
def team_add() -> Any:
    email = request.form.get("email", "").strip()
    role = request.form.get("role", "")
    password = request.form.get("password", "")
    error = None
    try:
        passwords.check_strength(password, email)
        with db().unit_of_work() as s:
            row = accounts.create(s, email, role, passwords.hash_password(password), utcnow())
            log_action(s, "staff.create", f"staff:{row.email}", {"role": row.role})
    except (ValueError, accounts.StaffExists) as e:
        error = f"An account for {e} exists already." if isinstance(e, accounts.StaffExists) else str(e)
    if error:
        with db().unit_of_work() as s:
            people = accounts.everyone(s)
        return render_template("staff/team.html", people=people, roles=accounts.ROLES,
                               form={"email": email, "role": role}, error=error), 400
    flash(f"Account created for {email.lower()}. Give them the password in person or by phone, not by email.")
    return redirect(url_for("staff.team"))


@bp.post("/team/<int:staff_id>")
@admin_only
def team_change(staff_id: int) -> Any:
    """Change someone's role, disable or re-enable them, or set a new password for them."""
    action = request.form.get("action", "")
    with db().unit_of_work() as s:
        row = accounts.get(s, staff_id)
        if row is None:
            abort(404)
        try:
            if action == "role":
                before = row.role
                accounts.set_role(s, row, request.form.get("role", ""))
                log_action(s, "staff.role", f"staff:{row.email}", {"from": before, "to": row.role})
            elif action in ("disable", "enable"):
                if row.id == current().id and action == "disable":
                    raise ValueError("You cannot disable your own account.")
                accounts.set_active(s, row, action == "enable")
                log_action(s, f"staff.{action}", f"staff:{row.email}")
            elif action == "password":
                password = request.form.get("password", "")
                passwords.check_strength(password, row.email)
                accounts.set_password(s, row, passwords.hash_password(password))
                log_action(s, "staff.password", f"staff:{row.email}", {"by": "admin"})
            else:
                abort(400)
        except accounts.LastAdmin:
            flash("There must stay at least one active admin.", "error")
        except ValueError as e:
            flash(str(e), "error")
        else:
            flash(f"{row.email}: done.")
    return redirect(url_for("staff.team"))


# ---- audit log ----

@bp.app_template_filter("plain")
def plain(value: Any) -> str:
    """An audit detail as staff read it: "old → new" for a change, lists joined, nothing as a dash."""
    if isinstance(value, dict) and set(value) == {"from", "to"}:
        return f"{plain(value['from'])} → {plain(value['to'])}"
    if isinstance(value, dict):
        return "; ".join(f"{k}: {plain(v)}" for k, v in value.items()) or "—"
    if isinstance(value, (list, tuple)):
        return ", ".join(plain(v) for v in value) or "—"
    return "—" if value is None or value == "" else str(value)


@bp.get("/audit")
@admin_only
def audit_log() -> Any:
    before = request.args.get("before", type=int)
    target = request.args.get("target", "").strip() or None
    action = request.args.get("action", "").strip() or None
    actor = request.args.get("actor", "").strip() or None
    with db().unit_of_work() as s:
        events = accounts.events(s, limit=AUDIT_PAGE + 1, before_id=before, target=target, action=action,
                                 actor=actor)
    more = len(events) > AUDIT_PAGE
    events = events[:AUDIT_PAGE]
    return render_template("staff/audit.html", events=events, more=more, target=target or "", action=action or "",
                           actor=actor or "")


# ---- priorities ----

@bp.get("/priorities")
@signed_in
def priority_list() -> Any:
    """Everyone may read the list (reviewers sort ideas into it); admins change it."""
    cycle_id = request.args.get("cycle", type=int)
    with db().unit_of_work() as s:
        cycle = cycles.get(s, cycle_id)
        rows = review.priorities(s, cycle.id) if cycle else []
        counts = review.idea_counts_by_priority(s, cycle.id) if cycle else {}
        proposals = {p.number: p.title.get("en", "") for p in cycle.proposals} if cycle else {}
        everything = review.all_cycles(s)
    return render_template("staff/priorities.html", cycle=cycle, rows=rows, counts=counts, proposals=proposals,
                           cycles=everything)


def _number(value: str | None) -> int | None:
    value = (value or "").strip()
    return int(value) if value.isdigit() else None


@bp.post("/priorities/<int:cycle_id>")
@admin_only
def priority_add(cycle_id: int) -> Any:
    with db().unit_of_work() as s:
        cycle = cycles.get(s, cycle_id)
        if cycle is None:
            abort(404)
        try:
            if request.form.get("action") == "seed":
                added = review.seed_priorities(s, cycle.id)
                log_action(s, "priority.seed", f"cycle:{cycle.id}", {"added": added})
                flash(f"Added {added} priorities from the ballot's proposals.")
            else:
                row = review.add_priority(s, cycle.id, request.form.get("name", ""), request.form.get("description"),
                                          _number(request.form.get("proposal_number")))
                log_action(s, "priority.add", f"cycle:{cycle.id}", {"name": row.name})
                flash(f"Added “{row.name}”.")
        except ValueError as e:
            flash(str(e).capitalize() + ".", "error")
    return redirect(url_for("staff.priority_list", cycle=cycle_id))


@bp.post("/priorities/<int:cycle_id>/<int:priority_id>")
@admin_only
def priority_change(cycle_id: int, priority_id: int) -> Any:
    action = request.form.get("action", "save")
    with db().unit_of_work() as s:
        row = review.priority(s, priority_id)
        if row is None or row.cycle_id != cycle_id:
            abort(404)
        try:
            if action == "delete":
                name, n = row.name, review.remove_priority(s, row)
                log_action(s, "priority.delete", f"cycle:{cycle_id}", {"name": name, "ideas_unsorted": n})
                flash(f"Removed “{name}”; {n} idea(s) went back to “not sorted”.")
            elif action in ("up", "down"):
                review.move_priority(s, row, -1 if action == "up" else 1)
                log_action(s, "priority.move", f"cycle:{cycle_id}", {"name": row.name, "direction": action})
            else:
                changed = review.update_priority(s, row, request.form.get("name", ""), request.form.get("description"),
                                                 _number(request.form.get("proposal_number")))
                if changed:
                    log_action(s, "priority.edit", f"cycle:{cycle_id}", {"name": row.name, **changed})
                    flash(f"Saved “{row.name}”.")
        except ValueError as e:
            flash(str(e).capitalize() + ".", "error")
    return redirect(url_for("staff.priority_list", cycle=cycle_id) + f"#priority-{priority_id}")
