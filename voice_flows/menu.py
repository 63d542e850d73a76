"""The call's first steps: the language menu and the main menu by the cycle's phase."""
from __future__ import annotations

from prompts import When, languages
from voice_flows import parse
from voice_flows.machine import Ctx, Exit, Gather, Inbound, Parsed, Say, SetLanguage, State, Step, goto, say
from voice_flows.rules import window


def language_options(state: State, ctx: Ctx) -> list[Say]:
    # Each option is spoken in its own language, by that language's voice.
    names = languages()
    return [Say("language.option", {"key": i, "name": names[tag].spoken}, lang=tag)
            for i, tag in enumerate(ctx.languages, start=1)]


def parse_language(inbound: Inbound, state: State, ctx: Ctx) -> Parsed:
    keys = inbound.text.strip()
    if keys.isdigit() and 1 <= int(keys) <= len(ctx.languages):
        return "ok", {"lang": ctx.languages[int(keys) - 1]}
    return parse._common(keys) or "bad", {"key": keys}


def set_language(state: State, values: dict, ctx: Ctx) -> list:
    state.lang = values["lang"]
    return [SetLanguage(state.lang)]


def main_menu(state: State, ctx: Ctx) -> list[Say]:
    """The options the cycle's phase allows, and when the closed ones open."""
    assert ctx.cycle is not None
    c = ctx.cycle
    says = [Say("menu.intro"), Say("menu.about")]
    for which, opens in (("ideas", c.ideas_open), ("voting", c.voting_open)):
        phase = window(c, ctx.now, which)
        says.append(Say(f"menu.{which}.{phase}", {"date": When(opens, c.timezone)}))
    return says + [Say("menu.language")]


STEPS = {
    "start": Step(route=lambda s, c: "ok" if c.cycle else "no_cycle",
                  exits={"ok": "ask_language", "no_cycle": "no_cycle"}),
    "no_cycle": Step(say="menu.no_cycle", end=True),
    "ask_language": Step(say=language_options, wait=Gather(num_digits=1), parse=parse_language,
                         exits={"ok": Exit("menu", do=set_language)}),
    "menu": Step(say=main_menu, wait=Gather(num_digits=1), back="ask_language",
                 parse=parse.choice({"1": "about", "2": "idea", "3": "vote", "9": "language"}),
                 exits={"about": "about", "idea": "idea_route", "vote": "vote_route", "language": "ask_language"}),
    "about": Step(say=lambda s, c: [Say("about.pb"), Say("about.eligible"), Say("about.not_eligible")],
                  route=goto("next"), exits={"next": "menu"}),
    "goodbye": Step(say="call.goodbye", end=True),
}
