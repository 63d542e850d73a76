"""The text conversation as a table: ideas, the language choice and the ballot by text."""
from __future__ import annotations

import unicodedata

from prompts import Code, Localized, Money, When, languages
from sms import parse
from sms.language import detect
from voice_flows.ballot import ask_age, cast, cast_says, choices, clear, vote_route
from voice_flows.machine import (Ctx, Exit, Flow, Gather, Inbound, Parsed, Ref, Say, SaveTextIdea, SetIdeaZip,
                                 SetLanguage, State, Step, goto, say)
from voice_flows.rules import age_outcome, check_choices, grade_outcome, window, zip_outcome

REPLY = Gather()   # for a text, waiting means: the next message answers this step


def _number(judge):
    def parse_it(inbound: Inbound, state: State, ctx: Ctx) -> Parsed:
        outcome, value = parse.integer(inbound.text)
        if outcome != "ok":
            return "bad_number", {}
        return judge(value, ctx.cycle), {"number": value}
    return parse_it


def parse_zip(inbound: Inbound, state: State, ctx: Ctx) -> Parsed:
    outcome, zip_code = parse.zip_code(inbound.text)
    if outcome != "ok":
        return "bad_zip", {}
    return zip_outcome(zip_code, ctx.cycle), {"zip": zip_code}


def parse_yes_no(inbound: Inbound, state: State, ctx: Ctx) -> Parsed:
    return parse.yes_no(inbound.text)[0], {}


# ---- language ----

def language_list(state: State, ctx: Ctx) -> list[Say]:
    names = languages()
    return [Say("language.option", {"key": i, "name": names[tag].name}, lang=tag)
            for i, tag in enumerate(ctx.languages, start=1)]


def parse_language(inbound: Inbound, state: State, ctx: Ctx) -> Parsed:
    outcome, value = parse.integer(inbound.text)
    if outcome == "ok" and 1 <= value <= len(ctx.languages):
        return "ok", {"lang": ctx.languages[value - 1]}
    wanted = parse.normalize(inbound.text)
    for tag, lang in languages().items():   # the name written out works too: "español", "中文"
        if tag in ctx.languages and wanted in (parse.normalize(lang.name), parse.normalize(lang.spoken), tag.lower()):
            return "ok", {"lang": tag}
    return "bad", {}


def set_language(state: State, values: dict, ctx: Ctx) -> list:
    state.lang = values["lang"]
    return [SetLanguage(state.lang)]


def parse_first_language(inbound: Inbound, state: State, ctx: Ctx) -> Parsed:
    # Asked once only: an answer that names no language is a message of its own, and when it is
    # plainly written in a language ("necesitamos más árboles"), that is the resident's language.
    outcome, values = parse_language(inbound, state, ctx)
    if outcome == "ok":
        return outcome, values
    written = detect(inbound.text, ctx.languages)
    return "other", ({"lang": written} if written else {})


def written_language(state: State, values: dict, ctx: Ctx) -> list:
    return set_language(state, values, ctx) if "lang" in values else []


def choose_first_language(state: State, values: dict, ctx: Ctx) -> list:
    state.data["lang_chosen"] = True
    return set_language(state, values, ctx)


# ---- ideas ----

def idea_route(state: State, ctx: Ctx) -> str:
    phase = window(ctx.cycle, ctx.now, "ideas")
    if phase != "open":
        return phase
    return "save" if state.data.get("text") else "ask"


QUOTE_CHARS = 90   # enough to recognise one's own words; the whole text is what is saved


def quote(text: str) -> str:
    """The start of a resident's text, to quote back without crowding out the question."""
    text = " ".join(text.split())
    if len(text) <= QUOTE_CHARS:
        return text
    cut = text[:QUOTE_CHARS].rsplit(" ", 1)[0] if " " in text[:QUOTE_CHARS] else text[:QUOTE_CHARS]
    return cut + "..."


def looks_like_idea(text: str) -> bool:
    """Whether a text out of the blue is worth offering as an idea: not bare numbers (a ballot
    sent too late), not a yes/no, not a greeting of a word or two."""
    if not text.strip() or parse.numbers(text)[0] == "ok" or parse.yes_no(text)[0] != "bad":
        return False
    wide = sum(1 for ch in text if unicodedata.east_asian_width(ch) in "WF")
    return len(text.split()) >= 3 or wide >= 4


def parse_offer(inbound: Inbound, state: State, ctx: Ctx) -> Parsed:
    answer = parse.yes_no(inbound.text)[0]
    if answer in ("yes", "no"):
        return answer, {}
    # More words rather than an answer: an idea sent in several texts. Keep it all.
    return ("more", {"text": inbound.text}) if inbound.text.strip() else ("bad", {})


def add_to_offer(state: State, values: dict, ctx: Ctx) -> list:
    state.data["text"] = f"{state.data.get('text', '')}\n{values['text']}".strip()
    return []


def save_idea(state: State, values: dict, ctx: Ctx) -> list:
    text = values.get("text") or state.data.pop("text", "")
    return [SaveTextIdea(text)]


def parse_text(inbound: Inbound, state: State, ctx: Ctx) -> Parsed:
    return ("ok", {"text": inbound.text}) if inbound.text.strip() else ("bad", {})


def parse_idea_zip(inbound: Inbound, state: State, ctx: Ctx) -> Parsed:
    outcome, zip_code = parse.zip_code(inbound.text)
    # Anything but a ZIP is a new message, not a wrong answer: the ZIP was optional.
    return ("ok", {"zip": zip_code}) if outcome == "ok" else ("other", {})


def _ideas_open(s: State, c: Ctx) -> When:
    return When(c.cycle.ideas_open, c.cycle.timezone)


def _voting_open(s: State, c: Ctx) -> When:
    return When(c.cycle.voting_open, c.cycle.timezone)


# ---- the ballot ----

def ballot_list(state: State, ctx: Ctx) -> list[Say]:
    items = [Say("ballot.list_item", {"number": p.number, "title": Localized(dict(p.title)), "cost": Money(p.cost)})
             for p in ctx.cycle.proposals]
    return [Say("ballot.list_intro", {"count": len(ctx.cycle.proposals), "max": ctx.cycle.max_choices}), *items]


def parse_choices(inbound: Inbound, state: State, ctx: Ctx) -> Parsed:
    outcome, numbers = parse.numbers(inbound.text)
    if outcome != "ok":
        return "bad", {}
    check = check_choices(numbers, ctx.cycle)
    problem = ", ".join(str(n) for n in check.problem)
    return check.outcome, {"numbers": list(check.numbers), "problem": problem, "max": ctx.cycle.max_choices,
                           "count": len(check.numbers)}


def parse_review(inbound: Inbound, state: State, ctx: Ctx) -> Parsed:
    # Numbers first: "1" and "2" are yes/no words on the keypad, but here "2" is proposal 2,
    # never a YES that casts the previous choice.
    if parse.numbers(inbound.text)[0] == "ok":
        return parse_choices(inbound, state, ctx)   # new numbers replace the choice
    answer = parse.yes_no(inbound.text)[0]
    return (answer, {}) if answer in ("yes", "no") else ("bad", {})


def set_choices(state: State, values: dict, ctx: Ctx) -> list:
    state.data["choices"] = values["numbers"]
    return []


def review_says(state: State, ctx: Ctx) -> list[Say]:
    items = [Say("ballot.review_item", {"number": n, "title": Localized(dict(ctx.cycle.proposal(n).title)),
                                        "cost": Money(ctx.cycle.proposal(n).cost)}) for n in choices(state)]
    return [Say("ballot.review", {"count": len(items)}), *items, Say("ballot.review_keys")]


def remember_zip(state: State, values: dict, ctx: Ctx) -> list:
    state.data["zip"] = values["zip"]
    return []


def _end(key: str, **values) -> Step:
    return Step(say=say(key, **values), end=True)


STEPS = {
    # An empty text (a picture alone) is no idea to offer.
    "idle": Step(route=lambda s, c: ("offer" if c.cycle and window(c.cycle, c.now, "ideas") == "open"
                                     and looks_like_idea(s.data.get("text", "")) else "help"),
                 exits={"offer": "idea_offer", "help": "help"}),
    "help": _end("sms.help"),
    "no_cycle": _end("menu.no_cycle"),
    "reprocess": Step(end=True),      # the message was not for this step: handled afresh
    "ask_language": Step(say=language_list, wait=REPLY, parse=parse_language,
                         exits={"ok": Exit("language_set", do=set_language)}),
    "language_set": _end("language.set"),
    # A first text whose language is unclear: ask once, keep the text, then answer it.
    "ask_language_first": Step(say=language_list, wait=REPLY, parse=parse_first_language,
                               exits={"ok": Exit("pending", do=choose_first_language),
                                      "other": Exit("pending", do=written_language)}),
    "pending": Step(end=True),        # sms.handle answers the kept text now
    # ideas
    "idea_route": Step(route=idea_route, exits={"before": "idea_before", "closed": "idea_closed",
                                                "ask": "idea_ask", "save": Exit("idea_saved", do=save_idea)}),
    "idea_before": _end("idea.before", date=_ideas_open),
    "idea_closed": _end("idea.closed"),
    "idea_ask": Step(say="idea.ask", wait=REPLY, parse=parse_text,
                     exits={"ok": Exit("idea_saved", do=save_idea)}),
    "idea_offer": Step(say=say("idea.offer", text=lambda s, c: quote(s.data.get("text", ""))), wait=REPLY,
                       parse=parse_offer,
                       exits={"yes": Exit("idea_saved", do=save_idea), "no": "idea_not_sent",
                              "more": Exit("idea_offer", do=add_to_offer)}),
    "idea_not_sent": _end("idea.not_sent"),
    "idea_saved": Step(say=lambda s, c: [Say("idea.saved", {"ref": Ref("ref_code")}), Say("idea.zip")],
                       wait=REPLY, parse=parse_idea_zip,
                       exits={"ok": Exit("idea_zip_saved", do=lambda s, v, c: [SetIdeaZip(v["zip"])]),
                              "other": "reprocess"}),
    "idea_zip_saved": _end("idea.zip_thanks"),
    # voting
    "vote_route": Step(route=vote_route, exits={"before": "vote_before", "closed": "vote_closed",
                                                "anonymous": "vote_anonymous", "already": "vote_already",
                                                "ok": "ask_age"}),
    "vote_before": _end("vote.before", date=_voting_open),
    "vote_closed": _end("vote.closed"),
    "vote_anonymous": _end("vote.anonymous"),
    "vote_already": _end("vote.already", receipt=lambda s, c: Code(c.receipt)),
    "ask_age": Step(say=ask_age, wait=REPLY, parse=_number(age_outcome),
                    exits={"ok": "ask_zip", "young": "ask_grade", "too_young": "vote_too_young"}),
    "ask_grade": Step(say=say("vote.ask_grade", min_grade=lambda s, c: c.cycle.min_grade), wait=REPLY,
                      parse=_number(grade_outcome), exits={"ok": "ask_zip", "too_young": "vote_too_young"}),
    "vote_too_young": _end("vote.too_young", min_age=lambda s, c: c.cycle.min_age,
                           min_grade=lambda s, c: c.cycle.min_grade),
    "ask_zip": Step(say="vote.ask_zip", wait=REPLY, parse=parse_zip,
                    exits={"ok": Exit("ballot_list", do=clear), "outside": "vote_outside",
                           "shared": Exit("ask_zip_part", do=remember_zip)}),
    "ask_zip_part": Step(say=say("vote.zip_shared", zip=lambda s, c: s.data.get("zip", "")), wait=REPLY,
                         parse=parse_yes_no,
                         exits={"yes": Exit("ballot_list", do=clear), "no": "vote_outside"}),
    "vote_outside": _end("vote.outside"),
    "ballot_list": Step(say=ballot_list, route=goto("next"), exits={"next": "ask_choices"}),
    "ask_choices": Step(say=say("ballot.ask_choices", max=lambda s, c: c.cycle.max_choices), wait=REPLY,
                        parse=parse_choices, exits={"ok": Exit("review", do=set_choices)}),
    "review": Step(say=review_says, wait=REPLY, parse=parse_review,
                   exits={"yes": Exit("cast", do=cast), "no": "ask_choices",
                          "ok": Exit("review", do=set_choices)}),
    "cast": Step(say=cast_says, end=True),
}

TEXT = Flow(
    name="sms", channel="sms", start="idle", goodbye="gave_up",
    steps={**STEPS, "gave_up": _end("sms.gave_up")},
    retry_say={"bad": "sms.not_understood", "bad_zip": "vote.bad_zip", "bad_number": "sms.bad_number",
               "po_box": "vote.zip_po_box",
               "too_many": "ballot.too_many", "duplicate": "ballot.repeated", "unknown": "ballot.unknown",
               "empty": "sms.not_understood"},
)
