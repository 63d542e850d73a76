"""Recording an idea by phone: reminder, record, keep / again / cancel, optional ZIP."""
from __future__ import annotations

from prompts import Code, When
from voice_flows import parse
from voice_flows.machine import (Ctx, Exit, Gather, Inbound, Parsed, Record, SaveRecordedIdea, SetIdeaZip, State,
                                 Step, WithdrawIdea, goto, say)
from voice_flows.rules import window

MAX_SECONDS = 180


def parse_recording(inbound: Inbound, state: State, ctx: Ctx) -> Parsed:
    rec = inbound.recording
    if rec is None or rec.duration <= 0:
        # Nothing was said: not an idea. Twilio may skip the action for an empty recording
        # and follow the <Redirect> after <Record> instead, which arrives without one.
        return "empty", {}
    return "ok", {"recording": rec}


def keep_recording(state: State, values: dict, ctx: Ctx) -> list:
    # A re-recorded idea replaces the earlier one only once the new one exists, so a caller
    # who hangs up half-way through recording again loses nothing.
    rec = values["recording"]
    earlier = state.data.get("recording_sid")
    state.data["recording_sid"] = rec.sid
    return [SaveRecordedIdea(rec)] + ([WithdrawIdea(earlier)] if earlier and earlier != rec.sid else [])


def forget_earlier(state: State, values: dict, ctx: Ctx) -> list:
    # A new idea in the same call is not a re-recording: it must not replace the one before.
    state.data.pop("recording_sid", None)
    state.data.pop("idea_ref", None)
    return []


def withdraw(state: State, values: dict, ctx: Ctx) -> list:
    sid = state.data.pop("recording_sid", None)
    return [WithdrawIdea(sid)] if sid else []


def parse_zip(inbound: Inbound, state: State, ctx: Ctx) -> Parsed:
    outcome, keys = parse.digits(inbound)
    if outcome == "timeout":              # '#' alone or silence: the ZIP is optional
        return "skip", {}
    if outcome:
        return outcome, {}
    zip_code = parse.zip_code(keys)
    return ("ok", {"zip": zip_code}) if zip_code else ("bad_zip", {})


def idea_window(state: State, ctx: Ctx) -> str:
    assert ctx.cycle is not None
    return window(ctx.cycle, ctx.now, "ideas")


STEPS = {
    "idea_route": Step(route=idea_window, exits={"open": "idea_intro", "before": "idea_before",
                                                  "closed": "idea_closed"}),
    "idea_before": Step(say=say("idea.before", date=lambda s, c: When(c.cycle.ideas_open, c.cycle.timezone)),
                        route=goto("next"), exits={"next": "menu"}),
    "idea_closed": Step(say="idea.closed", route=goto("next"), exits={"next": "menu"}),
    "idea_intro": Step(say="idea.intro", route=goto("next"), exits={"next": Exit("idea_record", do=forget_earlier)}),
    "idea_record": Step(say=say("idea.record", minutes=lambda s, c: MAX_SECONDS // 60),
                        wait=Record(max_length=MAX_SECONDS), parse=parse_recording,
                        exits={"ok": Exit("idea_review", do=keep_recording)}),
    "idea_review": Step(say="idea.review", wait=Gather(num_digits=1),
                        parse=parse.choice({"1": "keep", "2": "again", "3": "cancel"}),
                        exits={"keep": "idea_zip", "again": "idea_record",
                               "cancel": Exit("idea_cancelled", do=withdraw)}),
    "idea_zip": Step(say="idea.zip", wait=Gather(), parse=parse_zip, back="idea_review",
                     exits={"ok": Exit("idea_done", do=lambda s, v, c: [SetIdeaZip(v["zip"])]),
                            "skip": "idea_done"}),
    "idea_done": Step(say=say("idea.thanks", ref=lambda s, c: Code(c.idea_ref or "")),
                      route=goto("next"), exits={"next": "menu"}),
    "idea_cancelled": Step(say="idea.cancelled", route=goto("next"), exits={"next": "menu"}),
}
