"""The load generator: simulated Twilio traffic, run in its own process (`python -m bench.load < spec.json`).

Two modes, both signing every request exactly as Twilio does:

``replay``
    A lean asyncio HTTP/1.1 client on keep-alive connections, for measuring the server rather than
    the client. Each connection runs conversations back to back (closed loop, no think time). A
    conversation is a template recorded once with `hotline.phone.Phone` against the live server
    (the real requests of a whole vote, first message to receipt, status callback included) and
    replayed with a fresh number and fresh SIDs, re-signed. Script ``bare`` posts a Twilio-sized
    form to the bare route instead.
``residents``
    Threads, one simulated resident conversation at a time each, driving `hotline.phone.Phone`
    (which follows the TwiML as a handset would) over persistent `http.client` connections spread
    over every web server given, request by request, as a load balancer without stickiness would.
    Residents text or call, choose 1–5 proposals at random (seeded), some leave a recorded idea;
    each reports its receipt and choices so the caller can check the tally exactly.

The report (JSON on stdout) includes this process's own CPU use, so a reader can see the client
was not the bottleneck.
"""
from __future__ import annotations

import asyncio
import hashlib
import hmac
import http.client
import itertools
import json
import os
import random
import re
import secrets
import sys
import threading
import time
from base64 import b64encode
from collections import defaultdict
from urllib.parse import urlencode, urlsplit

from bench.common import latency_summary
from hotline.phone import Phone, PhoneError

CITY_ZIP = "02118"
TEXTED_VOTE = ("VOTE", "34", CITY_ZIP, "3 7 12", "YES")     # one texted vote, first message to receipt
RECEIPT = re.compile(r"receipt number is ([\d ,]+)")
LINE = "+16175550100"


def number_of(i: int) -> str:
    """Resident i's phone number: distinct, valid Boston numbers (617-200-0000 onwards)."""
    return f"+1617{200 + i // 10000:03d}{i % 10000:04d}"


def choices_of(seed: int, i: int, proposals: int = 15, most: int = 5) -> list[int]:
    rng = random.Random(seed * 1_000_003 + i)
    return rng.sample(range(1, proposals + 1), rng.randint(1, most))


def signature(token: str, url: str, pairs: list[tuple[str, str]]) -> str:
    """X-Twilio-Signature (twilio-protocol.md): URL, then each name+value, names sorted."""
    data = url + "".join(k + v for k, v in sorted(pairs, key=lambda kv: kv[0]))
    return b64encode(hmac.new(token.encode(), data.encode(), hashlib.sha1).digest()).decode()


# ---- residents: Phone over http.client, threads ----

class Transport:
    """A Phone transport that sends each request to the next server in turn (keep-alive per server)."""

    def __init__(self, targets: list[str], record, label) -> None:
        self.targets = [urlsplit(t) for t in targets]
        self.conns: dict[int, http.client.HTTPConnection] = {}
        self.turn = itertools.count(random.randrange(len(targets)))
        self.record = record
        self.label = label

    def _conn(self, k: int) -> http.client.HTTPConnection:
        c = self.conns.get(k)
        if c is None:
            t = self.targets[k]
            c = self.conns[k] = http.client.HTTPConnection(t.hostname, t.port, timeout=30)
        return c

    def __call__(self, url: str, pairs: list[tuple[str, str]], headers: dict[str, str],
                 method: str = "POST") -> tuple[int, str]:
        parts = urlsplit(url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        body = urlencode(pairs) if method == "POST" else None
        hdrs = dict(headers)
        if body is not None:
            hdrs["Content-Type"] = "application/x-www-form-urlencoded"
        k = next(self.turn) % len(self.targets)
        for attempt in range(2):
            conn = self._conn(k)
            started = time.perf_counter()
            try:
                conn.request(method, path, body=body, headers=hdrs)
                resp = conn.getresponse()
                data = resp.read().decode()
                self.record(self.label(parts.path), (time.perf_counter() - started) * 1000, resp.status)
                if resp.getheader("Connection", "").lower() == "close":
                    conn.close()
                    self.conns.pop(k, None)
                return resp.status, data
            except (http.client.HTTPException, OSError):
                conn.close()
                self.conns.pop(k, None)
                if attempt:
                    raise
        raise AssertionError("unreachable")


def resident(i: int, spec: dict, transport: Transport, media_url: str | None) -> dict:
    """One resident's whole conversation; returns what they did and the receipt they were given."""
    seed = spec.get("seed", 1)
    rng = random.Random(seed * 7919 + i)
    kind = rng.choices(["sms", "voice", "idea"], [spec.get("sms", 0.5), spec.get("voice", 0.45),
                                                   spec.get("idea", 0.05)])[0]
    choices = choices_of(seed, i)
    think = spec.get("think", 0.0)
    phone = Phone(spec["public_base"], spec["token"], transport, number=number_of(spec.get("offset", 0) + i),
                  line=LINE, recording_url=(lambda sid: f"{media_url}/{sid}") if media_url else None)
    state = {"step": "start"}
    transport.label = lambda path: f"{kind if kind != 'idea' else 'voice'}:{state['step']}" if not path.endswith(
        ("/status", "/recording")) else "voice:" + path.rsplit("/", 1)[1]

    def pause() -> None:
        if think:
            time.sleep(rng.uniform(0.5 * think, 1.5 * think))

    def act(step: str, fn, *args):
        state["step"] = step
        pause()
        return fn(*args)

    out = {"i": i, "kind": kind, "choices": choices, "receipt": None}
    if kind == "sms":
        act("vote", phone.text, "VOTE")
        act("age", phone.text, "34")
        act("zip", phone.text, CITY_ZIP)
        act("choices", phone.text, " ".join(map(str, choices)))
        replies = act("cast", phone.text, "YES")
        m = RECEIPT.search(" ".join(replies))
        out["receipt"] = re.sub(r"\D", "", m.group(1)) if m else None
    elif kind == "voice":
        state["step"] = "incoming"
        call = phone.dial()
        act("language", call.press, "1")
        act("menu", call.press, "3")
        act("age", call.press, "34#")
        act("zip", call.press, f"{CITY_ZIP}#")
        act("type", call.press, "2")
        for n in choices:
            act("choice", call.press, f"{n}#")
        if len(choices) < 5:
            act("review", call.press, "#")
        act("cast", call.press, "1")
        m = RECEIPT.search(" ".join(call.last_heard))
        out["receipt"] = re.sub(r"\D", "", m.group(1)) if m else None
        act("hangup", call.hangup)
        out["choices"] = choices
    else:
        state["step"] = "incoming"
        call = phone.dial()
        act("language", call.press, "1")
        act("menu", call.press, "2")
        act("record", call.record, None)
        act("keep", call.press, "1")
        out["recording"] = call.recordings[-1]["sid"] if call.recordings else None
        act("hangup", call.hangup)
        out["choices"] = []
    return out


def run_residents(spec: dict) -> dict:
    samples: dict[str, list[float]] = defaultdict(list)
    statuses: dict[int, int] = defaultdict(int)
    lock = threading.Lock()
    results: list[dict] = []
    errors: list[str] = []
    counter = itertools.count()
    total = spec.get("residents")
    deadline = time.monotonic() + spec["duration"] if spec.get("duration") else None
    timeline: list[tuple[float, int]] = []      # (seconds since start, residents done)
    t0 = time.perf_counter()

    # Paced runs start their conversations spread over `ramp` seconds (all at once would be a
    # burst that the pauses then keep in step), and only what follows the ramp is measured.
    ramp = spec.get("ramp", 0.0)
    measured = {"requests": 0, "voters": 0}

    def record(label: str, ms: float, status: int) -> None:
        with lock:
            if time.perf_counter() - t0 >= ramp:
                samples[label].append(ms)
                statuses[status] += 1

    def work(k: int) -> None:
        time.sleep(ramp * k / spec["concurrency"])
        transport = Transport(spec["targets"], record, lambda p: p)
        while True:
            i = next(counter)
            if (total is not None and i >= total) or (deadline and time.monotonic() > deadline):
                return
            try:
                r = resident(i, spec, transport, spec.get("media_url"))
                with lock:
                    results.append(r)
                    done_at = time.perf_counter() - t0
                    timeline.append((done_at, len(results)))
                    if done_at >= ramp and r["kind"] != "idea":
                        measured["voters"] += 1
            except (PhoneError, OSError, http.client.HTTPException, AssertionError) as e:
                with lock:
                    errors.append(f"resident {i}: {type(e).__name__}: {str(e)[:300]}")

    cpu0 = os.times()
    threads = [threading.Thread(target=work, args=(k,), daemon=True) for k in range(spec["concurrency"])]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    cpu1 = os.times()
    requests = sum(len(v) for v in samples.values())
    cpu = (cpu1.user - cpu0.user) + (cpu1.system - cpu0.system)
    all_ms = [x for v in samples.values() for x in v]
    return {
        "mode": "residents", "wall": wall, "requests": requests, "measured_s": wall - ramp,
        "rps": requests / (wall - ramp), "ballots_per_s": measured["voters"] / (wall - ramp),
        "residents": len(results), "errors": errors[:20], "error_count": len(errors),
        "statuses": dict(statuses), "latency": latency_summary(all_ms),
        "steps": {k: latency_summary(v) for k, v in sorted(samples.items())},
        "client_cpu_s": cpu, "client_cpu_cores": cpu / wall, "client_cpu_us_per_request": cpu / max(1, requests) * 1e6,
        "results": results, "timeline": timeline[:: max(1, len(timeline) // 200)],
    }


# ---- replay: a lean asyncio client ----

def record_template(spec: dict, script: str) -> list[tuple[str, str, list[tuple[str, str]]]]:
    """Walk one real conversation with Phone against the server; return its requests (method, path, pairs)."""
    sent: list[tuple[str, str, list[tuple[str, str]]]] = []
    transport = Transport(spec["targets"][:1], lambda *a: None, lambda p: p)

    def keep(url, pairs, headers, method="POST"):
        parts = urlsplit(url)
        sent.append((method, parts.path + (f"?{parts.query}" if parts.query else ""), list(pairs)))
        return transport(url, pairs, headers, method=method)

    phone = Phone(spec["public_base"], spec["token"], keep, number=number_of(spec["template_number"]), line=LINE)
    if script == "sms":
        for body in TEXTED_VOTE:
            replies = phone.text(body)
        assert RECEIPT.search(" ".join(replies)), replies
    elif script == "voice":
        call = phone.dial()
        for keys in ("1", "3", "34#", f"{CITY_ZIP}#", "2", "3#", "7#", "12#", "#", "1"):
            call.press(keys)
        assert RECEIPT.search(" ".join(call.last_heard)), call.last_heard
        call.hangup()
    return sent


def bare_template() -> list[tuple[str, str, list[tuple[str, str]]]]:
    sid = "SM" + "0" * 32
    pairs = [("ToCountry", "US"), ("SmsMessageSid", sid), ("NumMedia", "0"), ("SmsSid", sid),
             ("SmsStatus", "received"), ("Body", "VOTE"), ("To", LINE), ("MessagingServiceSid", "MG" + "0" * 32),
             ("NumSegments", "1"), ("MessageSid", sid), ("AccountSid", "AC" + "0" * 32),
             ("From", number_of(0)), ("ApiVersion", "2010-04-01")]
    return [("POST", "/bare", pairs)]


SID_FIELDS = {"CallSid": "CA", "MessageSid": "SM", "SmsSid": "SM", "SmsMessageSid": "SM"}


def personalise(template, number: str, token: str, public_base: str, host: str) -> list[tuple[str, bytes]]:
    """The template's requests for a new resident: their number, fresh SIDs, fresh signatures."""
    template_number = next((v for _, _, pairs in template for k, v in pairs if k == "From"), None)
    swap: dict[str, str] = {template_number: number} if template_number else {}
    out = []
    for method, path, pairs in template:
        new = []
        for k, v in pairs:
            if k in SID_FIELDS and v not in swap:
                swap[v] = SID_FIELDS[k] + secrets.token_hex(16)
            new.append((k, swap.get(v, v)))
        body = urlencode(new).encode()
        head = (f"{method} {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/x-www-form-urlencoded\r\n"
                f"Content-Length: {len(body)}\r\nX-Twilio-Signature: {signature(token, public_base + path, new)}\r\n"
                f"I-Twilio-Idempotency-Token: {secrets.token_hex(16)}\r\n\r\n").encode()
        out.append((path.split("?")[0], head + body))
    return out


async def _exchange(reader, writer, raw: bytes) -> tuple[int, bytes, bool]:
    writer.write(raw)
    status_line = await reader.readline()
    if not status_line:
        raise ConnectionError("closed")
    status = int(status_line.split()[1])
    length, close = 0, False
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b""):
            break
        name, _, value = line.decode("latin-1").partition(":")
        name = name.strip().lower()
        if name == "content-length":
            length = int(value)
        elif name == "connection" and value.strip().lower() == "close":
            close = True
    body = await reader.readexactly(length) if length else b""
    return status, body, close


async def _replay(spec: dict, templates: dict[str, list]) -> dict:
    target = urlsplit(spec["targets"][0])
    host = f"{target.hostname}:{target.port}"
    samples: dict[str, list[float]] = defaultdict(list)
    statuses: dict[int, int] = defaultdict(int)
    done = {"conversations": 0, "requests": 0, "started": 0}
    bad: list[str] = []
    warm_until = time.perf_counter() + spec.get("warmup", 2.0)
    stop_at = warm_until + spec["duration"]
    offset = itertools.count(spec.get("offset", 0))
    scripts = spec["scripts"]
    marker = b"<Response"

    async def connection(k: int) -> None:
        reader = writer = None
        while time.perf_counter() < stop_at:
            script = scripts[k % len(scripts)] if len(scripts) > 1 else scripts[0]
            requests = personalise(templates[script], number_of(next(offset)), spec["token"], spec["public_base"], host)
            measuring = time.perf_counter() >= warm_until
            done["started"] += 1
            for label, raw in requests:
                if writer is None:
                    reader, writer = await asyncio.open_connection(target.hostname, target.port)
                started = time.perf_counter()
                try:
                    status, body, close = await _exchange(reader, writer, raw)
                except (ConnectionError, asyncio.IncompleteReadError, OSError):
                    writer.close()
                    reader = writer = None
                    reader, writer = await asyncio.open_connection(target.hostname, target.port)
                    started = time.perf_counter()
                    status, body, close = await _exchange(reader, writer, raw)
                ms = (time.perf_counter() - started) * 1000
                if status != 200 or marker not in body:
                    bad.append(f"{label} {status} {body[:200]!r}")
                if measuring and time.perf_counter() < stop_at:
                    samples[f"{script}:{label}"].append(ms)
                    statuses[status] += 1
                    done["requests"] += 1
                if close:
                    writer.close()
                    reader = writer = None
            if measuring and time.perf_counter() < stop_at:
                done["conversations"] += 1
        if writer is not None:
            writer.close()

    cpu0 = os.times()
    t0 = time.perf_counter()
    await asyncio.gather(*(connection(k) for k in range(spec["connections"])))
    cpu1 = os.times()
    cpu = (cpu1.user - cpu0.user) + (cpu1.system - cpu0.system)
    measured = spec["duration"]
    all_ms = [x for v in samples.values() for x in v]
    return {
        "mode": "replay", "scripts": scripts, "connections": spec["connections"], "duration": measured,
        "requests": done["requests"], "rps": done["requests"] / measured,
        "conversations": done["conversations"], "conversations_per_s": done["conversations"] / measured,
        "latency": latency_summary(all_ms), "steps": {k: latency_summary(v) for k, v in sorted(samples.items())},
        "statuses": dict(statuses), "errors": bad[:10], "error_count": len(bad),
        "client_cpu_s": cpu, "client_cpu_cores": cpu / (time.perf_counter() - t0),
        "client_cpu_us_per_request": cpu / max(1, done["requests"]) * 1e6,
        "offset_end": next(offset),
        # Every conversation started ran to its end: each voting one cast exactly one ballot.
        "conversations_total": done["started"] + sum(s != "bare" for s in scripts),
    }


def run_replay(spec: dict) -> dict:
    templates = {}
    for k, script in enumerate(spec["scripts"]):
        templates[script] = bare_template() if script == "bare" else record_template(
            {**spec, "template_number": spec.get("offset", 0) + k}, script)
    spec = {**spec, "offset": spec.get("offset", 0) + len(spec["scripts"])}
    return asyncio.run(_replay(spec, templates))


def main() -> None:
    spec = json.load(sys.stdin)
    report = run_replay(spec) if spec["mode"] == "replay" else run_residents(spec)
    json.dump(report, sys.stdout)


if __name__ == "__main__":
    main()
