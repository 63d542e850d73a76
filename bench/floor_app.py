"""The floor: a bare Flask app whose one route returns a fixed TwiML document (no signature, no database)."""
from __future__ import annotations

from flask import Flask, Response

TWIML = ('<?xml version="1.0" encoding="UTF-8"?><Response><Message>How old are you? Reply with your age '
         'in years, for example 34.</Message></Response>')


def create_app() -> Flask:
    app = Flask(__name__)

    @app.post("/bare")
    def bare() -> Response:
        return Response(TWIML, status=200, mimetype="text/xml")

    @app.get("/healthz")
    def healthz() -> Response:
        return Response("ok", mimetype="text/plain")

    return app
