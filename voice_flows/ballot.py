"""Voting by keypad: eligibility, then the ballot read one by one or typed by number."""
from __future__ import annotations

from prompts import Code, Localized, Money, When
from voice_flows import parse
from voice_flows.machine import (CastBallot, Ctx, Exit, Gather, Inbound, Parsed, Ref, Say, State, Step, goto,
                                 say)
from voice_flows.rules import age_outcome, grade_outcome, window, zip_outcome


def vote_route(state: State, ctx: Ctx) -> str:
    assert ctx.cycle is not None
    phase = window(ctx.cycle, ctx.now, "voting")
    if phase != "open":
        return phase
    if not ctx.can_vote:
        return "anonymous"
    return "already" if ctx.receipt else "ok"


def parse_number(judge):
    """A number typed then '#', judged against the cycle by `judge(number, cycle)`."""
    def parse_it(inbound: Inbound, state: State, ctx: Ctx) -> Parsed:
        outcome, keys = parse.digits(inbound)
        if outcome:
            return outcome, {}
        return judge(int(keys), ctx.cycle), {"number": int(keys)}
    return parse_it


def parse_zip(inbound: Inbound, state: State, ctx: Ctx) -> Parsed:
    outcome, keys = parse.digits(inbound)
    if outcome:
        return outcome, {}
    zip_code = parse.zip_code(keys)
    if zip_code is None:
        return "bad_zip", {}
    return zip_outcome(zip_code, ctx.cycle), {"zip": zip_code}


def remember_zip(state: State, values: dict, ctx: Ctx) -> list:
    state.data["zip"] = values["zip"]
    return []


def choices(state: State) -> list[int]:
    return state.data.setdefault("choices", [])


def proposal_vars(number: int, ctx: Ctx) -> dict:
    p = ctx.cycle.proposal(number)
    return {"number": number, "title": Localized(dict(p.title)), "cost": Money(p.cost)}


def added(number: int, state: State, ctx: Ctx) -> Say:
    return Say("ballot.added", {"number": number, "count": len(choices(state)), "max": ctx.cycle.max_choices})


# ---- reading the proposals one by one ----

def current(state: State, ctx: Ctx) -> int:
    return ctx.cycle.proposals[state.data.get("cursor", 0)].number


def browse_prompt(state: State, ctx: Ctx) -> list[Say]:
    number = current(state, ctx)
    says = [Say("ballot.proposal", proposal_vars(number, ctx))]
    if number in choices(state):
        says.append(Say("ballot.browse_chosen"))
    return says + [Say("ballot.browse_keys")]


def toggle(state: State, values: dict, ctx: Ctx) -> list:
    number = current(state, ctx)
    if number in choices(state):
        choices(state).remove(number)
        state.data["cursor"] = state.data.get("cursor", 0) + 1
        return [Say("ballot.removed", {"number": number})]
    if len(choices(state)) >= ctx.cycle.max_choices:
        # A full ballot can still be browsed and changed: unchoose one first.
        return [Say("ballot.full", {"max": ctx.cycle.max_choices})]
    choices(state).append(number)
    state.data["cursor"] = state.data.get("cursor", 0) + 1
    if len(choices(state)) == ctx.cycle.max_choices:
        state.data["filled"] = True
    return [added(number, state, ctx)]


def skip(state: State, values: dict, ctx: Ctx) -> list:
    state.data["cursor"] = state.data.get("cursor", 0) + 1
    return []


def browse_next(state: State, ctx: Ctx) -> str:
    if state.data.pop("filled", False):     # the choice just made filled the ballot
        return "full"
    if state.data.get("cursor", 0) < len(ctx.cycle.proposals):
        return "more"
    return "end"


def from_start(state: State, values: dict, ctx: Ctx) -> list:
    state.data["cursor"] = 0
    return []


def previous(state: State, values: dict, ctx: Ctx) -> list:
    state.data["cursor"] = max(0, state.data.get("cursor", 0) - 1)
    return []


# ---- typing proposal numbers ----

def parse_direct(inbound: Inbound, state: State, ctx: Ctx) -> Parsed:
    outcome, keys = parse.digits(inbound)
    if outcome == "timeout":            # '#' alone (or silence): done, if anything is chosen
        return ("done", {}) if choices(state) else ("nothing", {})
    if outcome:
        return outcome, {}
    number = int(keys)
    if ctx.cycle.proposal(number) is None:
        return "unknown", {"number": number}
    if number in choices(state):
        return "duplicate", {"number": number}
    if len(choices(state)) >= ctx.cycle.max_choices:
        return "full", {}
    return "add", {"number": number}


def add(state: State, values: dict, ctx: Ctx) -> list:
    choices(state).append(values["number"])
    return [added(values["number"], state, ctx)]


def chosen_route(state: State, ctx: Ctx) -> str:
    if len(choices(state)) >= ctx.cycle.max_choices:
        return "full"
    return "more"


# ---- review and cast ----

def review_prompt(state: State, ctx: Ctx) -> list[Say]:
    items = [Say("ballot.review_item", proposal_vars(n, ctx)) for n in choices(state)]
    return [Say("ballot.review", {"count": len(choices(state))}), *items, Say("ballot.review_keys")]


def cast(state: State, values: dict, ctx: Ctx) -> list:
    # On a race lost to another channel the step is run again with the receipt known:
    # then nothing is cast and the caller hears the ballot that already counts.
    if ctx.receipt:
        state.data["already"] = True
        return []
    state.data.pop("already", None)
    numbers = tuple(choices(state))
    state.data["choices"] = []   # the choices leave the conversation: only the ballot keeps them
    return [CastBallot(numbers)]


def cast_says(state: State, ctx: Ctx) -> list[Say]:
    receipt = Code(ctx.receipt) if ctx.receipt else Ref("receipt")
    key = "vote.already" if state.data.get("already") else "ballot.cast"
    return [Say(key, {"receipt": receipt})]


def clear(state: State, values: dict, ctx: Ctx) -> list:
    state.data["choices"] = []
    return []


def ask_age(state: State, ctx: Ctx) -> list[Say]:
    c = ctx.cycle
    if c.min_grade is None:   # a cycle may set an age rule only
        return [Say("vote.ask_age_only", {"min_age": c.min_age})]
    return [Say("vote.ask_age", {"min_age": c.min_age, "min_grade": c.min_grade})]


def to_menu(key: str, **values) -> Step:
    return Step(say=say(key, **values), route=goto("next"), exits={"next": "menu"})


def _opens(s: State, c: Ctx) -> When:
    return When(c.cycle.voting_open, c.cycle.timezone)


STEPS = {
    "vote_route": Step(route=vote_route, exits={"before": "vote_before", "closed": "vote_closed",
                                                "anonymous": "vote_anonymous", "already": "vote_already",
                                                "ok": "ask_age"}),
    "vote_before": to_menu("vote.before", date=_opens),
    "vote_closed": to_menu("vote.closed"),
    "vote_anonymous": to_menu("vote.anonymous"),
    "vote_already": to_menu("vote.already", receipt=lambda s, c: Code(c.receipt)),
    "ask_age": Step(say=ask_age, wait=Gather(), parse=parse_number(age_outcome), back="menu",
                    exits={"ok": "ask_zip", "young": "ask_grade", "too_young": "vote_too_young"}),
    "ask_grade": Step(say=say("vote.ask_grade", min_grade=lambda s, c: c.cycle.min_grade), wait=Gather(),
                      parse=parse_number(grade_outcome), back="ask_age",
                      exits={"ok": "ask_zip", "too_young": "vote_too_young"}),
    "vote_too_young": to_menu("vote.too_young", min_age=lambda s, c: c.cycle.min_age,
                              min_grade=lambda s, c: c.cycle.min_grade),
    "ask_zip": Step(say="vote.ask_zip", wait=Gather(), parse=parse_zip, back="ask_age",
                    exits={"ok": Exit("ballot_intro", do=clear), "outside": "vote_outside",
                           "shared": Exit("ask_zip_part", do=remember_zip)}),
    "ask_zip_part": Step(say=say("vote.zip_shared", zip=lambda s, c: s.data.get("zip", "")),
                         wait=Gather(num_digits=1), back="ask_zip",
                         parse=parse.choice({"1": "inside", "2": "outside"}),
                         exits={"inside": Exit("ballot_intro", do=clear), "outside": "vote_outside"}),
    "vote_outside": Step(say="vote.outside", wait=Gather(num_digits=1), back="menu",
                         parse=parse.choice({"1": "retry"}), exits={"retry": "ask_zip"}),
    "ballot_intro": Step(say=say("ballot.intro", count=lambda s, c: len(c.cycle.proposals),
                                 max=lambda s, c: c.cycle.max_choices),
                         wait=Gather(num_digits=1), back="ask_zip",
                         parse=parse.choice({"1": "browse", "2": "direct"}),
                         exits={"browse": Exit("browse", do=from_start), "direct": "direct"}),
    "browse": Step(say=browse_prompt, wait=Gather(num_digits=1),
                   parse=parse.choice({"1": "choose", "2": "skip", "9": "review", "0": "back"}),
                   exits={"choose": Exit("browse_next", do=toggle), "skip": Exit("browse_next", do=skip),
                          "review": "review_route", "back": "browse_back"}),
    "browse_back": Step(route=lambda s, c: "first" if s.data.get("cursor", 0) == 0 else "previous",
                        exits={"first": "ballot_intro", "previous": Exit("browse", do=previous)}),
    "browse_next": Step(route=browse_next, exits={"full": "ballot_full", "more": "browse", "end": "review_route"}),
    "direct": Step(say=say("ballot.direct", count=lambda s, c: len(c.cycle.proposals),
                           max=lambda s, c: c.cycle.max_choices),
                   wait=Gather(), parse=parse_direct, back="ballot_intro",
                   exits={"add": Exit("direct_next", do=add), "done": "review_route", "full": "ballot_full",
                          "duplicate": Exit("direct", do=lambda s, v, c: [Say("ballot.duplicate", v)])}),
    "direct_next": Step(route=chosen_route, exits={"full": "ballot_full", "more": "direct"}),
    "ballot_full": Step(say=say("ballot.full", max=lambda s, c: c.cycle.max_choices),
                        route=goto("next"), exits={"next": "review"}),
    "review_route": Step(route=lambda s, c: "chosen" if choices(s) else "empty",
                         exits={"chosen": "review", "empty": "ballot_none"}),
    "ballot_none": Step(say="ballot.none", route=goto("next"), exits={"next": "ballot_intro"}),
    "review": Step(say=review_prompt, wait=Gather(num_digits=1), back="ballot_intro",
                   parse=parse.choice({"1": "confirm", "2": "change"}),
                   exits={"confirm": Exit("cast", do=cast), "change": Exit("ballot_intro", do=clear)}),
    "cast": Step(say=lambda s, c: cast_says(s, c) + [Say("ballot.after")], wait=Gather(num_digits=1), parse=parse.choice({"1": "menu"}),
                 exits={"menu": "menu"}),
}
