"""Operators' commands: load a cycle, see results, export ideas."""
import csv
import io
import json
import textwrap

import pytest
from click.testing import CliRunner

from hotline import cli
from tests.driver import CallDriver, TextDriver

CYCLE = textwrap.dedent("""
    cycle:
      name: Test cycle
      timezone: America/New_York
      ideas_open:  2020-07-01T00:00:00
      ideas_close: 2099-08-31T23:59:59
      voting_open: 2020-01-15T00:00:00
      voting_close: 2099-02-28T23:59:59
      budget_cap: 500
      max_choices: 2
      min_age: 11
      min_grade: 6
      residency_zip_codes: [02118, 02119]
    proposals:
      - {number: 1, cost: 300, title: {en: "Trees"}}
      - {number: 2, cost: 300, title: {en: "Benches", es: "Bancos"}}
      - {number: 3, cost: 100, title: {en: "Library hours"}}
""")


@pytest.fixture
def runner(db, monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", db.url)
    monkeypatch.setenv("HOTLINE_INSTANCE", str(tmp_path / "instance"))
    monkeypatch.setenv("SECRET_KEY", "test-secret-key")
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "test-auth-token-0123456789abcdef")
    return CliRunner()


def test_cycle_load_prints_the_id_last_and_warns_of_missing_translations(runner, tmp_path):
    f = tmp_path / "cycle.yaml"
    f.write_text(CYCLE)
    out = runner.invoke(cli.main, ["cycle", "load", str(f)])
    assert out.exit_code == 0, out.output
    assert out.stdout.strip().splitlines()[-1].isdigit()
    # One line per set of missing languages, naming the proposals that lack them.
    assert "warning: proposals 1, 3: no title in es, ht," in out.output
    assert "warning: proposal 2: no title in ht," in out.output
    assert out.output.count("warning:") == 2


def test_reading_commands_run_where_no_hotline_is_say_so_and_leave_nothing(runner, monkeypatch, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.delenv("DATABASE_URL")
    monkeypatch.setenv("HOTLINE_INSTANCE", str(elsewhere / "instance"))
    for args in (["results", "--format", "json"], ["ideas", "export"]):
        out = runner.invoke(cli.main, args)
        assert out.exit_code != 0
        assert "No hotline database at" in out.output and "DATABASE_URL" in out.output
    assert list(elsewhere.iterdir()) == []          # no empty database, no secrets made there


def test_cycle_file_with_a_mistake_says_what_to_fix(runner, tmp_path):
    f = tmp_path / "cycle.yaml"
    f.write_text(CYCLE.replace("budget_cap: 500", ""))
    out = runner.invoke(cli.main, ["cycle", "load", str(f)])
    assert out.exit_code != 0 and "cycle.budget_cap is missing" in out.output


def test_results_fund_by_votes_skipping_what_does_not_fit(runner, tmp_path, make_phone):
    f = tmp_path / "cycle.yaml"
    f.write_text(CYCLE)
    assert runner.invoke(cli.main, ["cycle", "load", str(f)]).exit_code == 0
    votes = {"+16175550001": "1 2", "+16175550002": "1 2", "+16175550003": "2 3"}
    for number, choice in votes.items():
        t = TextDriver(make_phone(number))
        for body in ("VOTE", "30", "02118", choice, "YES"):
            t.send(body)
        assert t.said("ballot.cast")
    out = runner.invoke(cli.main, ["results", "--format", "json"])
    data = json.loads(out.stdout)
    rows = {p["number"]: p for p in data["proposals"]}
    assert data["ballots"] == 3
    assert (rows[2]["votes"], rows[1]["votes"], rows[3]["votes"]) == (3, 2, 1)
    # 2 (300) is funded, 1 (300) no longer fits under 500, 3 (100) still does.
    assert [rows[n]["funded"] for n in (2, 1, 3)] == [True, False, True]
    assert data["funded_total"] == 400 and "cheaper" in data["rule"]
    csv_rows = list(csv.DictReader(io.StringIO(runner.invoke(cli.main, ["results", "--format", "csv"]).stdout)))
    assert len(csv_rows) == 3


def test_ideas_export_lists_text_and_recorded_ideas(runner, demo, make_phone):
    TextDriver(make_phone("+16175550101")).send("IDEA More benches on Blue Hill Ave")
    call = CallDriver(make_phone("+16175550102").dial())
    call.press("1").press("2").record(duration=14).press("1").press("02121#")
    rows = json.loads(runner.invoke(cli.main, ["ideas", "export"]).stdout)
    by_channel = {r["channel"]: r for r in rows}
    assert by_channel["sms"]["text"] == "More benches on Blue Hill Ave"
    assert by_channel["voice"]["recording_url"].startswith("https://")
    assert by_channel["voice"]["recording_duration"] == 14 and by_channel["voice"]["zip_code"] == "02121"
    out = runner.invoke(cli.main, ["ideas", "export", "--format", "csv"]).stdout
    assert len(list(csv.DictReader(io.StringIO(out)))) == 2


def test_reloading_a_cycle_cannot_change_what_ballots_voted_for(runner, tmp_path, make_phone):
    f = tmp_path / "cycle.yaml"
    f.write_text(CYCLE)
    assert runner.invoke(cli.main, ["cycle", "load", str(f)]).exit_code == 0
    t = TextDriver(make_phone("+16175550001"))
    for body in ("VOTE", "30", "02118", "3", "YES"):
        t.send(body)
    f.write_text(CYCLE.replace('cost: 100, title: {en: "Library hours"}', 'cost: 400, title: {en: "Parking"}')
                 .replace('title: {en: "Benches", es: "Bancos"}', 'title: {en: "Benches", es: "Bancas"}'))
    out = runner.invoke(cli.main, ["cycle", "load", str(f)])
    assert out.exit_code != 0 and "would change under them: 3" in out.output
    assert json.loads(runner.invoke(cli.main, ["results", "--format", "json"]).stdout)["proposals"][0]["title"] \
        == "Library hours"
    # a translation may still be fixed; --force is the deliberate way through
    assert runner.invoke(cli.main, ["cycle", "load", "--force", str(f)]).exit_code == 0
