"""The text line: opt-out words and commands first, then the conversation table."""
from __future__ import annotations

from dataclasses import dataclass

from sms import keywords, language, parse
from sms.flow import TEXT
from voice_flows.machine import Ctx, End, Inbound, OptIn, OptOut, Say, State, run_step, start


@dataclass(frozen=True)
class Reply:
    state: State | None      # where the conversation stands after this text (None: none open)
    effects: list
    lang: str                # the language to answer in
    ended: bool = False      # the conversation is over: the next text starts afresh


def handle(state: State | None, inbound: Inbound, ctx: Ctx, known: str | None) -> Reply:
    """Answer one text: the conversation's new state, the effects and the language to answer in.

    Opt-out words always win, then START and HELP, which leave a conversation where it was
    (START in the middle of a ballot is a re-subscription, never an answer), then commands.

    :param known: the resident's language if the line knows it (chosen before, or the number
        texted is a language's own line); otherwise it is read from the text, or asked once.
    """
    text = inbound.text
    if parse.is_opt_out(text):
        return Reply(state, [OptOut()], known or "en")   # Twilio confirms it; we stay silent
    # While the language is being asked for, the conversation's language is only a placeholder.
    asking = state is not None and state.node == "ask_language_first"
    current = known if asking or state is None else state.lang
    if parse.is_opt_in(text):
        # START mid-conversation re-subscribes; the question waiting for an answer is asked again.
        again = start(TEXT, state.lang, ctx, state.data, node=state.node)[1] if state and state.node else []
        return Reply(state, [OptIn(), Say("sms.opted_in"), *[e for e in again if not isinstance(e, End)]],
                     current or "en")
    command, rest, langs = keywords.command(text)
    lang = _told(langs, current, rest, ctx) or current or language.detect(text, ctx.languages)
    if lang is None:
        if command is None and state is None and text.strip() and ctx.cycle is not None:
            return _finish(*start(TEXT, "en", ctx, {"pending": text}, node="ask_language_first"))
        lang = "en"   # an English keyword shared with other languages ("VOTE"), or nothing to go on
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
        if new.node == "reprocess":       # not an answer to the question: a new message
            return _then(effects, handle(None, inbound, ctx, new.lang))
        if new.node == "pending":         # the language is settled: answer the kept first text
            first = handle(None, Inbound(channel="sms", text=state.data["pending"]), ctx, new.lang)
            if new.data.get("lang_chosen"):
                return _then(effects, first)
            # the reply was not a language choice: it is a message too, answered after the first
            return _then(effects, first, lambda s: handle(s, inbound, ctx, new.lang))
        return _finish(new, effects)
    return _finish(*start(TEXT, lang, ctx, {"text": text}, node="idle"))


def _told(langs: tuple[str, ...], current: str | None, rest: str, ctx: Ctx) -> str | None:
    """The language a keyword tells: the resident's own if it uses the word ("VOTAR" from a
    Portuguese speaker stays Portuguese), else the one the text after it is written in, else
    the most asked-for language that uses it."""
    if not langs:
        return None
    if current in langs or (current and len(langs) > 1):
        return current   # only a word of one language alone changes a known language
    written = language.detect(rest, ctx.languages) if rest else None
    return written if written in langs else langs[0]


def _then(effects: list, reply: Reply, after=None) -> Reply:
    """Join a step that handed over (its effects first) with the reply that took over."""
    joined = Reply(reply.state, [e for e in effects if not isinstance(e, End)] + reply.effects,
                   reply.lang, reply.ended)
    if after is None:
        return joined
    more = after(None if joined.ended else joined.state)
    said = [e for e in joined.effects if not isinstance(e, End)]
    # Two messages that get the same answer (the help text, for one) get it once.
    return Reply(more.state, said + [e for e in more.effects if not (isinstance(e, Say) and e in said)],
                 more.lang, more.ended)


def _finish(state: State, effects: list) -> Reply:
    return Reply(state, effects, state.lang, ended=any(isinstance(e, End) for e in effects))
