"""Twilio's webhooks: check the signature, parse, load, step, apply, render — nothing more."""
from __future__ import annotations

import logging
import uuid
from dataclasses import replace
from datetime import datetime, timedelta, timezone

from flask import Blueprint, abort, current_app, g, request, send_file, url_for

import prompts
import sms
from hotline import edge, voices, queue, ratelimit, spool
from store import AlreadyVoted, conversations, cycles, ideas, identity, participants
from store.db import is_unavailable
from store.effects import Who, apply
from voice_flows import VOICE
from voice_flows.machine import CastBallot, Ctx, Hangup, Say, State, run_step, start

log = logging.getLogger(__name__)
bp = Blueprint("twilio", __name__)

CALL_TTL = timedelta(hours=4)
TEXT_TTL = timedelta(minutes=30)     # a text conversation silent this long starts afresh
RACE_RETRIES = 3


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def hotline():
    return current_app.extensions["hotline"]


def current(s, e164: str | None):
    """The current cycle's view and this caller's receipt in it (None: not voted, or withheld)."""
    secret = hotline().config.secret_key
    return cycles.current_view_and_receipt(s, (lambda cycle_id: identity.voter_key(secret, cycle_id, e164))
                                           if e164 else None)


def context(cycle_view, receipt: str | None, e164: str | None, state: State | None, now: datetime) -> Ctx:
    config = hotline().config
    line = edge.caller_number(edge.to_number())
    return Ctx(now=now, cycle=cycle_view, can_vote=e164 is not None, receipt=receipt,
               idea_ref=(state.data.get("idea_ref") if state else None),
               languages=hotline().languages,
               line_lang=config.language_lines.get(line or "") if line else None)


def _apply_or_replay(s, step, ctx: Ctx, who: Who, now: datetime):
    """Run `step(ctx)` and apply its effects; if the ballot was cast meanwhile by another
    request (another channel, the same number), run the step again knowing the receipt."""
    new, effects = step(ctx)
    if not any(isinstance(e, CastBallot) for e in effects):
        return new, effects, apply(s, effects, new, who, now)
    try:
        with s.begin_nested():
            return new, effects, apply(s, effects, new, who, now)
    except AlreadyVoted as e:
        new, effects = step(replace(ctx, receipt=e.receipt))
        return new, effects, apply(s, effects, new, who, now)


def _retrying(work):
    """Run a unit of work again when a concurrent twin of the request won a unique-key race:
    the second run finds the twin's answer and gives it back."""
    from sqlalchemy.exc import IntegrityError, OperationalError

    for attempt in range(RACE_RETRIES):
        try:
            return work()
        except (IntegrityError, OperationalError) as e:
            # A database that is down or too slow is not a race: trying again would only wait as
            # long again, past Twilio's 15 s (the error handler keeps what the caller gave).
            if attempt == RACE_RETRIES - 1 or is_unavailable(e):
                raise
            log.info("retrying a webhook after a concurrent write: %s", type(e).__name__)


# ---- voice ----

@bp.post("/voice/incoming")
@edge.twilio_signed
def voice_incoming():
    return ratelimit.refusal(ratelimit.CALL) or edge.twiml(_retrying(lambda: _voice(start_call=True)))


@bp.post("/voice/step")
@edge.twilio_signed
def voice_step():
    return edge.twiml(_retrying(lambda: _voice(start_call=False)))


def _voice(start_call: bool) -> str:
    h = hotline()
    # Twilio always sends a CallSid; a request without one gets a call of its own, shared with nobody.
    sid = edge.call_sid() or f"none-{uuid.uuid4().hex}"
    key = f"voice:{sid}"
    n = request.args.get("n", type=int)
    n = n if n is not None and 0 <= n < 1_000_000 else None     # only numbers the line could have given
    hook = f"{key}:start" if start_call else f"{key}:{n}"
    now = utcnow()
    e164 = edge.caller_number(edge.from_number())
    inbound = edge.voice_inbound(start=start_call)
    with h.db.unit_of_work() as s:
        loaded = conversations.load(s, key, now, hook, h.config.secret_key)
        state, seq = loaded.state, loaded.seq
        if (start_call or (n is not None and n < seq)) and loaded.answer is not None:
            return loaded.answer         # Twilio repeated a request: same answer
        participant = (loaded.participant or participants.find_or_create(s, h.config.secret_key, e164)) \
            if e164 else None
        cycle_view, receipt = current(s, e164)
        lang = state.lang if state else ((participant.language if participant else None) or "en")
        g.lang = lang
        fresh = start_call or state is None

        def step(ctx: Ctx):
            return start(VOICE, lang, ctx) if fresh else run_step(VOICE, state, inbound, ctx)

        who = Who("voice", e164, participant, cycle_view.id if cycle_view else None, h.config.secret_key, sid)
        new, effects, results = _apply_or_replay(s, step, context(cycle_view, receipt, e164, state, now), who, now)
        g.lang = new.lang
        # The language rides along in the URLs: if the database is down at the next request,
        # the apology is still in the caller's language (hotline/spool.py).
        body = edge.render_voice(effects, new.lang, action=url_for("twilio.voice_step", n=seq + 1, l=new.lang),
                                 recording_callback=url_for("twilio.voice_recording", l=new.lang), results=results)
        ended = any(isinstance(e, Hangup) for e in effects)
        conversations.save(s, key, None if ended else new, seq + 1, now, CALL_TTL,
                           participant.id if participant else None)
        # Only a step number the line gave out names this request: a URL with none, or with one
        # ahead of the call, must not take the key the real step will need (it would never be answered).
        if start_call or (n is not None and n <= seq):
            conversations.remember(s, hook, body, now, h.config.secret_key)
    return body


@bp.post("/voice/recording")
@edge.twilio_signed
def voice_recording():
    """Twilio's recording status callback: the idea is kept from here on, whatever follows."""
    rec = edge.recording_info()
    if rec is None:
        return edge.twiml(edge.empty())

    def work() -> str:
        h = hotline()
        now = utcnow()
        status = edge.recording_status()
        hook = f"rec:{rec.sid}:{status}"
        sid = edge.call_sid()
        with h.db.unit_of_work() as s:
            if conversations.answered(s, hook, h.config.secret_key) is not None:
                return edge.empty()
            participant_id, lang = conversations.participant_of(s, f"voice:{sid}")
            cycle = cycles.current(s)
            author = ideas.Author(cycle.id if cycle else None, participant_id, lang, sid)
            final = "empty" if status == "completed" and rec.duration <= 0 else status
            ideas.record(s, sid, rec, final, author, now)
            conversations.remember(s, hook, edge.empty(), now, h.config.secret_key)
        return edge.empty()
    body = _retrying(work)
    # Persist first, work later: the row is committed above; queuing is idempotent and never raises.
    if edge.recording_status() == "completed" and rec.duration > 0:
        queue.enqueue_recording(current_app._get_current_object(), rec.sid)
    return edge.twiml(body)


@bp.post("/voice/status")
@edge.twilio_signed
def voice_status():
    status = edge.call_status()
    if status in ("completed", "busy", "failed", "no-answer", "canceled"):
        h = hotline()
        with h.db.unit_of_work() as s:
            conversations.close(s, f"voice:{edge.call_sid()}", utcnow())
    return edge.twiml(edge.empty())


# ---- audio for languages without a Twilio voice (fetched by Twilio's <Play>) ----

@bp.get("/audio/recorded/<lang>/<key>.wav")
def recorded_audio(lang: str, key: str):
    path = prompts.recorded(lang, key) if lang in prompts.languages() else None
    if path is None:
        abort(404)
    return send_file(path, mimetype="audio/wav", max_age=3600)


@bp.get("/audio/say/<lang>/<token>.wav")
def stand_in_audio(lang: str, token: str):
    """The language's own text read by its stand-in voice; only texts the line wrote (signed)."""
    h = hotline()
    text = voices.text_of(h.config.secret_key, lang, token) if lang in prompts.languages() else None
    if text is None:
        abort(404)
    try:
        path = voices.synthesize(lang, text, h.config.instance_dir / "audio-cache")
    except voices.SynthesisError as e:
        log.error("cannot speak %s: %s", lang, e)
        abort(503)
    return send_file(path, mimetype="audio/wav", max_age=86400)


# ---- text ----

@bp.post("/sms/incoming")
@edge.twilio_signed
def sms_incoming():
    return ratelimit.refusal(ratelimit.SMS) or edge.twiml(_retrying(_text))


def _text() -> str:
    h = hotline()
    now = utcnow()
    sid = edge.message_sid()
    hook = f"sms:{sid}" if sid else None   # without a MessageSid there is no repeat to recognise
    sender = edge.from_number()
    e164 = edge.caller_number(sender)
    inbound = edge.sms_inbound()
    secret = h.config.secret_key
    key = "sms:" + (identity.phone_hash(secret, e164) if e164 else "unknown:" + identity.phone_hash(secret, sender))
    with h.db.unit_of_work() as s:
        loaded = conversations.load(s, key, now, hook, secret)
        if loaded.answer is not None:
            return loaded.answer         # Twilio repeated a text: same answer
        state, seq = loaded.state, loaded.seq
        participant = (loaded.participant or participants.find_or_create(s, secret, e164)) if e164 else None
        cycle_view, receipt = current(s, e164)
        ctx = context(cycle_view, receipt, e164, state, now)
        known = (participant.language if participant else None) or ctx.line_lang
        lang = g.lang = known or "en"
        if participant and participant.opted_out and not sms.parse.is_opt_in(inbound.text):
            body = edge.render_sms([], lang)
        else:
            replies: list[sms.Reply] = []

            def step(ctx: Ctx):
                replies.append(sms.handle(state, inbound, ctx, known))
                return replies[-1].state, replies[-1].effects

            who = Who("sms", e164, participant, cycle_view.id if cycle_view else None, h.config.secret_key)
            new, effects, results = _apply_or_replay(s, step, ctx, who, now)
            g.lang = lang = replies[-1].lang
            asking = new is not None and new.node == "ask_language_first"
            if participant and not participant.language and not asking:
                participant.language = lang   # remembered from the first text that told it
            # A sender that is not a phone number is never texted (twilio-protocol.md).
            body = edge.render_sms(effects if e164 else [], lang, results)
            conversations.save(s, key, None if replies[-1].ended else new, seq + 1, now, TEXT_TTL,
                               participant.id if participant else None)
        if hook:
            conversations.remember(s, hook, body, now, h.config.secret_key)
    return body


@bp.errorhandler(Exception)
def sorry(error: Exception):
    """Whatever went wrong, the caller hears an apology in their language, never a 500."""
    from werkzeug.exceptions import HTTPException

    if isinstance(error, HTTPException):
        return error
    if is_unavailable(error):
        return spool.answer_while_down(error)
    log.exception("webhook %s failed (sid %s)", request.path, edge.call_sid() or edge.message_sid())
    lang = getattr(g, "lang", "en")
    if request.path.startswith("/sms"):
        return edge.twiml(edge.render_sms([Say("errors.sorry")], lang))
    return edge.twiml(edge.render_voice([Say("errors.sorry"), Hangup()], lang, action="", recording_callback=""))
