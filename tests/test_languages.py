"""Every language the line serves, end to end: a ballot and an idea by phone and by text, each
answer in the caller's own language (its catalog's words, its voice or its recordings)."""
from __future__ import annotations

import pytest
from sqlalchemy import select

import prompts
from store.models import Ballot, Idea, Participant
from tests.driver import CallDriver, TextDriver

LANGS = prompts.languages()
TAGS = list(LANGS)
FIRST_PAGE = 8
YES = {"en": "YES", "es": "SÍ", "ht": "WI", "zh-Hant": "是", "vi": "CÓ", "kea": "SIN", "zh-Hans": "是",
       "pt": "SIM", "ru": "ДА", "ar": "نعم", "so": "HAA", "fr": "OUI"}


def choose_language(call: CallDriver, tag: str) -> None:
    index = TAGS.index(tag)
    if index >= FIRST_PAGE:
        call.press("9")
        index -= FIRST_PAGE
    call.press(str(index + 1))


def heard_in(call: CallDriver, tag: str) -> None:
    """Everything since the last key was heard in `tag`: its voice, or its own words played."""
    events = call.call.events[call._mark:]
    lang = LANGS[tag]
    says = [e for e in events if e.kind == "say"]
    plays = [e for e in events if e.kind == "play"]
    if lang.say_language:
        assert says and all(e.attrs.get("language") == lang.say_language for e in says)
    else:
        assert plays and not says and all(f"/audio/say/{tag}/" in e.text or f"/audio/recorded/{tag}/" in e.text
                                          for e in plays)


def test_every_language_has_a_row_here():
    assert set(YES) == set(TAGS)


@pytest.mark.parametrize("tag", TAGS)
def test_a_caller_votes_in_their_language(make_phone, demo, db, tag):
    call = CallDriver(make_phone("+16175550142").dial(), lang=tag)
    choose_language(call, tag)
    assert call.said("menu.intro") and call.said("menu.voting.open")
    heard_in(call, tag)
    call.press("3")
    assert call.said("vote.ask_age", min_age=11, min_grade=6)
    heard_in(call, tag)
    call.press("34#").press("02118#")
    assert call.said("ballot.intro", count=15, max=5)
    call.press("1")
    # a proposal's title is read in the caller's language where the cycle file gives one
    assert call.said("ballot.proposal", number=1, cost=prompts.Money(150000))
    heard_in(call, tag)
    call.press("1").press("9")
    assert call.said("ballot.review", count=1)
    call.press("1")
    receipt = call.said("ballot.cast").group("receipt")
    heard_in(call, tag)
    with db.unit_of_work() as s:
        assert s.scalar(select(Ballot.receipt)) == "".join(ch for ch in receipt if ch.isdigit())
        assert s.scalar(select(Participant.language)) == tag


@pytest.mark.parametrize("tag", TAGS)
def test_a_caller_leaves_an_idea_in_their_language(make_phone, demo, db, tag):
    call = CallDriver(make_phone("+16175550143").dial(), lang=tag)
    choose_language(call, tag)
    call.press("2")
    assert call.said("idea.intro") and call.said("idea.record", minutes=3)
    heard_in(call, tag)
    call.record(duration=20)
    assert call.said("idea.review")
    call.press("1").press("#")
    with db.unit_of_work() as s:
        idea = s.scalar(select(Idea))
        assert (idea.language, idea.channel, idea.status) == (tag, "voice", "received")
    assert call.said("idea.thanks", ref=prompts.Code(idea.ref_code))
    heard_in(call, tag)


def texted_language(phone, tag: str) -> TextDriver:
    t = TextDriver(phone, lang=tag)
    t.send("LANGUAGE")
    assert all(t.said("language.option", lang=other, key=i, name=LANGS[other].name)
               for i, other in enumerate(TAGS, start=1))
    t.send(str(TAGS.index(tag) + 1))
    assert t.said("language.set")
    return t


@pytest.mark.parametrize("tag", TAGS)
def test_a_resident_votes_by_text_in_their_language(make_phone, demo, db, tag):
    t = texted_language(make_phone("+16175550144"), tag)
    t.send(prompts.catalog(tag)["keywords.vote"][0].upper())
    assert t.said("vote.ask_age", min_age=11, min_grade=6)
    t.send("34")
    assert t.said("vote.ask_zip")
    t.send("02118")
    assert t.said("ballot.list_intro", count=15, max=5) and t.said("ballot.ask_choices", max=5)
    t.send("3 7")
    assert t.said("ballot.review", count=2)
    t.send(YES[tag])
    receipt = t.said("ballot.cast").group("receipt")
    with db.unit_of_work() as s:
        assert s.scalar(select(Ballot.receipt)) == receipt


@pytest.mark.parametrize("tag", TAGS)
def test_a_resident_texts_an_idea_in_their_language(make_phone, demo, db, tag):
    t = texted_language(make_phone("+16175550145"), tag)
    t.send(f"{prompts.catalog(tag)['keywords.idea'][0]} 12345 more benches")
    with db.unit_of_work() as s:
        idea = s.scalar(select(Idea))
    assert idea.text == "12345 more benches" and idea.language == tag
    assert t.said("idea.saved", ref=prompts.Code(idea.ref_code)) and t.said("idea.zip")


# The first text tells the language when it is unmistakable: its script, or a word of one language.
FIRST_TEXTS = [
    ("VOTAR", "es"), ("VOTER", "fr"), ("投票", "zh-Hant"), ("BỎ PHIẾU", "vi"), ("ГОЛОСОВАТЬ", "ru"),
    ("我们需要更多的公园长椅", "zh-Hans"), ("نحتاج المزيد من الأشجار في الحي", "ar"),
    ("Nou bezwen plis lari pwòp nan katye a", "ht"),
]


@pytest.mark.parametrize("body, tag", FIRST_TEXTS, ids=[t for _, t in FIRST_TEXTS])
def test_the_first_text_sets_the_language_when_it_is_unmistakable(make_phone, demo, db, body, tag):
    t = TextDriver(make_phone("+16175550146"), lang=tag)
    replies = t.send(body)
    assert replies and (t.said("vote.ask_age", min_age=11, min_grade=6) or t.said("idea.offer"))
    with db.unit_of_work() as s:
        assert s.scalar(select(Participant.language)) == tag
