"""The staff dashboard at /staff: the PB office listens to ideas, corrects transcripts, judges and
sorts ideas, and runs the ballot. A blueprint of the same Flask app as Twilio's webhooks."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("staff", __name__, url_prefix="/staff", template_folder="templates", static_folder="static")

from hotline.dashboard import admin, auth, ballot, pages, views  # noqa: E402,F401  (they add routes to bp)
