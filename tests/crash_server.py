"""The hotline in a process of its own that kills itself at a chosen moment (tests/test_faults.py).

``CRASH_AT=before_commit``: right after the ballot row is written, inside the still-open
transaction. ``CRASH_AT=after_commit``: once the ballot is committed, before its receipt is sent.
Either way the process dies with exit status 17 and Twilio gets no answer. Unset: an ordinary server.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from werkzeug.serving import make_server  # noqa: E402

from hotline import create_app  # noqa: E402

CRASH = os.environ.get("CRASH_AT", "")


def main() -> None:
    app = create_app()
    if CRASH == "before_commit":
        from store import ballots

        real = ballots.cast

        def cast(*args, **kwargs):
            real(*args, **kwargs)        # the INSERT went through; COMMIT has not
            os._exit(17)

        ballots.cast = cast
    elif CRASH == "after_commit":
        inner = app.wsgi_app

        def crashing(environ, start_response):
            held = {}

            def hold(status, headers, exc_info=None):
                held["start"] = (status, headers)
                return lambda data: None

            body = b"".join(inner(environ, hold))
            if b"receipt" in body:
                os._exit(17)             # committed, and the receipt never leaves
            start_response(*held["start"])
            return [body]

        app.wsgi_app = crashing
    make_server("127.0.0.1", int(os.environ["PORT"]), app, threaded=True).serve_forever()


if __name__ == "__main__":
    main()
