"""The text line: opt-out words and commands first, then the conversation table."""
from __future__ import annotations

from dataclasses import dataclass

from sms import keywords, parse
from sms.flow import TEXT
from voice_flows.machine import Ctx, End, Inbound, OptIn, OptOut, Say, State, run_step, start


@dataclass(frozen=True)
class Reply:
    state: State | None      # where the conversation stands after this text (None: none open)
    effects: list
    lang: str                # the language to answer in
    ended: bool = False      # the conversation is over: the next text starts afresh


def handle(state: State | None, inbound: Inbound, ctx: Ctx, lang: str) -> Reply:
    """Answer one text: the conversation's new state, the effects and the language to answer in.

    Opt-out words always win, then START and HELP, which leave a conversation where it was
    (START in the middle of a ballot is a re-subscription, never an answer), then commands.
    """
    text = inbound.text
    if parse.is_opt_out(text):
        return Reply(state, [OptOut()], lang)   # Twilio confirms the opt-out itself; we stay silent
    lang = state.lang if state else lang
    if parse.is_opt_in(text):
        return Reply(state, [OptIn(), Say("sms.opted_in")], lang)
    command, rest, told = keywords.command(text)
    lang = told or lang
    if command == "help":
        return Reply(state, [Say("sms.help")], lang)
    if ctx.cycle is None:
        return _finish(*start(TEXT, lang, ctx, node="no_cycle"))
    if command == "language":
        return _finish(*start(TEXT, lang, ctx, node="ask_language"))
    if command == "idea":
        return _finish(*start(TEXT, lang, ctx, {"text": rest}, node="idea_route"))
    if command == "vote":
        return _finish(*start(TEXT, lang, ctx, node="vote_route"))
    if state is not None:
        new, effects = run_step(TEXT, state, inbound, ctx)
        if new.node != "reprocess":
            return _finish(new, effects)
        later = handle(None, inbound, ctx, new.lang)
        return Reply(later.state, [e for e in effects if not isinstance(e, End)] + later.effects,
                     later.lang, later.ended)
    return _finish(*start(TEXT, lang, ctx, {"text": text}, node="idle"))


def _finish(state: State, effects: list) -> Reply:
    return Reply(state, effects, state.lang, ended=any(isinstance(e, End) for e in effects))
