"""The ballot side at the dashboard: cycles, proposals in every language, turnout, results with the
funding line, the CSVs, priorities — and that no page or file ties a ballot to a phone number.

Through Flask's test client, on SQLite and PostgreSQL (the `db` fixture).
"""
from __future__ import annotations

import csv
import io
import re

from click.testing import CliRunner
from sqlalchemy import select

from hotline import cli
from store.models import AuditEvent, Ballot, Participant, Priority, Proposal
from tests.staff_driver import as_staff, post, text_idea, vote_by_text

VOTERS = {"+16175550301": "3 7 12", "+16175550302": "3 7", "+16175550303": "3 11", "+16175550304": "1"}


def cast(make_phone) -> dict[str, str]:
    return {number: vote_by_text(make_phone, number, choices) for number, choices in VOTERS.items()}


def test_cycle_page_shows_windows_cap_rules_and_missing_translations(db, client, demo):
    as_staff(client, db, "admin")
    page = client.get(f"/staff/ballot/{demo}")
    assert page.status_code == 200
    assert "$2,000,000" in page.text and "1 to 5 proposals per ballot" in page.text
    assert "Aged 11 or older, or in grade 6 or above" in page.text
    # The demo ballot is in English, Spanish and Chinese: the line's other languages are missing.
    assert "still missing" in page.text and re.search(r"8 missing</span>\s*<span class=\"small\">Haitian Creole", page.text)
    assert client.get("/staff/ballot", follow_redirects=False).headers["Location"] == f"/staff/ballot/{demo}"


def test_admin_fills_a_missing_title_and_it_is_audited(db, client, demo):
    email = as_staff(client, db, "admin")
    with db.unit_of_work() as s:
        before = dict(s.scalar(select(Proposal).where(Proposal.cycle_id == demo, Proposal.number == 1)).title)
    form = {f"title_{lang}": text for lang, text in before.items()}
    saved = post(client, f"/staff/ballot/{demo}/proposals/1", {**form, "title_ht": "Pwogram sante mantal pou jèn",
                                                               "cost": "150,000"})
    assert saved.status_code == 302
    with db.unit_of_work() as s:
        row = s.scalar(select(Proposal).where(Proposal.cycle_id == demo, Proposal.number == 1))
        assert row.title["ht"] == "Pwogram sante mantal pou jèn" and row.title["en"] == before["en"]
        event = s.scalar(select(AuditEvent).where(AuditEvent.action == "proposal.edit"))
        assert event.actor == email and event.target == f"proposal:{demo}:1"


def test_cost_is_locked_once_ballots_are_cast(db, client, demo, make_phone):
    vote_by_text(make_phone, "+16175550301")
    as_staff(client, db, "admin")
    with db.unit_of_work() as s:
        title = dict(s.scalar(select(Proposal).where(Proposal.cycle_id == demo, Proposal.number == 3)).title)
    post(client, f"/staff/ballot/{demo}/proposals/3", {**{f"title_{k}": v for k, v in title.items()}, "cost": "1"})
    page = client.get(f"/staff/ballot/{demo}")
    assert "can no longer change" in page.text
    with db.unit_of_work() as s:
        assert s.scalar(select(Proposal.cost).where(Proposal.cycle_id == demo, Proposal.number == 3)) == 90000


def test_turnout_by_day_and_channel(db, client, demo, make_phone):
    cast(make_phone)
    as_staff(client, db, "admin")
    fragment = client.get(f"/staff/ballot/{demo}/turnout")
    assert '<span id="turnout-total">4</span>' in fragment.text and "Text: 4" in fragment.text
    with db.unit_of_work() as s:
        day = str(s.scalar(select(Ballot.cast_on)))
    assert re.search(rf"<th scope=\"row\">{day}</th><td class=\"num\">0</td><td class=\"num\">4</td>", fragment.text)
    assert "<svg" in fragment.text


def test_results_chart_draws_the_funding_line_and_agrees_with_the_cli(db, client, demo, make_phone, monkeypatch,
                                                                      tmp_path):
    cast(make_phone)
    as_staff(client, db, "admin")
    page = client.get(f"/staff/ballot/{demo}/results")
    assert page.status_code == 200 and 'id="results-chart"' in page.text and 'id="funding-line"' in page.text
    # Every proposal with votes fits under the cap here: the line sits under the last of them.
    assert "Funding line: $1,160,000 of the $2,000,000 cap funded ($840,000 left)" in page.text
    bars = re.findall(r'<g class="(funded|skipped|unfunded)">', page.text)
    assert bars[:5] == ["funded"] * 5 and set(bars[5:]) == {"unfunded"}
    monkeypatch.setenv("DATABASE_URL", db.url)
    monkeypatch.setenv("HOTLINE_INSTANCE", str(tmp_path / "instance"))
    from_cli = CliRunner().invoke(cli.main, ["results", "--cycle", str(demo), "--format", "csv"]).stdout
    exported = client.get(f"/staff/ballot/{demo}/results.csv")
    assert exported.mimetype == "text/csv" and exported.data.decode() == from_cli
    rows = list(csv.DictReader(io.StringIO(from_cli)))
    assert [(r["number"], r["votes"], r["funded"]) for r in rows[:2]] == [("3", "3", "yes"), ("7", "2", "yes")]


def test_no_page_or_file_ties_a_ballot_to_a_phone_number(db, client, demo, make_phone, config):
    from store import identity

    receipts = cast(make_phone)
    text_idea(make_phone, "more benches", number="+16175550301")     # a voter who also left an idea
    as_staff(client, db, "admin")
    with db.unit_of_work() as s:
        voter_keys = list(s.scalars(select(Ballot.voter_key)))
        participant_hashes = list(s.scalars(select(Participant.phone_hash)))
    pages = [client.get(url, follow_redirects=True) for url in [
        "/staff/ideas", f"/staff/ballot/{demo}", f"/staff/ballot/{demo}/turnout", f"/staff/ballot/{demo}/results",
        f"/staff/ballot/{demo}/results.csv", "/staff/ideas.csv", "/staff/audit", "/staff/priorities"]]
    seen = "\n".join(p.data.decode("utf-8", "replace") for p in pages)
    for number in VOTERS:
        digits = number[2:]
        assert digits not in seen and identity.mask(number) not in seen.replace(identity.mask("+16175550301"), "")
    for secret in [*receipts.values(), *voter_keys, *participant_hashes]:
        assert secret not in seen


def test_priorities_start_from_the_ballot_and_are_managed_by_admins(db, client, demo, make_phone):
    email = as_staff(client, db, "admin")
    post(client, f"/staff/priorities/{demo}", {"action": "seed"})
    with db.unit_of_work() as s:
        rows = list(s.scalars(select(Priority).where(Priority.cycle_id == demo).order_by(Priority.position)))
        assert len(rows) == 15 and rows[0].name == "Youth mental health program" and rows[0].proposal_number == 1
        first, second = rows[0].id, rows[1].id
    post(client, f"/staff/priorities/{demo}/{second}", {"action": "up"})
    post(client, f"/staff/priorities/{demo}/{first}", {"action": "save", "name": "Youth mental health",
                                                       "description": "Counselling in schools", "proposal_number": "1"})
    duplicate = post(client, f"/staff/priorities/{demo}", {"name": "youth MENTAL health"}, follow_redirects=True)
    assert "already has a priority named" in duplicate.text
    page = client.get(f"/staff/priorities?cycle={demo}")
    assert page.text.index("Free Wi-Fi in more low-income") < page.text.index("Youth mental health")
    assert "Counselling in schools" in page.text
    ref = text_idea(make_phone, "therapy for teens")
    post(client, f"/staff/ideas/{ref}", {"priority": str(first), "version": "0"})
    post(client, f"/staff/priorities/{demo}/{first}", {"action": "delete"})
    with db.unit_of_work() as s:
        assert s.get(Priority, first) is None
        actions = [e.action for e in s.scalars(select(AuditEvent).where(AuditEvent.actor == email))]
    assert {"priority.seed", "priority.move", "priority.edit", "priority.delete", "idea.review"} <= set(actions)
    assert ">Not sorted yet (1)<" in client.get("/staff/ideas").text


def test_reviewers_read_the_priorities_but_cannot_change_them(db, client, demo):
    as_staff(client, db, "reviewer")
    page = client.get(f"/staff/priorities?cycle={demo}")
    assert page.status_code == 200 and "Add a priority" not in page.text
    assert post(client, f"/staff/priorities/{demo}", {"action": "seed"}).status_code == 403
