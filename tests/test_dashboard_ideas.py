"""Ideas at the dashboard: the inbox (filters, search, counts, pages), one idea (audio with Range,
transcript corrections, judgement, the caller's number), the CSV — as a reviewer notices them.

Through Flask's test client, on SQLite and PostgreSQL (the `db` fixture).
"""
from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from store import ideas, review
from store.models import AuditEvent, Idea, IdeaReview, Transcript
from tests.conftest import utcnow
from tests.staff_driver import as_staff, post, recorded_idea, text_idea

WORDS = [{"word": "more", "start": 0.0, "end": 0.4, "confidence": 0.95},
         {"word": "benches", "start": 0.4, "end": 1.0, "confidence": 0.52},
         {"word": "please", "start": 1.0, "end": 1.5, "confidence": 0.91}]


def refs_on(page) -> list[str]:
    return re.findall(r'class="ref" href="/staff/ideas/(\d+)', page.text)


def total_on(page) -> int:
    return int(re.search(r'id="total">([\d,]+)<', page.text).group(1).replace(",", ""))


def audit(db, action: str) -> list[AuditEvent]:
    with db.unit_of_work() as s:
        return list(s.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def priority_ids(db, cycle_id: int) -> dict[str, int]:
    with db.unit_of_work() as s:
        review.seed_priorities(s, cycle_id)
        return {p.name: p.id for p in review.priorities(s, cycle_id)}


# ---- escaping ----

def test_an_idea_saying_script_shows_as_text(db, client, make_phone, demo):
    ref = text_idea(make_phone, '<script>alert("x")</script> & <b>more</b> benches')
    as_staff(client, db, "reviewer")
    for url in ["/staff/ideas", f"/staff/ideas/{ref}"]:
        page = client.get(url)
        assert "<script>alert" not in page.text and "<b>more</b>" not in page.text, url
        assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; &lt;b&gt;more&lt;/b&gt;" in page.text, url
    post(client, f"/staff/ideas/{ref}", {"summary_en": "<img src=x onerror=alert(1)>", "notes": "<i>n</i>"})
    page = client.get(f"/staff/ideas/{ref}")
    assert "<img src=x" not in page.text and "&lt;img src=x onerror=alert(1)&gt;" in page.text


# ---- the recording ----

def test_recording_plays_for_signed_in_staff_and_seeks_with_range_requests(db, client, config, demo):
    ref = recorded_idea(db, config.recordings_dir, seconds=4.0, cycle_id=demo)
    assert client.get(f"/staff/ideas/{ref}/audio").status_code == 302       # signed out: sign in first
    as_staff(client, db, "reviewer")
    whole = client.get(f"/staff/ideas/{ref}/audio")
    assert whole.status_code == 200 and whole.mimetype == "audio/wav" and whole.data[:4] == b"RIFF"
    assert whole.headers["Accept-Ranges"] == "bytes" and "no-store" in whole.headers["Cache-Control"]
    part = client.get(f"/staff/ideas/{ref}/audio", headers={"Range": "bytes=1000-1999"})
    assert part.status_code == 206 and part.data == whole.data[1000:2000]
    assert part.headers["Content-Range"] == f"bytes 1000-1999/{len(whole.data)}"
    tail = client.get(f"/staff/ideas/{ref}/audio", headers={"Range": "bytes=-100"})
    assert tail.status_code == 206 and tail.data == whole.data[-100:]
    page = client.get(f"/staff/ideas/{ref}")
    assert f'<audio id="player" controls preload="metadata" src="/staff/ideas/{ref}/audio"' in page.text


def test_a_recording_not_downloaded_yet_says_so_and_how_to_retry(db, client, config, demo):
    ref = recorded_idea(db, config.recordings_dir, kept=False, cycle_id=demo)
    as_staff(client, db, "reviewer")
    page = client.get(f"/staff/ideas/{ref}")
    assert "Not downloaded yet" in page.text and f"hotline jobs retry {ref}" in page.text
    assert "<audio" not in page.text
    assert client.get(f"/staff/ideas/{ref}/audio").status_code == 404


def test_a_recording_path_outside_the_recordings_folder_is_never_served(db, client, config, demo, tmp_path):
    ref = recorded_idea(db, config.recordings_dir, cycle_id=demo)
    (tmp_path / "secret.wav").write_bytes(b"RIFF secret")
    with db.unit_of_work() as s:
        idea = ideas.by_ref(s, ref)
        idea.recording.local_path = "../secret.wav"
    as_staff(client, db, "reviewer")
    assert client.get(f"/staff/ideas/{ref}/audio").status_code == 404


# ---- transcripts and judgement ----

def test_low_confidence_words_are_marked(db, client, config, demo):
    ref = recorded_idea(db, config.recordings_dir, machine="more benches please", words=WORDS, cycle_id=demo)
    as_staff(client, db, "reviewer")
    page = client.get(f"/staff/ideas/{ref}")
    assert re.search(r'<mark class="word low" data-start="0.4" title="The machine was 52% sure">benches</mark>',
                     page.text)
    assert '<span class="word" data-start="0.0">more</span>' in page.text


def test_correcting_a_transcript_keeps_the_machine_text_beside_it(db, client, config, demo):
    ref = recorded_idea(db, config.recordings_dir, machine="more bunches please", words=WORDS, cycle_id=demo)
    email = as_staff(client, db, "reviewer")
    saved = post(client, f"/staff/ideas/{ref}", {"transcript": "more benches please", "version": "0"})
    assert saved.status_code == 302
    with db.unit_of_work() as s:
        idea = ideas.by_ref(s, ref)
        rows = list(s.scalars(select(Transcript).where(Transcript.idea_id == idea.id).order_by(Transcript.id)))
        assert [(t.kind, t.text, t.reviewer) for t in rows] == [("machine", "more bunches please", None),
                                                                ("reviewed", "more benches please", email)]
        current = ideas.current_text(s, idea)
        assert (current.text, current.source, current.machine_text) == ("more benches please", "reviewed",
                                                                         "more bunches please")
    [event] = audit(db, "transcript.correct")
    assert event.actor == email and event.detail["from"] == "more bunches please"
    page = client.get(f"/staff/ideas/{ref}")
    assert "Saved." in page.text and "the machine's words above are kept" in page.text
    post(client, f"/staff/ideas/{ref}", {"transcript": "more benches please", "version": "0"})   # unchanged
    assert len(audit(db, "transcript.correct")) == 1


def test_a_reviewer_judges_and_sorts_an_idea(db, client, make_phone, demo):
    ref = text_idea(make_phone, "Más bancos en el parque", zip_code="02121")
    parks = priority_ids(db, demo)["Benches and shade at bus stops on city sidewalks"]
    email = as_staff(client, db, "reviewer")
    missing_reason = post(client, f"/staff/ideas/{ref}", {"eligibility": "not_eligible", "version": "0"})
    assert missing_reason.status_code == 400 and "criteria" in missing_reason.text
    saved = post(client, f"/staff/ideas/{ref}", {
        "summary_en": "More benches in the park", "priority": str(parks), "eligibility": "not_eligible",
        "reasons": ["not_city_property", "not_feasible"], "notes": "Park is DCR land", "version": "0"})
    assert saved.status_code == 302
    with db.unit_of_work() as s:
        row, idea = s.scalar(select(IdeaReview)), ideas.by_ref(s, ref)
        assert (row.summary_en, idea.priority_id, idea.eligibility, row.reasons, row.notes, row.updated_by) == (
            "More benches in the park", parks, "not_eligible", ["not_city_property", "not_feasible"],
            "Park is DCR land", email)
        assert idea.text == "Más bancos en el parque"     # the caller's words as they were
    [event] = audit(db, "idea.review")
    assert event.detail["priority"] == {"from": None, "to": "Benches and shade at bus stops on city sidewalks"}
    post(client, f"/staff/ideas/{ref}", {"eligibility": "eligible", "priority": str(parks),
                                         "summary_en": "More benches in the park", "notes": "Park is DCR land",
                                         "reasons": ["not_feasible"], "version": "1"})
    with db.unit_of_work() as s:
        assert s.scalar(select(IdeaReview.reasons)) == []            # reasons go with "not eligible"


def test_a_priority_from_another_cycle_is_refused(db, client, make_phone, demo):
    from tests.conftest import load_cycle
    other = load_cycle(db, now=utcnow(), name="Another cycle")
    foreign = priority_ids(db, other)
    ref = text_idea(make_phone, "more benches")
    with db.unit_of_work() as s:
        ideas.by_ref(s, ref).cycle_id = demo
    as_staff(client, db, "reviewer")
    refused = post(client, f"/staff/ideas/{ref}", {"priority": str(next(iter(foreign.values()))), "version": "0"})
    assert refused.status_code == 400 and "not one of this cycle" in refused.text


def test_two_reviewers_saving_the_same_idea_the_second_is_told(db, client, make_phone, demo):
    ref = text_idea(make_phone, "more benches")
    as_staff(client, db, "reviewer")
    assert post(client, f"/staff/ideas/{ref}", {"summary_en": "First", "version": "0"}).status_code == 302
    late = post(client, f"/staff/ideas/{ref}", {"summary_en": "Second", "version": "0"})
    assert late.status_code == 409 and "saved this idea while you were working" in late.text
    assert 'name="version" value="1"' in late.text and "Second" in late.text     # their text is not lost
    with db.unit_of_work() as s:
        assert s.scalar(select(IdeaReview.summary_en)) == "First"


# ---- the caller's number ----

def test_a_reviewer_sees_only_a_masked_number(db, client, make_phone, demo):
    ref = text_idea(make_phone, "more benches", number="+16175550199")
    as_staff(client, db, "reviewer")
    page = client.get(f"/staff/ideas/{ref}")
    assert "+1617•••••99" in page.text and "6175550199" not in page.text and "Reveal number" not in page.text
    assert post(client, f"/staff/ideas/{ref}/reveal", {"reason": "call back"}).status_code == 403
    assert "6175550199" not in client.get("/staff/ideas").text + client.get("/staff/ideas.csv").text


def test_an_admin_reveals_a_number_with_a_reason_and_it_is_audited(db, client, make_phone, demo):
    ref = text_idea(make_phone, "more benches", number="+16175550199")
    email = as_staff(client, db, "admin")
    page = client.get(f"/staff/ideas/{ref}")
    assert "Reveal number" in page.text and "6175550199" not in page.text
    assert post(client, f"/staff/ideas/{ref}/reveal", {"reason": ""}).status_code == 400
    assert audit(db, "phone.reveal") == []
    shown = post(client, f"/staff/ideas/{ref}/reveal", {"reason": "call back about the park"})
    assert shown.status_code == 200 and "+16175550199" in shown.text
    [event] = audit(db, "phone.reveal")
    assert (event.actor, event.target, event.detail) == (email, f"idea:{ref}", {"reason": "call back about the park"})
    assert "6175550199" not in client.get(f"/staff/ideas/{ref}").text    # shown once, not kept on the page


# ---- the inbox ----

@pytest.fixture
def mixed(db, make_phone, config, demo):
    """Ideas of every kind: texted in English and Spanish, recorded, reviewed, from two ZIPs."""
    refs = {
        "trees": text_idea(make_phone, "more street trees on Blue Hill Ave", "+16175550101", "02121"),
        "bancos": text_idea(make_phone, "Más bancos en el parque Franklin", "+16175550102", "02121"),
        "wifi": text_idea(make_phone, "free wifi at the library", "+16175550103", "02134"),
        "voice": recorded_idea(db, config.recordings_dir, machine="a crosswalk near the school", cycle_id=demo),
    }
    with db.unit_of_work() as s:
        # Mid-day (17:00 UTC is 12:00 or 13:00 in Boston), days apart: the day filters' edges are clear.
        base = (utcnow() - timedelta(days=10)).replace(hour=17, minute=0, second=0, microsecond=0)
        for k, name in enumerate(["trees", "bancos", "wifi", "voice"]):
            s.execute(update(Idea).where(Idea.ref_code == refs[name]).values(created_at=base + timedelta(days=3 * k)))
        wifi = ideas.by_ref(s, refs["wifi"])
        review.save_review(s, wifi, review.Judgement(None, "eligible", (), "Library wifi", "check branch hours"),
                           "x@boston.gov", utcnow())
    return refs


def test_inbox_filters_by_language_channel_review_and_place_with_counts(db, client, mixed):
    as_staff(client, db, "reviewer")
    everything = client.get("/staff/ideas")
    assert total_on(everything) == 4 and refs_on(everything) == [mixed[k] for k in ("voice", "wifi", "bancos", "trees")]
    assert ">Spanish (1)<" in everything.text and ">Phone call (1)<" in everything.text
    spanish = client.get("/staff/ideas?lang=es")
    assert refs_on(spanish) == [mixed["bancos"]] and total_on(spanish) == 1
    assert ">English (3)<" in spanish.text        # a facet's counts ignore its own filter
    assert ">Text message (1)<" in spanish.text and ">Phone call (0)<" in spanish.text
    assert refs_on(client.get("/staff/ideas?channel=voice")) == [mixed["voice"]]
    assert refs_on(client.get("/staff/ideas?review=eligible")) == [mixed["wifi"]]
    assert set(refs_on(client.get("/staff/ideas?review=unreviewed"))) == {mixed[k] for k in ("voice", "bancos", "trees")}
    assert set(refs_on(client.get("/staff/ideas?zip=02121"))) == {mixed["trees"], mixed["bancos"]}
    hood = client.get("/staff/ideas?hood=Allston")
    assert refs_on(hood) == [mixed["wifi"]]
    assert refs_on(client.get("/staff/ideas?hood=Allston&zip=02121")) == []


def test_inbox_filters_by_date_in_the_office_time_zone(db, client, mixed):
    as_staff(client, db, "reviewer")
    with db.unit_of_work() as s:
        day = ideas.by_ref(s, mixed["bancos"]).created_at.date()
    assert refs_on(client.get(f"/staff/ideas?from={day}&to={day}")) == [mixed["bancos"]]
    assert set(refs_on(client.get(f"/staff/ideas?from={day}"))) == {mixed[k] for k in ("bancos", "wifi", "voice")}
    assert set(refs_on(client.get(f"/staff/ideas?to={day}"))) == {mixed[k] for k in ("bancos", "trees")}
    with db.unit_of_work() as s:     # 02:00 UTC is still the evening before in Boston
        s.execute(update(Idea).where(Idea.ref_code == mixed["wifi"])
                  .values(created_at=ideas.by_ref(s, mixed["bancos"]).created_at.replace(hour=2) + timedelta(days=1)))
    assert set(refs_on(client.get(f"/staff/ideas?from={day}&to={day}"))) == {mixed["bancos"], mixed["wifi"]}


@pytest.mark.parametrize("words, expected", [
    ("crosswalk", ["voice"]),              # a machine transcript
    ("BANCOS", ["bancos"]),                # a text, whatever the case
    ("library wifi", ["wifi"]),            # every word, anywhere in texts and summaries
    ("branch hours", ["wifi"]),            # staff notes
    ("100%", []),                          # LIKE's wildcards are only characters
    ("more", ["trees"]),
])
def test_search_finds_words_in_texts_transcripts_summaries_and_notes(db, client, mixed, words, expected):
    as_staff(client, db, "reviewer")
    page = client.get("/staff/ideas", query_string={"q": words})
    assert sorted(refs_on(page)) == sorted(mixed[k] for k in expected)


def test_search_by_reference_number(db, client, mixed):
    as_staff(client, db, "reviewer")
    assert refs_on(client.get("/staff/ideas", query_string={"q": mixed["wifi"]})) == [mixed["wifi"]]


def test_sorting_by_priority_shows_in_the_inbox_and_its_filter(db, client, mixed, demo):
    ids = priority_ids(db, demo)
    as_staff(client, db, "reviewer")
    post(client, f"/staff/ideas/{mixed['trees']}", {"priority": str(ids["Street trees along main corridors"]),
                                                    "version": "0"})
    page = client.get(f"/staff/ideas?priority={ids['Street trees along main corridors']}")
    assert refs_on(page) == [mixed["trees"]] and "Street trees along main corridors (1)" in page.text
    assert len(refs_on(client.get("/staff/ideas?priority=none"))) == 3


def test_paging_walks_every_idea_once_both_ways(db, client, make_phone, demo, monkeypatch):
    from hotline.dashboard import views
    monkeypatch.setattr(views, "PAGE_SIZE", 2)
    refs = [text_idea(make_phone, f"idea number {i}", f"+1617555020{i}") for i in range(5)]
    with db.unit_of_work() as s:     # two ideas in the same second: the id breaks the tie
        s.execute(update(Idea).values(created_at=utcnow().replace(microsecond=0)))
    as_staff(client, db, "reviewer")
    seen, url, pages = [], "/staff/ideas", []
    while url:
        page = client.get(url)
        pages.append(page)
        seen += refs_on(page)
        m = re.search(r'rel="next" href="([^"]+)"', page.text)
        url = "/staff/ideas" + m.group(1).replace("&amp;", "&") if m else None
    assert sorted(seen) == sorted(refs) and len(seen) == 5 and len(pages) == 3
    assert "Showing 5–5 of 5" in pages[-1].text
    back = re.search(r'rel="prev" href="([^"]+)"', pages[-1].text).group(1).replace("&amp;", "&")
    assert refs_on(client.get("/staff/ideas" + back)) == refs_on(pages[1])


def test_next_and_previous_follow_the_filtered_inbox(db, client, mixed):
    as_staff(client, db, "reviewer")
    page = client.get(f"/staff/ideas/{mixed['trees']}?channel=sms")
    assert f'href="/staff/ideas/{mixed["bancos"]}?channel=sms"' in page.text       # previous: newer
    assert 'id="next-link"' not in page.text                                      # the oldest one
    saved = post(client, f"/staff/ideas/{mixed['bancos']}?channel=sms",
                 {"summary_en": "Benches", "version": "0", "back": "channel=sms", "next_ref": mixed["trees"],
                  "go_next": "1"})
    assert saved.headers["Location"] == f"/staff/ideas/{mixed['trees']}?channel=sms"


def test_ideas_csv_holds_the_filtered_ideas_with_their_review(db, client, mixed):
    email = as_staff(client, db, "reviewer")
    post(client, f"/staff/ideas/{mixed['trees']}", {"summary_en": "=HYPERLINK(\"http://x\")", "version": "0"})
    response = client.get("/staff/ideas.csv?channel=sms")
    assert response.mimetype == "text/csv" and "attachment" in response.headers["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.data.decode("utf-8-sig"))))
    assert {r["ref_code"] for r in rows} == {mixed[k] for k in ("trees", "bancos", "wifi")}
    wifi = next(r for r in rows if r["ref_code"] == mixed["wifi"])
    assert (wifi["text"], wifi["eligibility"], wifi["summary_en"], wifi["zip_code"]) == (
        "free wifi at the library", "eligible", "Library wifi", "02134")
    trees = next(r for r in rows if r["ref_code"] == mixed["trees"])
    assert trees["summary_en"] == "'=HYPERLINK(\"http://x\")"          # not a formula in a spreadsheet
    [event] = audit(db, "ideas.export")
    assert event.actor == email and event.detail == {"filters": {"channel": "sms"}}


def test_a_large_export_comes_in_chunks_without_losing_or_repeating_an_idea(db, client, make_phone, demo,
                                                                          monkeypatch):
    from hotline.dashboard import views
    monkeypatch.setattr(views, "EXPORT_CHUNK", 2)
    refs = [text_idea(make_phone, f"idea number {i}", f"+1617555040{i}") for i in range(5)]
    as_staff(client, db, "reviewer")
    rows = list(csv.DictReader(io.StringIO(client.get("/staff/ideas.csv").data.decode("utf-8-sig"))))
    assert sorted(r["ref_code"] for r in rows) == sorted(refs)


def test_a_search_matching_very_many_ideas_gives_the_same_answer(db, client, mixed, monkeypatch):
    """Past MAX_RESOLVED matches the search stays a subquery instead of a list of ids."""
    as_staff(client, db, "reviewer")
    by_list = refs_on(client.get("/staff/ideas?q=the"))
    monkeypatch.setattr(review, "MAX_RESOLVED", 1)
    by_subquery = client.get("/staff/ideas?q=the")
    assert refs_on(by_subquery) == by_list and len(by_list) == 2 and total_on(by_subquery) == 2
