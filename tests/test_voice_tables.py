"""The flow tables as data: every table is consistent, and `run_step` walks them purely.

No Flask and no database here: the cycle and the caller's context are built by hand.
"""
from __future__ import annotations

import copy
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import pytest

import prompts
from prompts import Code
from sms.flow import TEXT
from voice_flows import VOICE
from voice_flows.machine import (CastBallot, Ctx, CycleView, Exit, Flow, FlowError, Gather, Hangup, Inbound,
                                 ProposalView, Record, RecordingInfo, Ref, SaveRecordedIdea, Say, SetIdeaZip,
                                 SetLanguage, State, Step, WithdrawIdea, run_step, start, validate)

NOW = datetime(2026, 1, 20, 17, 0)
DAY = timedelta(days=1)
LANGUAGES = ("en", "es", "zh-Hant", "zh-Hans")
MENU = ["menu.intro", "menu.about", "menu.ideas.open", "menu.voting.open", "menu.language"]
LANGUAGE_MENU = ["language.option"] * len(LANGUAGES)


def by_description(rows: list[dict[str, Any]]) -> Any:
    return pytest.mark.parametrize("row", rows, ids=[row["description"] for row in rows])


def make_cycle(**changes: Any) -> CycleView:
    """Five proposals, at most three choices, both windows open at NOW."""
    base = CycleView(
        id=1, name="Table test", timezone="America/New_York",
        ideas_open=NOW - DAY, ideas_close=NOW + 30 * DAY, voting_open=NOW - DAY, voting_close=NOW + 30 * DAY,
        budget_cap=1_000_000, max_choices=3, min_age=11, min_grade=6,
        residency={"02118": "residential", "02467": "shared", "02201": "po-box"},
        proposals=tuple(ProposalView(n, n * 10_000, {"en": f"Project {n}"}, {}) for n in range(1, 6)))
    return replace(base, **changes)


def make_ctx(*, cycle: dict[str, Any] | None = None, **changes: Any) -> Ctx:
    return Ctx(now=NOW, cycle=make_cycle(**(cycle or {})), languages=LANGUAGES, **changes)


def recording(duration: int, sid: str = "RE" + "2" * 32) -> RecordingInfo:
    return RecordingInfo(sid=sid, url=f"https://api.twilio.com/2010-04-01/Accounts/AC1/Recordings/{sid}",
                         duration=duration)


EARLIER = "RE" + "1" * 32

# Each row: the step the call is at (`data`, `tries_before`: what the state already holds; `cycle`,
# `ctx`: changes to the world), what the caller does (`keys` or a `recording`), the step it ends
# at (`to`), the prompts said on the way and the other effects, both in order, and the state after
# (`tries`, `lang`, `data_after`, `data_lacks`).
VOICE_ROWS: list[dict[str, Any]] = [
    # language and main menu
    {"description": "language 2 switches to Spanish", "node": "ask_language", "keys": "2",
     "to": "menu", "says": MENU, "effects": [SetLanguage("es"), Gather(num_digits=1)], "lang": "es"},
    {"description": "language 4 is Mandarin", "node": "ask_language", "keys": "4",
     "to": "menu", "says": MENU, "effects": [SetLanguage("zh-Hans"), Gather(num_digits=1)], "lang": "zh-Hans"},
    {"description": "language 5 is not offered", "node": "ask_language", "keys": "5",
     "to": "ask_language", "says": ["call.bad_key", *LANGUAGE_MENU], "effects": [Gather(num_digits=1)], "tries": 1},
    {"description": "silence at the language menu", "node": "ask_language", "keys": "",
     "to": "ask_language", "says": ["call.timeout", *LANGUAGE_MENU], "effects": [Gather(num_digits=1)], "tries": 1},
    {"description": "menu 1 explains PB and comes back", "node": "menu", "keys": "1", "to": "menu",
     "says": ["about.pb", "about.eligible", "about.not_eligible", *MENU], "effects": [Gather(num_digits=1)]},
    {"description": "menu 2 while ideas are open records", "node": "menu", "keys": "2", "to": "idea_record",
     "says": ["idea.intro", "idea.record"], "effects": [Record(max_length=180)]},
    {"description": "menu 2 before ideas open says when", "node": "menu", "keys": "2", "to": "menu",
     "cycle": {"ideas_open": NOW + DAY, "ideas_close": NOW + 9 * DAY},
     "says": ["idea.before", "menu.intro", "menu.about", "menu.ideas.before", "menu.voting.open", "menu.language"],
     "effects": [Gather(num_digits=1)]},
    {"description": "menu 3 after voting closed", "node": "menu", "keys": "3", "to": "menu",
     "cycle": {"voting_open": NOW - 9 * DAY, "voting_close": NOW - DAY},
     "says": ["vote.closed", "menu.intro", "menu.about", "menu.ideas.open", "menu.voting.closed", "menu.language"],
     "effects": [Gather(num_digits=1)]},
    {"description": "menu 3 from a withheld number", "node": "menu", "keys": "3", "ctx": {"can_vote": False},
     "to": "menu", "says": ["vote.anonymous", *MENU], "effects": [Gather(num_digits=1)]},
    {"description": "menu 3 after voting hears the receipt", "node": "menu", "keys": "3",
     "ctx": {"receipt": "12345678"}, "to": "menu", "says": ["vote.already", *MENU],
     "effects": [Gather(num_digits=1)]},
    {"description": "menu 3 asks the age", "node": "menu", "keys": "3", "to": "ask_age",
     "says": ["vote.ask_age"], "effects": [Gather()]},
    {"description": "menu 0 goes back to the languages", "node": "menu", "keys": "0", "to": "ask_language",
     "says": LANGUAGE_MENU, "effects": [Gather(num_digits=1)]},
    {"description": "menu star repeats", "node": "menu", "keys": "*", "to": "menu", "says": MENU,
     "effects": [Gather(num_digits=1)]},
    # age, grade, ZIP
    {"description": "age 34 goes on to the ZIP", "node": "ask_age", "keys": "34#", "to": "ask_zip",
     "says": ["vote.ask_zip"], "effects": [Gather()]},
    {"description": "age 10 asks the grade", "node": "ask_age", "keys": "10#", "to": "ask_grade",
     "says": ["vote.ask_grade"], "effects": [Gather()]},
    {"description": "age 200 is a typing slip", "node": "ask_age", "keys": "200#", "to": "ask_age",
     "says": ["call.bad_number", "vote.ask_age"], "effects": [Gather()], "tries": 1},
    {"description": "age 0 goes back to the menu", "node": "ask_age", "keys": "0#", "to": "menu",
     "says": MENU, "effects": [Gather(num_digits=1)]},
    {"description": "grade 6 may vote", "node": "ask_grade", "keys": "6#", "to": "ask_zip",
     "says": ["vote.ask_zip"], "effects": [Gather()]},
    {"description": "grade 4 is told kindly, back to the menu", "node": "ask_grade", "keys": "4#", "to": "menu",
     "says": ["vote.too_young", *MENU], "effects": [Gather(num_digits=1)]},
    {"description": "no grade rule: age alone decides", "node": "ask_grade", "keys": "12#", "to": "menu",
     "cycle": {"min_grade": None}, "says": ["vote.too_young", *MENU], "effects": [Gather(num_digits=1)]},
    {"description": "city ZIP opens the ballot with no choices", "node": "ask_zip", "keys": "02118#",
     "data": {"choices": [2]}, "to": "ballot_intro", "says": ["ballot.intro"], "effects": [Gather(num_digits=1)],
     "data_after": {"choices": []}},
    {"description": "ZIP+4 is read as its ZIP", "node": "ask_zip", "keys": "021181234#", "to": "ballot_intro",
     "says": ["ballot.intro"], "effects": [Gather(num_digits=1)]},
    {"description": "Cambridge ZIP is outside", "node": "ask_zip", "keys": "02139#", "to": "vote_outside",
     "says": ["vote.outside"], "effects": [Gather(num_digits=1)]},
    {"description": "shared ZIP asks which part, naming it", "node": "ask_zip", "keys": "02467#",
     "to": "ask_zip_part", "says": ["vote.zip_shared"], "effects": [Gather(num_digits=1)],
     "data_after": {"zip": "02467"}},
    {"description": "PO-box ZIP is explained and asked again", "node": "ask_zip", "keys": "02201#",
     "to": "ask_zip", "says": ["vote.zip_po_box", "vote.ask_zip"], "effects": [Gather()], "tries": 1},
    {"description": "four digits are not a ZIP", "node": "ask_zip", "keys": "2118#", "to": "ask_zip",
     "says": ["vote.bad_zip", "vote.ask_zip"], "effects": [Gather()], "tries": 1},
    {"description": "Boston part of a shared ZIP", "node": "ask_zip_part", "keys": "1", "data": {"zip": "02467"},
     "to": "ballot_intro", "says": ["ballot.intro"], "effects": [Gather(num_digits=1)]},
    {"description": "other part of a shared ZIP", "node": "ask_zip_part", "keys": "2", "data": {"zip": "02467"},
     "to": "vote_outside", "says": ["vote.outside"], "effects": [Gather(num_digits=1)]},
    {"description": "outside, 1 tries the ZIP again", "node": "vote_outside", "keys": "1", "to": "ask_zip",
     "says": ["vote.ask_zip"], "effects": [Gather()]},
    # browsing the ballot
    {"description": "browse starts at the first proposal", "node": "ballot_intro", "keys": "1",
     "data": {"choices": [], "cursor": 3}, "to": "browse", "says": ["ballot.proposal", "ballot.browse_keys"],
     "effects": [Gather(num_digits=1)], "data_after": {"cursor": 0}},
    {"description": "browse 1 chooses and reads the next", "node": "browse", "keys": "1",
     "data": {"choices": [], "cursor": 0}, "to": "browse",
     "says": ["ballot.added", "ballot.proposal", "ballot.browse_keys"], "effects": [Gather(num_digits=1)],
     "data_after": {"choices": [1], "cursor": 1}},
    {"description": "browse 1 on a chosen one unchooses it", "node": "browse", "keys": "1",
     "data": {"choices": [1], "cursor": 0}, "to": "browse",
     "says": ["ballot.removed", "ballot.proposal", "ballot.browse_keys"], "effects": [Gather(num_digits=1)],
     "data_after": {"choices": []}},
    {"description": "browse 1 reaching the maximum goes to the review", "node": "browse", "keys": "1",
     "data": {"choices": [1, 2], "cursor": 2}, "to": "review",
     "says": ["ballot.added", "ballot.full", "ballot.review", "ballot.review_item", "ballot.review_item",
              "ballot.review_item", "ballot.review_keys"],
     "effects": [Gather(num_digits=1)], "data_after": {"choices": [1, 2, 3]}},
    {"description": "browse 1 on a full ballot adds nothing and stays on the proposal", "node": "browse",
     "keys": "1", "data": {"choices": [2, 3, 4], "cursor": 0}, "to": "browse",
     "says": ["ballot.full", "ballot.proposal", "ballot.browse_keys"],
     "effects": [Gather(num_digits=1)], "data_after": {"choices": [2, 3, 4], "cursor": 0}},
    {"description": "browse 2 on a full ballot goes on to the next proposal", "node": "browse", "keys": "2",
     "data": {"choices": [2, 3, 4], "cursor": 0}, "to": "browse",
     "says": ["ballot.proposal", "ballot.browse_chosen", "ballot.browse_keys"],
     "effects": [Gather(num_digits=1)], "data_after": {"choices": [2, 3, 4], "cursor": 1}},
    {"description": "browse 2 past the last with none chosen", "node": "browse", "keys": "2",
     "data": {"choices": [], "cursor": 4}, "to": "ballot_intro", "says": ["ballot.none", "ballot.intro"],
     "effects": [Gather(num_digits=1)]},
    {"description": "browse star repeats the same proposal", "node": "browse", "keys": "*",
     "data": {"choices": [], "cursor": 2}, "to": "browse", "says": ["ballot.proposal", "ballot.browse_keys"],
     "effects": [Gather(num_digits=1)], "data_after": {"cursor": 2}},
    {"description": "browse 0 reads the previous one", "node": "browse", "keys": "0",
     "data": {"choices": [2], "cursor": 2}, "to": "browse",
     "says": ["ballot.proposal", "ballot.browse_chosen", "ballot.browse_keys"], "effects": [Gather(num_digits=1)],
     "data_after": {"cursor": 1}},
    {"description": "browse 0 at the first goes back to the modes", "node": "browse", "keys": "0",
     "data": {"choices": [], "cursor": 0}, "to": "ballot_intro", "says": ["ballot.intro"],
     "effects": [Gather(num_digits=1)]},
    {"description": "browse 9 reviews", "node": "browse", "keys": "9", "data": {"choices": [4], "cursor": 0},
     "to": "review", "says": ["ballot.review", "ballot.review_item", "ballot.review_keys"],
     "effects": [Gather(num_digits=1)]},
    # typing numbers
    {"description": "typed number is chosen", "node": "direct", "keys": "3#", "data": {"choices": []},
     "to": "direct", "says": ["ballot.added", "ballot.direct"], "effects": [Gather()],
     "data_after": {"choices": [3]}},
    {"description": "typed unknown number is explained", "node": "direct", "keys": "9#", "data": {"choices": []},
     "to": "direct", "says": ["ballot.unknown", "ballot.direct"], "effects": [Gather()], "tries": 1},
    {"description": "typed number twice is explained", "node": "direct", "keys": "3#", "data": {"choices": [3]},
     "to": "direct", "says": ["ballot.duplicate", "ballot.direct"], "effects": [Gather()],
     "data_after": {"choices": [3]}},
    {"description": "pound alone with choices reviews", "node": "direct", "keys": "#", "data": {"choices": [3]},
     "to": "review", "says": ["ballot.review", "ballot.review_item", "ballot.review_keys"],
     "effects": [Gather(num_digits=1)]},
    {"description": "pound alone with no choice asks again", "node": "direct", "keys": "#", "data": {"choices": []},
     "to": "direct", "says": ["ballot.none", "ballot.direct"], "effects": [Gather()], "tries": 1},
    {"description": "typed number on a full ballot adds nothing", "node": "direct", "keys": "5#",
     "data": {"choices": [1, 2, 3]}, "to": "review",
     "says": ["ballot.full", "ballot.review", "ballot.review_item", "ballot.review_item", "ballot.review_item",
              "ballot.review_keys"], "effects": [Gather(num_digits=1)], "data_after": {"choices": [1, 2, 3]}},
    # review and cast
    {"description": "review 1 casts the ballot", "node": "review", "keys": "1", "data": {"choices": [2, 5]},
     "to": "cast", "says": ["ballot.cast", "ballot.after"], "effects": [CastBallot((2, 5)), Gather(num_digits=1)]},
    {"description": "review 1 after another channel voted casts nothing", "node": "review", "keys": "1",
     "data": {"choices": [2, 5]}, "ctx": {"receipt": "87654321"}, "to": "cast",
     "says": ["vote.already", "ballot.after"], "effects": [Gather(num_digits=1)]},
    {"description": "review 2 clears the choices", "node": "review", "keys": "2", "data": {"choices": [2, 5]},
     "to": "ballot_intro", "says": ["ballot.intro"], "effects": [Gather(num_digits=1)],
     "data_after": {"choices": []}},
    {"description": "after casting, 1 is the main menu", "node": "cast", "keys": "1", "ctx": {"receipt": "87654321"},
     "to": "menu", "says": MENU, "effects": [Gather(num_digits=1)]},
    # ideas
    {"description": "a recording is saved at once", "node": "idea_record", "recording": recording(12),
     "to": "idea_review", "says": ["idea.review"],
     "effects": [SaveRecordedIdea(recording(12)), Gather(num_digits=1)],
     "data_after": {"recording_sid": recording(12).sid}},
    {"description": "a zero-second recording is not an idea", "node": "idea_record", "recording": recording(0),
     "to": "idea_record", "says": ["idea.empty", "idea.record"], "effects": [Record(max_length=180)], "tries": 1},
    {"description": "keys instead of a recording", "node": "idea_record", "keys": "5",
     "to": "idea_record", "says": ["idea.empty", "idea.record"], "effects": [Record(max_length=180)], "tries": 1},
    {"description": "recording again saves the new idea, then withdraws the old", "node": "idea_record",
     "recording": recording(9), "data": {"recording_sid": EARLIER}, "to": "idea_review", "says": ["idea.review"],
     "effects": [SaveRecordedIdea(recording(9)), WithdrawIdea(EARLIER), Gather(num_digits=1)]},
    {"description": "a new idea in the same call forgets the earlier one", "node": "menu", "keys": "2",
     "data": {"recording_sid": EARLIER, "idea_ref": "1234567"}, "to": "idea_record",
     "says": ["idea.intro", "idea.record"], "effects": [Record(max_length=180)], "data_lacks": ["recording_sid"]},
    {"description": "idea review 1 keeps it and asks the ZIP", "node": "idea_review", "keys": "1",
     "data": {"recording_sid": EARLIER}, "to": "idea_zip", "says": ["idea.zip"], "effects": [Gather()]},
    {"description": "idea review 2 records again", "node": "idea_review", "keys": "2",
     "data": {"recording_sid": EARLIER}, "to": "idea_record", "says": ["idea.record"],
     "effects": [Record(max_length=180)]},
    {"description": "idea review 3 withdraws it", "node": "idea_review", "keys": "3",
     "data": {"recording_sid": EARLIER}, "to": "menu", "says": ["idea.cancelled", *MENU],
     "effects": [WithdrawIdea(EARLIER), Gather(num_digits=1)], "data_lacks": ["recording_sid"]},
    {"description": "idea ZIP is kept and the reference read", "node": "idea_zip", "keys": "02118#",
     "ctx": {"idea_ref": "1234567"}, "to": "menu", "says": ["idea.thanks", *MENU],
     "effects": [SetIdeaZip("02118"), Gather(num_digits=1)]},
    {"description": "idea ZIP skipped with pound", "node": "idea_zip", "keys": "#", "ctx": {"idea_ref": "1234567"},
     "to": "menu", "says": ["idea.thanks", *MENU], "effects": [Gather(num_digits=1)]},
    {"description": "idea ZIP of three digits", "node": "idea_zip", "keys": "021#", "to": "idea_zip",
     "says": ["vote.bad_zip", "idea.zip"], "effects": [Gather()], "tries": 1},
    # giving up
    {"description": "third silence says goodbye and hangs up", "node": "ask_zip", "keys": "", "tries_before": 2,
     "to": "goodbye", "says": ["call.goodbye"], "effects": [Hangup()]},
    {"description": "third wrong key says goodbye too", "node": "review", "keys": "7", "tries_before": 2,
     "data": {"choices": [1]}, "to": "goodbye", "says": ["call.goodbye"], "effects": [Hangup()]},
]


def _render_all(says: list[Say], lang: str, channel: str) -> None:
    for s in says:
        values = {k: (Code("1234") if isinstance(v, Ref) else v) for k, v in s.vars.items()}
        prompts.render(s.key, s.lang or lang, channel, values)


@by_description(VOICE_ROWS)
def test_voice_step(row: dict[str, Any]) -> None:
    ctx = make_ctx(cycle=row.get("cycle"), **row.get("ctx", {}))
    state = State(node=row["node"], tries=row.get("tries_before", 0), data=copy.deepcopy(row.get("data", {})))
    before = copy.deepcopy(state)
    inbound = Inbound(channel="voice", text=row.get("keys", ""), recording=row.get("recording"))

    new, effects = run_step(VOICE, state, inbound, ctx)

    assert state == before, "run_step changed the state it was given"
    assert new.node == row["to"]
    assert [e.key for e in effects if isinstance(e, Say)] == row["says"]
    assert [e for e in effects if not isinstance(e, Say)] == row["effects"]
    assert new.lang == row.get("lang", "en")
    assert new.tries == row.get("tries", 0)
    for k, v in row.get("data_after", {}).items():
        assert new.data.get(k) == v, k
    for k in row.get("data_lacks", []):
        assert k not in new.data
    _render_all([e for e in effects if isinstance(e, Say)], new.lang, "voice")


def test_call_without_a_cycle_says_so_and_hangs_up() -> None:
    state, effects = start(VOICE, "en", Ctx(now=NOW, cycle=None))
    assert state.node == "no_cycle"
    assert effects == [Say("menu.no_cycle"), Hangup()]


def test_call_starts_at_the_language_menu_each_option_in_its_language() -> None:
    state, effects = start(VOICE, "en", make_ctx())
    assert state.node == "ask_language"
    options = [e for e in effects if isinstance(e, Say)]
    assert [(s.key, s.lang, s.vars["key"]) for s in options] == [
        ("language.option", lang, i) for i, lang in enumerate(LANGUAGES, start=1)]
    assert effects[-1] == Gather(num_digits=1)


def test_tries_count_across_silences_and_wrong_keys() -> None:
    ctx, state = make_ctx(), State(node="ballot_intro")
    for keys, expected in (("", 1), ("7", 2)):
        state, _ = run_step(VOICE, state, Inbound("voice", keys), ctx)
        assert (state.node, state.tries) == ("ballot_intro", expected)
    state, effects = run_step(VOICE, state, Inbound("voice", "*"), ctx)   # star repeats, does not count
    assert (state.node, state.tries) == ("ballot_intro", 2)
    state, effects = run_step(VOICE, state, Inbound("voice", ""), ctx)
    assert state.node == "goodbye" and effects[-1] == Hangup()


def test_a_good_answer_resets_the_tries() -> None:
    ctx = make_ctx()
    state, _ = run_step(VOICE, State(node="ask_age", tries=2), Inbound("voice", "34#"), ctx)
    assert (state.node, state.tries) == ("ask_zip", 0)


# ---- every table is consistent ----

@pytest.mark.parametrize("flow", [VOICE, TEXT], ids=["voice", "sms"])
def test_every_table_is_consistent(flow: Flow) -> None:
    validate(flow, prompts.has)


def _sample_state(node: str) -> State:
    return State(node=node, data={"choices": [1, 2], "cursor": 1, "zip": "02467", "text": "More benches",
                                  "idea_ref": "1234567"})


@pytest.mark.parametrize("flow, channel", [(VOICE, "voice"), (TEXT, "sms")], ids=["voice", "sms"])
def test_every_prompt_a_step_says_renders_with_its_variables(flow: Flow, channel: str) -> None:
    """A prompt key whose text needs a variable the step does not give fails here, not on a call."""
    ctx = make_ctx(receipt="12345678", idea_ref="1234567")
    problems = []
    for name, step in flow.steps.items():
        if step.say is None:
            continue
        says = [Say(step.say)] if isinstance(step.say, str) else list(step.say(_sample_state(name), ctx))
        try:
            _render_all(says, "en", channel)
        except (KeyError, IndexError) as e:
            problems.append(f"{name}: {e!r}")
    assert not problems


def _broken(flow: Flow, **steps: Step) -> Flow:
    return replace(flow, steps={**flow.steps, **steps})


BROKEN = [
    {"description": "exit to a missing step",
     "flow": _broken(VOICE, menu=replace(VOICE["menu"], exits={**VOICE["menu"].exits, "about": "abuot"})),
     "error": "menu: exit to missing step 'abuot'"},
    {"description": "action exit to a missing step",
     "flow": _broken(VOICE, review=replace(VOICE["review"], exits={**VOICE["review"].exits,
                                                                   "confirm": Exit("casting")})),
     "error": "review: exit to missing step 'casting'"},
    {"description": "back to a missing step",
     "flow": _broken(VOICE, ask_zip=replace(VOICE["ask_zip"], back="ask_ages")),
     "error": "ask_zip: exit to missing step 'ask_ages'"},
    {"description": "prompt key not in the catalog",
     "flow": _broken(VOICE, idea_review=replace(VOICE["idea_review"], say="idea.reveiw")),
     "error": "idea_review: prompt 'idea.reveiw' is not in the catalog"},
    {"description": "retry prompt not in the catalog",
     "flow": replace(VOICE, retry_say={**VOICE.retry_say, "bad": "call.bad_kye"}),
     "error": "retry prompt 'call.bad_kye' is not in the catalog"},
    {"description": "start step missing", "flow": replace(VOICE, start="begin"),
     "error": "start step 'begin' is missing"},
    {"description": "waits without a parser",
     "flow": _broken(VOICE, lonely=Step(say="call.goodbye", wait=Gather())),
     "error": "lonely: waits but has no parser"},
    {"description": "neither waits, routes nor ends",
     "flow": _broken(VOICE, stuck=Step(say="call.goodbye")),
     "error": "stuck: neither waits, routes nor ends"},
    {"description": "broken text table", "flow": _broken(TEXT, help=Step(say="sms.hlep", end=True)),
     "error": "flow sms: help: prompt 'sms.hlep' is not in the catalog"},
]


@by_description(BROKEN)
def test_broken_table_is_refused_naming_the_problem(row: dict[str, Any]) -> None:
    with pytest.raises(FlowError) as raised:
        validate(row["flow"], prompts.has)
    assert row["error"] in str(raised.value)


def test_every_problem_is_listed_at_once() -> None:
    flow = _broken(VOICE, lonely=Step(say="nope.one", wait=Gather()),
                   menu=replace(VOICE["menu"], exits={**VOICE["menu"].exits, "vote": "nowhere"}))
    with pytest.raises(FlowError) as raised:
        validate(flow, prompts.has)
    message = str(raised.value)
    for part in ("'nope.one'", "lonely: waits but has no parser", "menu: exit to missing step 'nowhere'"):
        assert part in message
