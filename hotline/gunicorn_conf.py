"""Gunicorn settings for the web process, from the environment (`gunicorn -c python:hotline.gunicorn_conf`).

| variable | meaning | default |
| --- | --- | --- |
| `PORT` | port to listen on (all interfaces) | 8000 |
| `WEB_CONCURRENCY` | worker processes: about one per core | 2 |
| `WEB_THREADS` | threads per worker: a webhook waits on the database part of the time | 2 |
| `WEB_TIMEOUT` | seconds before a stuck worker is killed and replaced (Twilio gives up at 15 s) | 15 |
| `WEB_KEEPALIVE` | seconds an idle connection from the proxy is kept | 5 |
| `WEB_MAX_REQUESTS` | recycle a worker after this many requests (0: never) | 0 |

Keep `WEB_CONCURRENCY * WEB_THREADS` within the database's connection budget for one machine
(each thread holds at most one pooled connection while it serves a request; docs/deploy.md).
Threads (``gthread``) rather than sync workers: keep-alive from the load balancer is honoured, and
a worker overlaps one request's database round trips with another's Python work.
"""
import os

bind = f"0.0.0.0:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_class = "gthread"
threads = int(os.environ.get("WEB_THREADS", "2"))
timeout = int(os.environ.get("WEB_TIMEOUT", "15"))
graceful_timeout = 20
keepalive = int(os.environ.get("WEB_KEEPALIVE", "5"))
max_requests = int(os.environ.get("WEB_MAX_REQUESTS", "0"))
max_requests_jitter = max_requests // 10
# The app writes one JSON line per request (hotline/logs.py, with a request id and no phone
# numbers); gunicorn's own access log would repeat it without either.
accesslog = None
errorlog = "-"
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
# Behind a TLS-terminating proxy the app rebuilds the public URL itself (PUBLIC_BASE_URL or
# TRUST_PROXY=1): see hotline/edge.py; gunicorn need not trust forwarded headers.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")


def post_fork(server, worker) -> None:  # noqa: ARG001 — gunicorn's hook signature
    """Hand the GIL over sooner than Python's default 5 ms.

    A webhook makes ~10 database round trips; each time its thread waits on PostgreSQL another
    thread runs, and on the reply it must win the GIL back. With the default interval a thread
    can wait up to 5 ms per round trip behind a busy neighbour, which at moderate load made the
    median webhook several times slower than its CPU cost (BENCHMARKS.md). `WEB_SWITCH_INTERVAL`
    (seconds) overrides it.
    """
    import sys

    sys.setswitchinterval(float(os.environ.get("WEB_SWITCH_INTERVAL", "0.001")))


def post_worker_init(worker) -> None:  # noqa: ARG001 — gunicorn's hook signature
    """Keep what the app loaded at start (prompt catalogs, models, compiled patterns: ~90,000
    objects) out of the garbage collector's full passes, which otherwise walk all of it every
    few thousand requests and stall whichever webhook triggers them (~15 ms each)."""
    import gc

    gc.freeze()
