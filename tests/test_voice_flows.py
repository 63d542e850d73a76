"""Whole calls to the line, walked key by key as a resident would (both database backends)."""
from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

import pytest

import prompts
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from hotline.cyclefile import DEMO, read
from prompts import Code, Money, When
from store.models import Ballot, BallotChoice, Idea, Participant, Proposal, Recording
from tests.conftest import load_cycle
from tests.driver import CallDriver

CITY_ZIP, CAMBRIDGE_ZIP, SHARED_ZIP, PO_BOX_ZIP = "02118", "02139", "02467", "02201"
TZ = "America/New_York"


def utcnow() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0)


# ---- getting somewhere in a call ----

def at_menu(phone, lang_key: str = "1") -> CallDriver:
    call = CallDriver(phone.dial())
    call.press(lang_key)
    assert call.said("menu.intro")
    return call


def at_ballot(phone) -> CallDriver:
    call = at_menu(phone)
    call.press("3").press("34#").press(f"{CITY_ZIP}#")
    assert call.said("ballot.intro", count=15, max=5)
    return call


def at_idea_review(phone, **record) -> CallDriver:
    call = at_menu(phone)
    call.press("2")
    call.record(**({"duration": 20} | record))
    assert call.said("idea.review")
    return call


# ---- reading the database ----

def all_ideas(db) -> list[Idea]:
    with db.unit_of_work() as s:
        return list(s.scalars(select(Idea).options(selectinload(Idea.recording)).order_by(Idea.id)))


def count(db, model) -> int:
    with db.unit_of_work() as s:
        return s.scalar(select(func.count()).select_from(model))


def ballots(db) -> list[tuple[Ballot, list[int]]]:
    with db.unit_of_work() as s:
        out = []
        for b in s.scalars(select(Ballot).order_by(Ballot.id)):
            numbers = s.scalars(select(Proposal.number).join(BallotChoice, BallotChoice.proposal_id == Proposal.id)
                                .where(BallotChoice.ballot_id == b.id).order_by(Proposal.number))
            out.append((b, list(numbers)))
        return out


# ---- languages ----

DEMO_SPEC = read(DEMO, ("en", "es", "zh-Hant", "zh-Hans"))


LANGS = prompts.languages()
FIRST_PAGE = list(LANGS)[:8]
SECOND_PAGE = list(LANGS)[8:]


def test_language_menu_speaks_each_option_in_its_own_voice(phone, demo):
    call = CallDriver(phone.dial())
    heard = [e for e in call.events if e.kind in ("say", "play")]
    # the first page, then each language of the second page told (in itself) to press 9
    assert len(heard) == len(FIRST_PAGE) + len(SECOND_PAGE)
    for event, tag in zip(heard, FIRST_PAGE + SECOND_PAGE):
        lang = LANGS[tag]
        if lang.say_language:
            assert (event.kind, event.attrs["language"], event.attrs["voice"]) == ("say", lang.say_language, lang.voice)
        else:   # no Twilio voice speaks it: its own words, played as audio, never English
            assert event.kind == "play" and f"/audio/say/{tag}/" in event.text
    for key, tag in enumerate(FIRST_PAGE, start=1):
        if LANGS[tag].say_language:
            assert call.said("language.option", lang=tag, key=key, name=LANGS[tag].spoken)
    for tag in SECOND_PAGE:
        if LANGS[tag].say_language:
            assert call.said("language.more", lang=tag, key=9, name=LANGS[tag].spoken)
    assert call.waiting_for == "gather" and call.gather["numDigits"] == 1


def test_nine_opens_the_other_languages_and_zero_comes_back(phone, demo):
    call = CallDriver(phone.dial())
    call.press("9")
    for key, tag in enumerate(SECOND_PAGE, start=1):
        if LANGS[tag].say_language:
            assert call.said("language.option", lang=tag, key=key, name=LANGS[tag].spoken)
    call.press("0")
    assert call.said("language.option", lang="en", key=1, name="English")
    call.press("9").press(str(SECOND_PAGE.index("fr") + 1))
    assert call.said("menu.intro", lang="fr")


def test_a_language_without_a_twilio_voice_is_heard_in_its_own_words(phone, demo, client):
    call = CallDriver(phone.dial(), lang="ht")
    before = len(call.events)
    call.press(str(FIRST_PAGE.index("ht") + 1))
    menu = call.events[before:]
    plays = [e for e in menu if e.kind == "play"]
    assert plays and all("/audio/say/ht/" in e.text for e in plays) and not [e for e in menu if e.kind == "say"]
    audio = client.get(plays[-1].text.replace("http://localhost", ""))
    assert audio.status_code == 200 and audio.data[:4] == b"RIFF" and len(audio.data) > 8000
    # a forged or altered token is not spoken
    assert client.get(plays[-1].text.replace("http://localhost", "")[:-8] + "AAAA.wav").status_code == 404


@pytest.mark.parametrize("tag", ["en", "es", "zh-Hant", "zh-Hans"])
def test_chosen_language_is_the_voice_of_the_rest_of_the_call(phone, demo, db, tag):
    call = CallDriver(phone.dial(), lang=tag)
    before = len(call.events)
    call.press(str(FIRST_PAGE.index(tag) + 1))
    assert call.said("menu.intro") and call.said("menu.voting.open")
    call.press("3").press("34#").press(f"{CITY_ZIP}#").press("1")
    title = call.said("ballot.proposal", number=1).group("title")
    assert title == DEMO_SPEC.proposals[0].title[tag]
    heard = [e for e in call.events[before:] if e.kind == "say"]
    assert heard and {e.attrs.get("language") for e in heard} == {LANGS[tag].say_language}
    with db.unit_of_work() as s:
        assert s.scalar(select(Participant.language)) == tag


def test_nine_at_the_menu_changes_the_language(phone, demo):
    call = at_menu(phone)
    call.press("9")
    assert call.said("language.option", lang="es", key=2, name="Español")
    call.press("2")
    assert call.events[-2].attrs["language"] == "es-US"


# ---- the main menu ----

def test_main_menu_offers_about_ideas_and_voting(phone, demo):
    call = at_menu(phone)
    for key in ("menu.about", "menu.ideas.open", "menu.voting.open", "menu.language"):
        assert call.said(key)
    assert call.gather["numDigits"] == 1 and call.gather["actionOnEmptyResult"]


def test_about_explains_pb_and_eligibility_then_returns_to_the_menu(phone, demo):
    call = at_menu(phone)
    call.press("1")
    for key in ("about.pb", "about.eligible", "about.not_eligible", "menu.intro", "menu.voting.open"):
        assert call.said(key)
    assert call.waiting_for == "gather"
    call.press("3")
    assert call.said("vote.ask_age", min_age=11, min_grade=6)


def test_without_a_cycle_the_line_says_so_and_hangs_up(phone, db):
    call = CallDriver(phone.dial())
    assert call.said("menu.no_cycle")
    assert call.ended and call.events[-1].kind == "hangup"


def _days(now: datetime, a: int, b: int) -> tuple[datetime, datetime]:
    return now + timedelta(days=a), now + timedelta(days=b)


@pytest.mark.parametrize("ideas, voting", [
    ((10, 40), (60, 90)),
    ((-90, -60), (-30, -1)),
    ((-90, -60), (5, 30)),
    ((-5, 30), (60, 90)),
], ids=["nothing-open-yet", "cycle-over", "between-windows", "ideas-open-voting-later"])
def test_menu_says_when_each_window_opens_and_closed_options_say_so(phone, db, ideas, voting):
    now = utcnow()
    ideas_open, ideas_close = _days(now, *ideas)
    voting_open, voting_close = _days(now, *voting)
    load_cycle(db, ideas_open=ideas_open, ideas_close=ideas_close, voting_open=voting_open,
               voting_close=voting_close)
    phase = {"ideas": "before" if ideas[0] > 0 else "closed" if ideas[1] < 0 else "open",
             "voting": "before" if voting[0] > 0 else "closed" if voting[1] < 0 else "open"}
    opens = {"ideas": When(ideas_open, TZ), "voting": When(voting_open, TZ)}
    call = at_menu(phone)
    for which in ("ideas", "voting"):
        key = f"menu.{which}.{phase[which]}"
        assert call.said(key, **({"date": opens[which]} if phase[which] == "before" else {})), key

    call.press("3")                  # voting is never open in these rows
    assert (call.said("vote.before", date=opens["voting"]) if phase["voting"] == "before"
            else call.said("vote.closed"))
    assert call.said("menu.intro") and not call.said("vote.ask_age")
    call.press("2")
    if phase["ideas"] == "open":
        assert call.said("idea.intro") and call.waiting_for == "record"
    else:
        assert (call.said("idea.before", date=opens["ideas"]) if phase["ideas"] == "before"
                else call.said("idea.closed"))
        assert call.said("menu.intro") and call.waiting_for == "gather"


# ---- ideas ----

def test_caller_records_an_idea_and_hears_its_reference(phone, demo, db):
    call = at_menu(phone)
    call.press("2")
    assert call.said("idea.intro") and call.said("idea.record", minutes=3)
    assert call.waiting_for == "record"
    assert call.record_attrs["maxLength"] == 180 and call.record_attrs["finishOnKey"] == "#"
    call.record(duration=40)
    assert call.said("idea.review")
    call.press("1")
    assert call.said("idea.zip")
    call.press(f"{CITY_ZIP}#")
    [idea] = all_ideas(db)
    assert call.said("idea.thanks", ref=Code(idea.ref_code))
    assert call.said("menu.intro")
    assert (idea.status, idea.channel, idea.zip_code, idea.language) == ("received", "voice", CITY_ZIP, "en")
    assert idea.recording.recording_sid == call.recordings[0]["sid"]
    assert (idea.recording.duration, idea.recording.status) == (40, "completed")
    assert idea.recording.call_sid == call.sid


def test_idea_zip_is_optional(phone, demo, db):
    call = at_idea_review(phone)
    call.press("1").press("#")
    [idea] = all_ideas(db)
    assert call.said("idea.thanks", ref=Code(idea.ref_code))
    assert idea.zip_code is None and idea.status == "received"


def test_idea_is_saved_before_the_caller_chooses_to_keep_it(phone, demo, db):
    at_idea_review(phone)
    [idea] = all_ideas(db)
    assert idea.status == "received" and idea.recording.status == "completed"


def test_status_callback_before_the_record_action_gives_one_idea(phone, demo, db):
    call = at_idea_review(phone, callback_first=True)
    call.press("1").press("#")
    [idea] = all_ideas(db)
    assert call.said("idea.thanks", ref=Code(idea.ref_code))
    assert idea.status == "received" and count(db, Recording) == 1


def test_repeated_recording_callback_or_action_changes_nothing(phone, demo, db):
    call = at_idea_review(phone)           # the status callback was the last request
    before = [(i.id, i.ref_code, i.status, i.recording.status) for i in all_ideas(db)]
    phone.resend()
    assert phone.sent[-1].body == phone.sent[-2].body
    call = at_idea_review(phone, callback_first=True)   # now the Record action was last
    phone.resend()
    assert phone.sent[-1].body == phone.sent[-2].body
    after = [(i.id, i.ref_code, i.status, i.recording.status) for i in all_ideas(db)]
    assert after[:1] == before and len(after) == 2
    assert count(db, Recording) == 2
    call.press("1")
    assert call.said("idea.zip")


def test_recording_again_replaces_the_idea_only_once_the_new_one_exists(phone, demo, db):
    call = at_idea_review(phone)
    call.press("2")
    assert call.said("idea.record") and call.waiting_for == "record"
    [first] = all_ideas(db)
    assert first.status == "received"       # not withdrawn while the caller records again
    call.record(duration=25)
    call.press("1").press("#")
    first, second = all_ideas(db)
    assert (first.status, second.status) == ("withdrawn", "received")
    assert call.said("idea.thanks", ref=Code(second.ref_code))


def test_hanging_up_while_recording_again_keeps_the_first_idea(phone, demo, db):
    call = at_idea_review(phone)
    call.press("2").hangup()
    assert call.ended
    [first] = all_ideas(db)
    assert first.status == "received"


def test_cancelling_withdraws_the_idea(phone, demo, db):
    call = at_idea_review(phone)
    call.press("3")
    assert call.said("idea.cancelled") and call.said("menu.intro")
    [idea] = all_ideas(db)
    assert idea.status == "withdrawn"


def test_second_idea_in_one_call_keeps_the_first(phone, demo, db):
    call = at_idea_review(phone)
    call.press("1").press("#")
    call.press("2").record(duration=15).press("1").press("#")
    first, second = all_ideas(db)
    assert (first.status, second.status) == ("received", "received")
    assert call.said("idea.thanks", ref=Code(second.ref_code))


def test_empty_recording_is_not_an_idea_and_the_caller_records_again(phone, demo, db):
    call = at_menu(phone)
    call.press("2").record(duration=0)
    assert call.said("idea.empty") and call.said("idea.record")
    assert call.waiting_for == "record"
    assert all_ideas(db) == []
    call.record(duration=10)
    assert call.said("idea.review") and len(all_ideas(db)) == 1


def test_hanging_up_during_the_recording_still_saves_the_idea(phone, demo, db):
    call = at_menu(phone)
    call.press("2").record(duration=30, hangup=True)
    assert call.ended
    [idea] = all_ideas(db)
    assert idea.status == "received" and idea.recording.duration == 30


def test_anonymous_caller_can_leave_an_idea_but_not_vote(make_phone, demo, db):
    call = at_idea_review(make_phone("anonymous"))
    call.press("1").press("#")
    [idea] = all_ideas(db)
    assert call.said("idea.thanks", ref=Code(idea.ref_code))
    assert idea.participant_id is None and idea.status == "received"
    call.press("3")
    assert call.said("vote.anonymous") and call.said("menu.intro")
    assert count(db, Participant) == 0


@pytest.mark.parametrize("caller_id", ["Restricted", "+266696687", "Unknown"])
def test_other_withheld_caller_ids_cannot_vote(make_phone, demo, caller_id):
    call = at_menu(make_phone(caller_id))
    call.press("3")
    assert call.said("vote.anonymous")


# ---- eligibility ----

def test_adult_is_asked_for_a_zip(phone, demo):
    call = at_menu(phone)
    call.press("3")
    assert call.said("vote.ask_age", min_age=11, min_grade=6)
    call.press("34#")
    assert call.said("vote.ask_zip") and not call.said("vote.ask_grade")


def test_ten_year_old_in_sixth_grade_may_vote(phone, demo):
    call = at_menu(phone)
    call.press("3").press("10#")
    assert call.said("vote.ask_grade", min_grade=6)
    call.press("6#")
    assert call.said("vote.ask_zip")


def test_under_age_caller_hears_why_and_that_ideas_are_for_all_ages(phone, demo):
    call = at_menu(phone)
    call.press("3").press("9#").press("4#")
    assert call.said("vote.too_young", min_age=11, min_grade=6)
    assert call.said("menu.intro")


def test_cambridge_zip_is_not_boston(phone, demo):
    call = at_menu(phone)
    call.press("3").press("34#").press(f"{CAMBRIDGE_ZIP}#")
    assert call.said("vote.outside") and not call.said("ballot.intro")
    call.press("1")
    assert call.said("vote.ask_zip")
    call.press(f"{CITY_ZIP}#")
    assert call.said("ballot.intro")


def test_shared_zip_asks_which_side_of_the_line(phone, demo):
    call = at_menu(phone)
    call.press("3").press("34#").press(f"{SHARED_ZIP}#")
    assert call.said("vote.zip_shared", zip=SHARED_ZIP)
    call.press("1")
    assert call.said("ballot.intro")


def test_shared_zip_outside_boston_is_not_boston(phone, demo):
    call = at_menu(phone)
    call.press("3").press("34#").press(f"{SHARED_ZIP}#").press("2")
    assert call.said("vote.outside")


def test_po_box_zip_is_explained_and_asked_again(phone, demo):
    call = at_menu(phone)
    call.press("3").press("34#").press(f"{PO_BOX_ZIP}#")
    assert call.said("vote.zip_po_box", zip=PO_BOX_ZIP) and call.said("vote.ask_zip")
    call.press(f"{CITY_ZIP}#")
    assert call.said("ballot.intro")


def test_short_zip_is_explained_and_asked_again(phone, demo):
    call = at_menu(phone)
    call.press("3").press("34#").press("2118#")
    assert call.said("vote.bad_zip") and call.said("vote.ask_zip")


# ---- the ballot, one proposal at a time ----

def test_browsing_reads_proposals_and_keys_choose_skip_repeat_and_go_back(phone, demo, db):
    call = at_ballot(phone)
    call.press("1")
    first = call.said("ballot.proposal", number=1, title="Youth mental health program", cost=Money(150000))
    assert first and "$150,000" in first.group(0)
    assert call.said("ballot.browse_keys") and not call.said("ballot.browse_chosen")
    call.press("1")
    assert call.said("ballot.added", number=1, count=1, max=5) and call.said("ballot.proposal", number=2)
    call.press("*")
    assert call.said("ballot.proposal", number=2) and not call.said("call.bad_key")
    call.press("2")
    assert call.said("ballot.proposal", number=3)
    call.press("0")
    assert call.said("ballot.proposal", number=2)
    call.press("0")
    assert call.said("ballot.proposal", number=1) and call.said("ballot.browse_chosen")
    call.press("0")
    assert call.said("ballot.intro")         # before the first proposal: back to the choice of mode
    call.press("1")
    assert call.said("ballot.proposal", number=1) and call.said("ballot.browse_chosen")  # choices kept
    call.press("2").press("1")               # skip 1, choose 2
    call.press("9")
    assert call.said("ballot.review", count=2)
    assert call.said("ballot.review_item", number=1) and call.said("ballot.review_item", number=2)


def test_choosing_the_fifth_proposal_ends_at_the_review(phone, demo):
    call = at_ballot(phone)
    call.press("1")
    for _ in range(5):
        call.press("1")
    assert call.said("ballot.full", max=5) and call.said("ballot.review", count=5)
    for n in range(1, 6):
        assert call.said("ballot.review_item", number=n)


def test_unchoosing_while_browsing(phone, demo):
    call = at_ballot(phone)
    call.press("1").press("1").press("0").press("1")
    assert call.said("ballot.removed", number=1)
    call.press("9")
    assert call.said("ballot.none") and call.said("ballot.intro")


def test_no_more_than_five_choices_after_going_back_from_the_review(phone, demo, db):
    call = at_ballot(phone)
    call.press("2")
    for n in (2, 3, 4, 5, 6):
        call.press(f"{n}#")
    assert call.said("ballot.review", count=5)
    call.press("0").press("1")              # back, then browse: proposal 1 is not chosen
    call.press("1")
    assert call.said("ballot.full", max=5) and not call.said("ballot.added", number=1)
    assert call.said("ballot.proposal", number=1)   # still browsing: unchoose one to make room
    call.press("9")
    assert call.said("ballot.review", count=5)
    call.press("0").press("2").press("1#")  # back, then type a sixth number
    assert call.said("ballot.review", count=5)
    call.press("1")
    [(_, numbers)] = ballots(db)
    assert numbers == [2, 3, 4, 5, 6]


# ---- the ballot by number ----

def test_typing_numbers_explains_unknown_and_repeated_ones(phone, demo):
    call = at_ballot(phone)
    call.press("2")
    assert call.said("ballot.direct", count=15, max=5)
    call.press("99#")
    assert call.said("ballot.unknown", number=99) and call.said("ballot.direct")
    call.press("3#")
    assert call.said("ballot.added", number=3, count=1, max=5)
    call.press("3#")
    assert call.said("ballot.duplicate", number=3) and call.said("ballot.direct")
    call.press("#")
    assert call.said("ballot.review", count=1) and call.said("ballot.review_item", number=3)


def test_pound_alone_before_any_choice_is_not_a_review(phone, demo):
    call = at_ballot(phone)
    call.press("2").press("#")
    assert not call.said("ballot.review") and call.said("ballot.direct")


def test_typing_five_numbers_ends_at_the_review(phone, demo):
    call = at_ballot(phone)
    call.press("2")
    for n in (15, 1, 7, 8, 9):
        call.press(f"{n}#")
    assert call.said("ballot.full", max=5) and call.said("ballot.review", count=5)


def test_changing_choices_at_the_review_starts_over(phone, demo, db):
    call = at_ballot(phone)
    call.press("2").press("3#").press("7#").press("#")
    call.press("2")
    assert call.said("ballot.intro")
    call.press("2").press("5#").press("#")
    assert call.said("ballot.review", count=1) and call.said("ballot.review_item", number=5)
    call.press("1")
    [(_, numbers)] = ballots(db)
    assert numbers == [5]


def test_confirmed_ballot_is_stored_and_its_receipt_read_digit_by_digit(phone, demo, db):
    call = at_ballot(phone)
    call.press("2").press("3#").press("7#").press("#")
    call.press("1")
    m = call.said("ballot.cast")
    [(ballot, numbers)] = ballots(db)
    assert numbers == [3, 7]
    assert re.fullmatch(r"\d( \d)*, \d( \d)*", m.group("receipt"))
    assert re.sub(r"\D", "", m.group("receipt")) == ballot.receipt
    assert call.said("ballot.after")
    call.press("*")
    assert call.said("ballot.cast", receipt=Code(ballot.receipt))
    call.press("1")
    assert call.said("menu.intro")
    assert count(db, Ballot) == 1


def test_ballot_row_holds_no_trace_of_the_phone_number(phone, demo, db):
    call = at_ballot(phone)
    call.press("2").press("4#").press("#").press("1")
    digits = re.sub(r"\D", "", phone.number)          # 16175550123
    traces = {phone.number, digits, digits[1:], digits[-7:]}
    with db.unit_of_work() as s:
        rows = s.execute(select(Ballot.__table__)).mappings().all()
        choice_rows = s.execute(select(BallotChoice.__table__)).mappings().all()
    assert len(rows) == 1
    for row in [*rows, *choice_rows]:
        for column, value in row.items():
            assert not any(t in str(value) for t in traces), column


def test_calling_again_after_voting_hears_the_same_receipt(phone, demo, db):
    call = at_ballot(phone)
    call.press("2").press("3#").press("#").press("1")
    [(ballot, _)] = ballots(db)
    call.hangup()
    again = at_menu(phone)
    again.press("3")
    assert again.said("vote.already", receipt=Code(ballot.receipt))
    assert again.said("menu.intro") and not again.said("vote.ask_age")
    assert count(db, Ballot) == 1


def test_repeated_keypress_gets_the_same_answer_and_casts_once(phone, demo, db):
    call = at_ballot(phone)
    call.press("2").press("3#")
    phone.resend()                                  # Twilio retries the "3#" request
    assert phone.sent[-1].body == phone.sent[-2].body
    call.press("7#").press("#")
    assert call.said("ballot.review", count=2)      # 3 was chosen once
    call.press("1")
    receipt = call.said("ballot.cast").group("receipt")
    phone.resend()
    assert phone.sent[-1].body == phone.sent[-2].body
    assert count(db, Ballot) == 1
    call.press("*")
    assert call.said("ballot.cast", receipt=receipt) and not call.said("vote.already")


# ---- every question: silence, wrong keys, star and zero ----

Walk = Callable[[CallDriver], None]


def keys(*presses: str) -> Walk:
    def walk(call: CallDriver) -> None:
        for p in presses:
            call.press(p)
    return walk


def then_record(walk: Walk, *after: str) -> Walk:
    def both(call: CallDriver) -> None:
        walk(call)
        call.record(duration=10)
        keys(*after)(call)
    return both


BALLOT = ("1", "3", "34#", f"{CITY_ZIP}#")
GATHERS = [
    pytest.param(keys(), "language.option", id="language-menu"),
    pytest.param(keys("1"), "menu.intro", id="main-menu"),
    pytest.param(then_record(keys("1", "2")), "idea.review", id="idea-review"),
    pytest.param(keys("1", "3"), "vote.ask_age", id="age"),
    pytest.param(keys("1", "3", "10#"), "vote.ask_grade", id="grade"),
    pytest.param(keys("1", "3", "34#"), "vote.ask_zip", id="zip"),
    pytest.param(keys("1", "3", "34#", f"{SHARED_ZIP}#"), "vote.zip_shared", id="shared-zip"),
    pytest.param(keys("1", "3", "34#", f"{CAMBRIDGE_ZIP}#"), "vote.outside", id="outside"),
    pytest.param(keys(*BALLOT), "ballot.intro", id="ballot-intro"),
    pytest.param(keys(*BALLOT, "1"), "ballot.proposal", id="browse"),
    pytest.param(keys(*BALLOT, "2"), "ballot.direct", id="direct"),
    pytest.param(keys(*BALLOT, "2", "3#", "#"), "ballot.review", id="review"),
    pytest.param(keys(*BALLOT, "2", "3#", "#", "1"), "ballot.after", id="after-cast"),
]


# Typing numbers ends on '#' alone, which Twilio sends as silence: with nothing chosen yet the
# caller is told so rather than that no key was heard.
SILENCE_EXPLAINED = {"ballot.direct": "ballot.none"}


@pytest.mark.parametrize("walk, prompt", GATHERS)
def test_three_silences_end_the_call_politely(phone, demo, walk, prompt):
    call = CallDriver(phone.dial())
    walk(call)
    assert call.said(prompt)
    for _ in range(2):
        call.silence()
        assert call.said(SILENCE_EXPLAINED.get(prompt, "call.timeout")) and call.said(prompt) and not call.ended
    call.silence()
    assert call.said("call.goodbye") and not call.said(prompt)
    assert call.ended and call.events[-1].kind == "hangup"


def test_silence_at_the_optional_idea_zip_skips_it(phone, demo, db):
    call = at_idea_review(phone)
    call.press("1").silence()
    [idea] = all_ideas(db)
    assert call.said("idea.thanks", ref=Code(idea.ref_code)) and not call.said("call.timeout")


WRONG_KEYS = [
    pytest.param(keys(), "0", "language.option", id="language-menu"),
    pytest.param(keys("1"), "7", "menu.intro", id="main-menu"),
    pytest.param(then_record(keys("1", "2")), "5", "idea.review", id="idea-review"),
    pytest.param(keys("1", "3"), "1*2#", "vote.ask_age", id="age-with-star-inside"),
    pytest.param(keys("1", "3"), "200#", "vote.ask_age", id="age-200"),
    pytest.param(keys("1", "3", "10#"), "40#", "vote.ask_grade", id="grade-40"),
    pytest.param(keys("1", "3", "34#", f"{SHARED_ZIP}#"), "3", "vote.zip_shared", id="shared-zip"),
    pytest.param(keys("1", "3", "34#", f"{CAMBRIDGE_ZIP}#"), "5", "vote.outside", id="outside"),
    pytest.param(keys(*BALLOT), "5", "ballot.intro", id="ballot-intro"),
    pytest.param(keys(*BALLOT, "1"), "5", "ballot.proposal", id="browse"),
    pytest.param(keys(*BALLOT, "2"), "1*5#", "ballot.direct", id="direct"),
    pytest.param(keys(*BALLOT, "2", "3#", "#"), "3", "ballot.review", id="review"),
]


@pytest.mark.parametrize("walk, wrong, prompt", WRONG_KEYS)
def test_wrong_key_is_explained_and_the_question_asked_again(phone, demo, walk, wrong, prompt):
    call = CallDriver(phone.dial())
    walk(call)
    call.press(wrong)
    # A number that cannot be an age or a grade is a typing slip, explained as such.
    explained = "call.bad_number" if prompt in ("vote.ask_age", "vote.ask_grade") and wrong.rstrip("#").isdigit() \
        else "call.bad_key"
    assert call.said(explained) and call.said(prompt) and not call.ended


@pytest.mark.parametrize("walk, prompt", GATHERS)
def test_star_repeats_the_question(phone, demo, walk, prompt):
    call = CallDriver(phone.dial())
    walk(call)
    call.press("*")
    assert call.said(prompt) and not call.said("call.bad_key") and not call.said("call.timeout")


@pytest.mark.parametrize("walk, zero, previous", [
    pytest.param(keys("1"), "0", "language.option", id="main-menu"),
    pytest.param(keys("1", "3"), "0#", "menu.intro", id="age"),
    pytest.param(keys("1", "3", "10#"), "0#", "vote.ask_age", id="grade"),
    pytest.param(keys("1", "3", "34#"), "0#", "vote.ask_age", id="zip"),
    pytest.param(keys("1", "3", "34#", f"{SHARED_ZIP}#"), "0", "vote.ask_zip", id="shared-zip"),
    pytest.param(keys("1", "3", "34#", f"{CAMBRIDGE_ZIP}#"), "0", "menu.intro", id="outside"),
    pytest.param(keys(*BALLOT), "0", "vote.ask_zip", id="ballot-intro"),
    pytest.param(keys(*BALLOT, "2"), "0#", "ballot.intro", id="direct"),
    pytest.param(keys(*BALLOT, "2", "3#", "#"), "0", "ballot.intro", id="review"),
    pytest.param(then_record(keys("1", "2"), "1"), "0#", "idea.review", id="idea-zip"),
])
def test_zero_goes_back_one_question(phone, demo, walk, zero, previous):
    call = CallDriver(phone.dial())
    walk(call)
    call.press(zero)
    assert call.said(previous) and not call.said("call.bad_key")
