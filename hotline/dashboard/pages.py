"""The dashboard's front door and its error pages."""
from __future__ import annotations

from typing import Any

from flask import redirect, render_template, url_for

from hotline.dashboard import bp
from hotline.dashboard.auth import signed_in


@bp.get("/")
@signed_in
def home() -> Any:
    return redirect(url_for("staff.ideas_inbox"))


@bp.errorhandler(403)
def forbidden(_e) -> Any:
    return render_template("staff/error.html", title="Not for your role",
                           message="This page is for admins. Ask an admin if you need it."), 403


@bp.errorhandler(404)
def not_found(_e) -> Any:
    return render_template("staff/error.html", title="Not found",
                           message="There is nothing here: the idea or page may have been removed."), 404
