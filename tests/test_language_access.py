"""Language access beyond the menus: translators' sheets, the audit, speech, language lines."""
import csv
import io

import pytest
from click.testing import CliRunner

import prompts
from hotline import cli, create_app
from hotline.config import Config
from hotline.phone import Phone, flask_transport
from prompts import audit
from tests.conftest import AUTH_TOKEN
from tests.driver import CallDriver, TextDriver


@pytest.fixture
def catalogs(tmp_path, monkeypatch):
    """A scratch copy of the catalogs, so importing a sheet does not change the real ones."""
    import shutil
    shutil.copytree(prompts.HERE / "catalog", tmp_path / "catalog")
    monkeypatch.setattr(audit, "CATALOG", tmp_path / "catalog")
    monkeypatch.setattr(prompts, "HERE", tmp_path)
    prompts.catalog.cache_clear()
    yield tmp_path / "catalog"
    prompts.catalog.cache_clear()


def test_audit_shows_full_coverage_and_what_is_machine_drafted():
    out = CliRunner().invoke(cli.main, ["prompts", "audit"]).output
    rows = {tuple(line.split()[:2]): line.split() for line in out.splitlines()[1:] if line[:1].isalpha()
            and line.split()[1] in ("voice", "sms")}
    assert {lang for lang, _ in rows} == set(prompts.languages())
    assert all(r[3] == "100%" for r in rows.values())
    assert rows[("en", "voice")][4] == rows[("en", "voice")][2]          # English is the reviewed base
    assert rows[("so", "sms")][4] == "0"                                 # drafted, nobody reviewed yet
    assert "espeak-ng voice 'ht'" in out and "Polly.Lupe" in out


def test_translators_sheet_goes_out_and_comes_back(catalogs):
    sheet = CliRunner().invoke(cli.main, ["prompts", "export", "es"]).output
    rows = list(csv.DictReader(io.StringIO(sheet)))
    assert rows[0].keys() == {"key", "english", "es", "status"} and len(rows) == len(prompts.catalog("en"))
    row = next(r for r in rows if r["key"] == "ballot.full")
    row["es"], row["status"] = "Ya eligió {max} propuestas, el máximo.", "reviewed"
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=["key", "english", "es", "status"])
    writer.writeheader()
    writer.writerows(rows)
    path = catalogs.parent / "sheet.csv"
    path.write_text(out.getvalue(), encoding="utf-8")
    result = CliRunner().invoke(cli.main, ["prompts", "import", "es", str(path)])
    assert result.exit_code == 0 and result.output.startswith("1 entries")
    assert prompts.render("ballot.full", "es", "voice", {"max": 5}) == "Ya eligió 5 propuestas, el máximo."


def test_a_sheet_that_breaks_a_placeholder_is_refused(catalogs):
    path = catalogs.parent / "bad.csv"
    path.write_text("key,english,es,status\nballot.full,x,Ya eligió {maximo},reviewed\n", encoding="utf-8")
    result = CliRunner().invoke(cli.main, ["prompts", "import", "es", str(path)])
    assert result.exit_code != 0 and "exactly the placeholders ['max']" in result.output


def test_a_caller_may_say_their_age_and_zip_instead_of_pressing(phone, demo):
    call = CallDriver(phone.dial())
    assert call.gather["input"] == "dtmf speech" and call.gather["language"] == "en-US"
    call.press("1").press("3")
    call.speak("34")
    assert call.said("vote.ask_zip")
    call.speak("0 2 1 1 8")
    assert call.said("ballot.intro", count=15, max=5)


def test_a_spoken_yes_confirms_like_pressing_one(phone, demo):
    call = CallDriver(phone.dial())
    for keys in ("1", "3", "34#", "02118#", "2", "3#", "#"):
        call.press(keys)
    call.speak("yes")
    assert call.said("ballot.cast")


def test_a_languages_own_number_skips_the_language_menu(db, demo, tmp_path):
    config = Config.from_env({"TWILIO_AUTH_TOKEN": AUTH_TOKEN, "SECRET_KEY": "k",
                              "LANGUAGE_LINES": "+16175550111=es"})
    client = create_app(config, db).test_client()
    spanish = Phone("http://localhost", AUTH_TOKEN, flask_transport(client), line="+16175550111")
    call = CallDriver(spanish.dial(), lang="es")
    assert call.said("menu.intro") and not call.said("language.option", lang="en")
    t = TextDriver(Phone("http://localhost", AUTH_TOKEN, flask_transport(client), line="+16175550111",
                         number="+16175550177"), lang="es")
    t.send("VOTE")
    assert t.said("vote.ask_age", min_age=11, min_grade=6)
