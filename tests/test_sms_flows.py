"""Residents text the line: ideas, the ballot by text, opt-out words and the odd inputs they send.

Every test walks the conversation as a resident would (`TextDriver.send`) and checks the
replies by prompt key, then looks in the database for what should (and should not) be kept.
"""
from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
from sqlalchemy import func, inspect, select, update

import prompts
from hotline.cyclefile import DEMO, read
from prompts import Localized, Money
from sms.segments import segments
from store import identity
from store.models import Ballot, BallotChoice, Conversation, Idea, Participant, Proposal
from tests.conftest import load_cycle, utcnow
from tests.driver import TextDriver, pattern, rendered

NUMBER = "+16175550123"
ES_CATALOG = Path(prompts.__file__).parent / "catalog" / "es.yaml"


# ---- helpers ----

def count(db, model) -> int:
    with db.unit_of_work() as s:
        return s.scalar(select(func.count()).select_from(model))


def ideas(db) -> list[Idea]:
    with db.unit_of_work() as s:
        return list(s.scalars(select(Idea).order_by(Idea.id)))


def ballots(db) -> list[tuple[str, list[int]]]:
    """Every ballot as (receipt, sorted proposal numbers)."""
    with db.unit_of_work() as s:
        rows = s.execute(select(Ballot.receipt, Proposal.number)
                         .join(BallotChoice, BallotChoice.ballot_id == Ballot.id)
                         .join(Proposal, Proposal.id == BallotChoice.proposal_id)).all()
    out: dict[str, list[int]] = {}
    for receipt, number in rows:
        out.setdefault(receipt, []).append(number)
    return [(r, sorted(ns)) for r, ns in out.items()]


def participant(db, number: str = NUMBER) -> Participant | None:
    with db.unit_of_work() as s:
        return s.scalar(select(Participant).where(
            Participant.phone_hash == identity.phone_hash("test-secret-key", number)))


def at_choices(t: TextDriver, age: str = "34", zip_code: str = "02118") -> None:
    """VOTE, age, ZIP: the resident now has the ballot list and is asked for numbers."""
    t.send("VOTE")
    assert t.said("vote.ask_age", min_age=11, min_grade=6)
    t.send(age)
    assert t.said("vote.ask_zip")
    t.send(zip_code)
    assert t.said("ballot.ask_choices", max=5)


def demo_proposals() -> dict[int, tuple[str, int]]:
    spec = read(DEMO, ("en", "es", "zh-Hant", "zh-Hans"))
    return {p.number: (p.title["en"], p.cost) for p in spec.proposals}


# ---- the ballot by text ----

@pytest.mark.parametrize("choices", ["3 7 12", "3,7,12", "#3 #7 #12", "３ ７ １２", "٣ ٧ ١٢", "3, 7 and 12"],
                         ids=["spaces", "commas", "hashes", "full-width", "arabic-indic", "words"])
def test_resident_votes_by_text_writing_numbers_their_way(texter, db, choices):
    at_choices(texter)
    texter.send(choices)
    assert texter.said("ballot.review", count=3)
    for n, (title, _) in demo_proposals().items():
        if n in (3, 7, 12):
            assert texter.said("ballot.review_item", number=n, title=title)
    texter.send("YES")
    m = texter.said("ballot.cast")
    assert m and m.group("receipt").isdigit()
    assert ballots(db) == [(m.group("receipt"), [3, 7, 12])]


def test_hash_numbers_without_a_third_choice(texter, db):
    at_choices(texter)
    texter.send("#3 #7")
    assert texter.said("ballot.review", count=2)
    texter.send("yes")
    assert texter.said("ballot.cast")
    assert [numbers for _, numbers in ballots(db)] == [[3, 7]]


def test_ballot_list_fits_in_three_segments_and_never_cuts_a_proposal(texter):
    texter.send("VOTE")
    texter.send("34")
    replies = texter.send("02118")
    assert len(replies) >= 2, "fifteen proposals do not fit in one 3-segment text"
    for reply in replies:
        assert segments(reply) <= 3, reply
    for number, (title, cost) in demo_proposals().items():
        line = rendered("ballot.list_item", "en", "sms", number=number, title=Localized({"en": title}),
                        cost=Money(cost))
        # the phone shows a message's text with its line breaks as spaces
        holding = [r for r in replies if line in r]
        assert len(holding) == 1, f"proposal {number} ({line!r}) is not whole in exactly one message"
    assert texter.said("ballot.list_intro", count=15, max=5)


def test_too_many_choices_are_explained_and_the_resident_answers_again(texter, db):
    at_choices(texter)
    texter.send("1 2 3 4 5 6")
    assert texter.said("ballot.too_many", count=6, max=5)
    assert texter.said("ballot.ask_choices", max=5)
    texter.send("1 2 3 4 5")
    assert texter.said("ballot.review", count=5)
    assert count(db, Ballot) == 0


def test_repeated_numbers_are_explained_and_the_resident_answers_again(texter):
    at_choices(texter)
    texter.send("3 3 7")
    assert texter.said("ballot.repeated", problem="3")
    texter.send("3 7")
    assert texter.said("ballot.review", count=2)


def test_unknown_numbers_are_explained_and_the_resident_answers_again(texter):
    at_choices(texter)
    texter.send("3 16 99")
    assert texter.said("ballot.unknown", problem="16, 99")
    texter.send("3 15")
    assert texter.said("ballot.review", count=2)


def test_words_instead_of_numbers_are_not_understood_then_numbers_work(texter):
    at_choices(texter)
    texter.send("the trees one")
    assert texter.said("sms.not_understood")
    texter.send("4")
    assert texter.said("ballot.review", count=1)


def test_new_numbers_at_the_review_replace_the_choice(texter, db):
    at_choices(texter)
    texter.send("3 7 12")
    assert texter.said("ballot.review", count=3)
    texter.send("4 5")
    assert texter.said("ballot.review", count=2)
    assert texter.said("ballot.review_item", number=4, title="Street trees along main corridors")
    texter.send("YES")
    assert texter.said("ballot.cast")
    assert [numbers for _, numbers in ballots(db)] == [[4, 5]]


@pytest.mark.parametrize("number", ["1", "2"])
def test_a_single_number_at_the_review_is_a_new_choice_not_yes_or_no(texter, db, number):
    # "1" and "2" are yes/no words on the keypad; at the text review they are proposals.
    at_choices(texter)
    texter.send("3 7 12")
    texter.send(number)
    assert texter.said("ballot.review", count=1)
    assert texter.said("ballot.review_item", number=int(number), title=demo_proposals()[int(number)][0])
    assert count(db, Ballot) == 0
    texter.send("YES")
    assert [numbers for _, numbers in ballots(db)] == [[int(number)]]


def test_no_at_the_review_asks_for_the_numbers_again(texter, db):
    at_choices(texter)
    texter.send("3 7")
    texter.send("NO")
    assert texter.said("ballot.ask_choices", max=5)
    assert count(db, Ballot) == 0


def test_voting_again_by_text_gives_the_same_receipt(texter, db):
    at_choices(texter)
    texter.send("3 7 12")
    texter.send("YES")
    receipt = texter.said("ballot.cast").group("receipt")
    texter.send("VOTE")
    assert texter.said("vote.already", receipt=receipt)
    assert count(db, Ballot) == 1


def test_under_age_resident_gives_a_grade(texter, db):
    texter.send("VOTE")
    texter.send("10")
    assert texter.said("vote.ask_grade")
    texter.send("6")
    assert texter.said("vote.ask_zip")


@pytest.mark.parametrize("slip", ["200", "thirty", "3 4"])
def test_an_age_that_cannot_be_used_is_asked_again(texter, db, slip):
    texter.send("VOTE")
    texter.send(slip)
    assert texter.said("sms.bad_number")
    assert not texter.said("vote.ask_zip")
    texter.send("34")
    assert texter.said("vote.ask_zip")


def test_young_resident_below_the_grade_hears_why(texter, db):
    texter.send("VOTE")
    texter.send("9")
    texter.send("4")
    assert texter.said("vote.too_young", min_age=11, min_grade=6)
    assert count(db, Ballot) == 0


def test_cambridge_zip_is_not_boston(texter, db):
    texter.send("VOTE")
    texter.send("34")
    texter.send("02139")
    assert texter.said("vote.outside")
    assert not texter.said("ballot.ask_choices", max=5)
    texter.send("3 7")          # the conversation is over: numbers are not a ballot
    assert count(db, Ballot) == 0


def test_zip_shared_with_a_neighbouring_town_asks_which_part(texter):
    texter.send("VOTE")
    texter.send("34")
    texter.send("02467")
    assert texter.said("vote.zip_shared", zip="02467")
    texter.send("yes")
    assert texter.said("ballot.ask_choices", max=5)


def test_a_zip_that_is_not_five_digits_is_asked_again(texter):
    texter.send("VOTE")
    texter.send("34")
    texter.send("2118")
    assert texter.said("vote.bad_zip")
    texter.send("zip 02118")
    assert texter.said("ballot.ask_choices", max=5)


# ---- keywords, whatever way they are written ----

@pytest.mark.parametrize("body", ["vote", "Vote", "ＶＯＴＥ", "  vote  ", "VOTE!", "ballot"])
def test_vote_keyword_is_recognised_however_written(texter, body):
    texter.send(body)
    assert texter.said("vote.ask_age", min_age=11, min_grade=6)


@pytest.mark.parametrize("body", ["VOTAR", "votar", "VOTÁR?", " Votar "])
def test_spanish_vote_keyword_starts_voting_in_spanish(texter, db, body):
    texter.send(body)
    with db.unit_of_work() as s:
        assert s.scalar(select(Conversation.lang)) == "es"
    if not ES_CATALOG.exists():
        pytest.skip("prompts/catalog/es.yaml does not exist yet: the Spanish wording cannot be checked")
    assert texter.said("vote.ask_age", lang="es", min_age=11, min_grade=6)
    texter.send("34")
    assert texter.said("vote.ask_zip", lang="es")


def test_help_mid_conversation_keeps_the_conversation(texter):
    at_choices(texter)
    texter.send("help")
    assert texter.said("sms.help")
    texter.send("3 7")
    assert texter.said("ballot.review", count=2)


def test_language_keyword_offers_the_languages(texter, db):
    texter.send("LANGUAGE")
    assert texter.said("language.option", key=1, name="English")
    texter.send("2")
    assert texter.said("language.set", lang="es")
    assert participant(db).language == "es"


# ---- ideas ----

def test_idea_keyword_saves_the_idea_and_gives_a_reference(texter, db):
    texter.send("IDEA more benches on Blue Hill Ave")
    m = texter.said("idea.saved")
    assert m and m.group("ref").isdigit()
    [idea] = ideas(db)
    assert (idea.text, idea.channel, idea.status, idea.ref_code) == \
        ("more benches on Blue Hill Ave", "sms", "received", m.group("ref"))
    assert idea.participant_id == participant(db).id


@pytest.mark.parametrize("body, text", [
    ("idea: fix the swings at Ramsay Park", "fix the swings at Ramsay Park"),
    ("ＩＤＥＡ　ｍｏｒｅ trees", "more trees"),
    ("¡Idea! Más árboles en Dudley", "Más árboles en Dudley"),
    ("\u200bIDEA water fountains", "water fountains"),
], ids=["colon", "full-width", "spanish-exclamation", "zero-width-space"])
def test_idea_text_is_kept_as_written_after_the_keyword(texter, db, body, text):
    texter.send(body)
    [idea] = ideas(db)
    # answered in the language the idea is written in
    assert texter.said("idea.saved", lang=idea.language) and idea.text == text


def test_a_question_about_ideas_is_offered_not_saved(texter, db):
    texter.send("Ideas? I have a few")
    # too short to tell its language: asked once, each option in its own language
    assert texter.said("language.option", key=1, name="English") and texter.said("language.option", lang="es")
    texter.send("1")
    assert texter.said("idea.offer", text="Ideas? I have a few")
    assert count(db, Idea) == 0


@pytest.mark.parametrize("keyword, lang", [("VOTAR", "es"), ("投票", "zh-Hant")])
def test_a_keyword_in_answer_to_the_language_menu_sets_that_language(texter, db, keyword, lang):
    texter.send("hola")
    assert texter.said("language.option", key=1, name="English")
    texter.send(keyword)
    assert texter.said("vote.ask_age", lang=lang, min_age=11, min_grade=6)
    texter.send("34")
    assert texter.said("vote.ask_zip", lang=lang)


def test_a_message_in_answer_to_the_language_menu_is_answered_in_its_language(texter, db):
    texter.send("hola")
    texter.send("necesitamos más árboles en la calle")
    assert texter.said("idea.offer", lang="es", text="necesitamos más árboles en la calle")
    assert not texter.said("idea.offer", lang="en", text="necesitamos más árboles en la calle")
    texter.send("SÍ")
    assert texter.said("idea.saved", lang="es")
    [idea] = ideas(db)
    assert (idea.text, idea.language) == ("necesitamos más árboles en la calle", "es")


def test_a_slip_in_answer_to_the_language_menu_gets_one_answer(texter, db):
    texter.send("hello")
    texter.send("0")
    help_text = pattern("sms.help", "en", "sms")
    assert sum(len(help_text.findall(reply)) for reply in texter.replies) == 1


def test_idea_keyword_alone_asks_for_the_idea(texter, db):
    texter.send("idea")
    assert texter.said("idea.ask")
    texter.send("A skate park in Hyde Park")
    assert texter.said("idea.saved")
    assert [i.text for i in ideas(db)] == ["A skate park in Hyde Park"]


def test_zip_after_an_idea_is_attached_to_it(texter, db):
    texter.send("IDEA more street trees")
    assert texter.said("idea.zip")
    texter.send("02124")
    assert texter.said("idea.zip_thanks")
    assert [i.zip_code for i in ideas(db)] == ["02124"]


def test_other_text_after_an_idea_is_a_new_message(texter, db):
    texter.send("IDEA more street trees")
    texter.send("VOTE")
    assert texter.said("vote.ask_age", min_age=11, min_grade=6)
    assert [i.zip_code for i in ideas(db)] == [None]


def test_free_text_after_an_idea_is_offered_as_another_idea(texter, db):
    texter.send("IDEA more street trees")
    texter.send("and a crosswalk on Centre St")
    assert texter.said("idea.offer", text="and a crosswalk on Centre St")
    texter.send("yes")
    assert [i.text for i in ideas(db)] == ["more street trees", "and a crosswalk on Centre St"]


def test_free_text_in_the_ideas_window_is_offered_and_yes_saves_it(texter, db):
    texter.send("A dog park in Eastie")
    assert texter.said("idea.offer", text="A dog park in Eastie")
    assert count(db, Idea) == 0
    texter.send("Yes please")
    m = texter.said("idea.saved")
    assert m
    assert [(i.text, i.ref_code) for i in ideas(db)] == [("A dog park in Eastie", m.group("ref"))]


def test_free_text_offered_and_no_saves_nothing(texter, db):
    texter.send("A dog park in Eastie")
    texter.send("no")
    assert texter.said("idea.not_sent")
    assert count(db, Idea) == 0


def test_second_free_text_while_offered_is_added_to_the_offer(texter, db):
    texter.send("A dog park in Eastie")
    texter.send("near the Greenway")
    # the phone shows the line break between the two texts as a space
    assert texter.said("idea.offer", text="A dog park in Eastie near the Greenway")
    assert count(db, Idea) == 0
    texter.send("YES")
    assert [i.text for i in ideas(db)] == ["A dog park in Eastie\nnear the Greenway"]


def test_please_stop_the_construction_noise_is_an_idea_not_an_opt_out(texter, db):
    body = "please stop the construction noise on Centre St"
    texter.send(body)
    assert texter.said("idea.offer", text=body)
    assert not participant(db).opted_out
    texter.send("yes")
    assert [i.text for i in ideas(db)] == [body]


def test_an_empty_text_is_not_offered_as_an_idea(texter, db):
    texter.send("", NumMedia="1", MediaUrl0="https://api.twilio.com/2010-04-01/Accounts/AC1/Messages/MM1/Media/ME1",
                MediaContentType0="image/jpeg")
    assert not texter.said("idea.offer", text="")
    texter.send("yes")
    assert count(db, Idea) == 0


def test_with_ideas_and_voting_closed_free_text_gets_help(phone, db):
    past = utcnow() - timedelta(days=30)
    load_cycle(db, now=utcnow(), ideas_open=past - timedelta(days=60), ideas_close=past - timedelta(days=40),
               voting_open=past - timedelta(days=20), voting_close=past)
    t = TextDriver(phone)
    t.send("more trees please")
    assert t.said("sms.help")
    assert not t.said("idea.offer", text="more trees please")
    t.send("IDEA more trees")
    assert t.said("idea.closed")
    t.send("VOTE")
    assert t.said("vote.closed")
    assert count(db, Idea) == 0


def test_before_voting_opens_vote_gives_the_date(phone, db):
    now = utcnow()
    load_cycle(db, now=now, voting_open=now + timedelta(days=10), voting_close=now + timedelta(days=40))
    t = TextDriver(phone)
    t.send("VOTE")
    assert t.said("vote.before")


# ---- STOP, START ----

def test_stop_thank_you_opts_out_and_the_number_gets_nothing_further(texter, phone, db):
    assert texter.send("Stop. Thank you") == []
    assert participant(db).opted_out
    status, body = phone.last_status, phone.last_body
    assert status == 200 and ET.fromstring(body).tag == "Response"
    assert texter.send("VOTE") == []
    root = ET.fromstring(phone.last_body)
    assert root.tag == "Response" and root.find("Message") is None and len(root) == 0
    assert texter.send("IDEA more trees") == []


def test_start_mid_ballot_welcomes_back_and_the_ballot_carries_on(texter, db):
    at_choices(texter)
    assert texter.send("STOP") == []
    assert texter.send("3 7") == []
    texter.send("START")
    assert texter.said("sms.opted_in")
    assert not texter.said("sms.not_understood")
    assert not participant(db).opted_out
    texter.send("3 7")
    assert texter.said("ballot.review", count=2)
    texter.send("YES")
    assert texter.said("ballot.cast")


def test_start_mid_ballot_without_opting_out_is_not_an_answer(texter, db):
    at_choices(texter)
    texter.send("Start")
    assert texter.said("sms.opted_in")
    assert not texter.said("sms.not_understood")
    texter.send("3 7")
    assert texter.said("ballot.review", count=2)


# ---- withheld numbers ----

def test_anonymous_sender_may_leave_an_idea_but_is_never_texted(phone, demo, db):
    t = TextDriver(phone)
    assert t.send("IDEA a bench at the bus stop on Washington St", From="anonymous") == []
    assert [(i.text, i.channel, i.status, i.participant_id) for i in ideas(db)] == \
        [("a bench at the bus stop on Washington St", "sms", "received", None)]
    assert count(db, Participant) == 0


def test_anonymous_sender_cannot_vote(phone, demo, db):
    t = TextDriver(phone)
    assert t.send("VOTE", From="anonymous") == []
    assert t.send("34", From="anonymous") == []
    assert t.send("02118", From="anonymous") == []
    assert t.send("3 7", From="anonymous") == []
    assert t.send("YES", From="anonymous") == []
    assert count(db, Ballot) == 0


# ---- conversations end ----

def test_after_thirty_silent_minutes_the_next_text_starts_afresh(texter, db):
    at_choices(texter)
    with db.unit_of_work() as s:
        s.execute(update(Conversation).values(expires_at=utcnow() - timedelta(seconds=1)))
    texter.send("3 7")
    assert not texter.said("ballot.review", count=2)
    assert texter.said("sms.help")   # bare numbers out of the blue: how to vote, not an idea
    assert count(db, Ballot) == 0


def test_a_conversation_ended_by_a_twin_request_is_not_resumed_by_a_slower_clock(texter, db):
    # Two requests for one number take turns on the conversation; the one that waited read the
    # clock before the other ended it, so the end looks to it like a moment still to come.
    at_choices(texter)
    texter.send("3 7")
    texter.send("YES")
    assert texter.said("ballot.cast")
    with db.unit_of_work() as s:
        s.execute(update(Conversation).values(expires_at=utcnow() + timedelta(seconds=5)))
    texter.send("3 7")
    assert not texter.said("errors.sorry")
    assert texter.said("sms.help")


def test_a_conversation_lives_thirty_minutes(texter, db):
    texter.send("VOTE")
    with db.unit_of_work() as s:
        expires = s.scalar(select(Conversation.expires_at))
    assert timedelta(minutes=29) < expires - utcnow() <= timedelta(minutes=30)


def test_three_wrong_answers_end_politely(texter, db):
    texter.send("VOTE")
    texter.send("old")
    texter.send("very old")
    texter.send("ancient")
    assert texter.said("sms.gave_up")
    texter.send("34")
    assert not texter.said("vote.ask_zip")


# ---- privacy ----

def test_no_ballot_stores_the_phone_number(texter, db):
    at_choices(texter)
    texter.send("3 7 12")
    texter.send("YES")
    assert texter.said("ballot.cast")
    columns = {c["name"] for c in inspect(db.engine).get_columns("ballots")}
    assert columns == {"id", "cycle_id", "voter_key", "receipt", "channel", "cast_on"}
    p = participant(db)
    forms = {NUMBER, NUMBER.lstrip("+"), NUMBER[2:], p.phone_hash, p.phone_encrypted}
    with db.unit_of_work() as s:
        [row] = s.execute(select(Ballot.__table__)).mappings().all()
    for value in row.values():
        assert not any(f in str(value) for f in forms), f"a ballot column holds the number: {value!r}"


# ---- a new cycle ----

def test_a_ballot_in_last_cycle_does_not_stop_a_vote_in_the_new_one(texter, db):
    at_choices(texter)
    texter.send("3 7")
    texter.send("YES")
    first = texter.said("ballot.cast").group("receipt")
    spec = read(DEMO, ("en",), now=utcnow())
    load_cycle(db, now=utcnow(), name="Next year", proposals=spec.proposals[:5])
    texter.send("VOTE")
    assert not texter.said("vote.already")
    texter.send("34")
    texter.send("02118")
    texter.send("2")
    texter.send("YES")
    second = texter.said("ballot.cast").group("receipt")
    assert second != first
    texter.send("VOTE")      # and in the new cycle, the new receipt
    assert texter.said("vote.already", receipt=second)
