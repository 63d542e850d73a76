"""The call's first steps: the language menu and the main menu by the cycle's phase."""
from __future__ import annotations

from prompts import When, languages
from voice_flows import parse
from voice_flows.machine import Ctx, Exit, Gather, Inbound, Parsed, Say, SetLanguage, State, Step, goto, say
from voice_flows.rules import window


FIRST_PAGE = 8     # languages offered at once; 9 opens the others, so common choices stay quick
MORE, FIRST = "9", "0"


def _page(state: State, ctx: Ctx) -> tuple[str, ...]:
    tags = ctx.languages
    if len(tags) <= FIRST_PAGE + 1:     # nine fit on one page
        return tags
    return tags[FIRST_PAGE:] if state.data.get("more_languages") else tags[:FIRST_PAGE]


def language_options(state: State, ctx: Ctx) -> list[Say]:
    # Each option is spoken in its own language, by that language's voice; on the first page
    # each language of the second is told, in itself, to press 9.
    names = languages()
    page = _page(state, ctx)
    says = [Say("language.option", {"key": i, "name": names[tag].spoken}, lang=tag)
            for i, tag in enumerate(page, start=1)]
    rest = [tag for tag in ctx.languages if tag not in page]
    if rest and not state.data.get("more_languages"):
        says += [Say("language.more", {"key": MORE, "name": names[tag].spoken}, lang=tag) for tag in rest]
    return says


def parse_language(inbound: Inbound, state: State, ctx: Ctx) -> Parsed:
    keys = inbound.text.strip()
    page = _page(state, ctx)
    second = bool(state.data.get("more_languages"))
    if keys == MORE and not second and len(page) < len(ctx.languages):
        return "more", {}
    if keys == FIRST and second:
        return "first", {}
    if keys.isdigit() and 1 <= int(keys) <= len(page):
        return "ok", {"lang": page[int(keys) - 1]}
    return parse._common(keys) or "bad", {"key": keys}


def show_page(second: bool):
    def turn(state: State, values: dict, ctx: Ctx) -> list:
        state.data["more_languages"] = second
        return []
    return turn


def set_language(state: State, values: dict, ctx: Ctx) -> list:
    state.lang = values["lang"]
    state.data.pop("more_languages", None)
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
    "start": Step(route=lambda s, c: "no_cycle" if not c.cycle else "line" if c.line_lang else "ask",
                  exits={"ask": "ask_language", "no_cycle": "no_cycle",
                         # a language's own number skips the language menu
                         "line": Exit("menu", do=lambda s, v, c: set_language(s, {"lang": c.line_lang}, c))}),
    "no_cycle": Step(say="menu.no_cycle", end=True),
    "ask_language": Step(say=language_options, wait=Gather(num_digits=1), parse=parse_language,
                         exits={"ok": Exit("menu", do=set_language),
                                "more": Exit("ask_language", do=show_page(True)),
                                "first": Exit("ask_language", do=show_page(False))}),
    "menu": Step(say=main_menu, wait=Gather(num_digits=1), back="ask_language",
                 parse=parse.choice({"1": "about", "2": "idea", "3": "vote", "9": "language"}),
                 exits={"about": "about", "idea": "idea_route", "vote": "vote_route", "language": "ask_language"}),
    "about": Step(say=lambda s, c: [Say("about.pb"), Say("about.eligible"), Say("about.not_eligible")],
                  route=goto("next"), exits={"next": "menu"}),
    "goodbye": Step(say="call.goodbye", end=True),
}
