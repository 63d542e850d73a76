"""The staff dashboard in a real browser: Debian's headless Chromium driven by Playwright.

A resident calls and records an idea through the webhooks; the recording pipeline downloads it
(from a local stand-in for Twilio's media host) and transcribes it (a local stand-in for Google
Speech), in this process. Residents text ideas and vote. Then staff, in Chromium, sign in, play
and seek the recording, correct the transcript, judge and sort the idea with the keyboard, see the
results chart, export CSV; a reviewer is kept from admin pages and a form without its CSRF token
is refused.

SQLite only (a file database of this module's own): what these tests add over the test-client
tests (test_dashboard_*.py, which run on both databases) is the browser, not the backend.
Screenshots land in test-artifacts/screenshots/ (git-ignored) for a person to look at after a run.
`.ci/run` installs Debian's `chromium`; Playwright's own browser download is never used.
"""
from __future__ import annotations

import csv
import dataclasses
import io
import os
import shutil
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from hotline import create_app, queue
from hotline.config import Config
from hotline.phone import Phone, flask_transport
from store import Database, ideas, review, transcripts
from tests.conftest import AUTH_TOKEN, load_cycle, utcnow
from tests.driver import CallDriver
from tests.speech_standin import MediaStandIn, SpeechStandIn, spoken_wav
from tests.staff_driver import PASSWORD, make_staff, text_idea, vote_by_text

CHROMIUM = "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parents[1]
SHOTS = ROOT / "test-artifacts" / "screenshots"
SAID = "more benches on blue hill avenue by the library"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--autoplay-policy=no-user-gesture-required", "--mute-audio"]

playwright_api = pytest.importorskip("playwright.sync_api", reason="pip install -e '.[dev]' (playwright)")

if not os.path.exists(CHROMIUM):
    if os.environ.get("CI"):
        raise RuntimeError(f"{CHROMIUM} is missing: .ci/run installs Debian's chromium package")
    pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium; .ci/run does it)", allow_module_level=True)


# ---- the line, with a day's worth of ideas and ballots ----

@dataclasses.dataclass
class Line:
    url: str
    db: Database
    recorded: str           # the reference of the idea recorded through the webhooks
    script: str             # a texted idea that says <script>
    cycle_id: int


@pytest.fixture(scope="module")
def line(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("browser")
    db = Database(f"sqlite:///{tmp / 'hotline.db'}")
    db.upgrade()
    cycle_id = load_cycle(db, now=utcnow())
    wav = spoken_wav(SAID, str(tmp / "idea.wav"))
    base = Config.from_env({"TWILIO_AUTH_TOKEN": AUTH_TOKEN, "SECRET_KEY": "test-secret-key",
                            "RECORDINGS_DIR": str(tmp / "recordings")})
    with MediaStandIn(base.account_sid, Path(wav).read_bytes()) as media, SpeechStandIn(default=SAID) as speech:
        speech.confidence = 0.86           # short words come back less sure: the page marks them
        env = {"TRANSCRIBER": "google", "GOOGLE_SPEECH_ENDPOINT": speech.url, "GOOGLE_SPEECH_TIMEOUT": "5",
               "DOWNLOAD_TIMEOUT": "5", "DOWNLOAD_RETRY_INTERVALS": "0", "TRANSCRIBE_RETRY_INTERVALS": "0"}
        config = dataclasses.replace(base, transcriber="google", media_hosts=("127.0.0.1",), extra=env)
        app = create_app(config, db)
        client = app.test_client()

        def make_phone(number: str = "+16175550123") -> Phone:
            return Phone("http://localhost", AUTH_TOKEN, flask_transport(client), number=number,
                         account_sid=config.account_sid, recording_url=media.recording_url)

        call = CallDriver(make_phone("+16175550142").dial())
        call.press("1").press("2").record(wav_path=wav).press("1").press("02121#")
        assert queue.for_app(app).wait(timeout=30), "the recording pipeline did not finish"
        script = text_idea(make_phone, '<script>alert("hi")</script> a skate park in Hyde Park',
                           "+16175550150", "02136")
        text_idea(make_phone, "Más bancos y sombra en las paradas de autobús", "+16175550151", "02128")
        text_idea(make_phone, "free wifi in the branch library", "+16175550152", "02134")
        for k, choices in enumerate(["3 7 12", "3 7", "3 11", "1 3", "7 14"]):
            vote_by_text(make_phone, f"+1617555026{k}", choices)
    with db.unit_of_work() as s:
        [recorded] = [i for i in ideas.all_for_export(s, None) if i.channel == "voice"]
        assert recorded.recording.local_path, recorded.recording.pipeline
        ref = recorded.ref_code
        review.seed_priorities(s, cycle_id)
    make_staff(db, "admin@boston.gov", "admin")
    make_staff(db, "reviewer@boston.gov", "reviewer")
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield Line(f"http://127.0.0.1:{server.server_port}", db, ref, script, cycle_id)
    server.shutdown()
    db.dispose()


@pytest.fixture(scope="module")
def browser():
    with playwright_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module", autouse=True)
def screenshots():
    shutil.rmtree(SHOTS, ignore_errors=True)
    SHOTS.mkdir(parents=True, exist_ok=True)
    return SHOTS


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1366, "height": 900}, accept_downloads=True)
    context.set_default_timeout(15000)
    p = context.new_page()
    p.dialogs = []                                  # an alert() would mean a resident's words ran as script
    p.on("dialog", lambda d: (p.dialogs.append(d.message), d.dismiss()))
    yield p
    context.close()


def sign_in(page, line: Line, email: str) -> None:
    page.goto(f"{line.url}/staff/ideas")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{line.url}/staff/ideas")


# ---- the tests ----

def test_reviewer_signs_in_and_sees_the_inbox(page, line):
    sign_in(page, line, "reviewer@boston.gov")
    table = page.locator("#ideas-table")
    assert table.locator("tbody tr").count() == 4
    assert page.locator("#total").inner_text() == "4"
    assert page.get_by_text('<script>alert("hi")</script> a skate park', exact=False).is_visible()
    assert page.dialogs == []
    assert page.get_by_role("link", name="Ballot").count() == 0          # not an admin's menu
    page.get_by_label("Language").select_option("es")
    page.get_by_role("button", name="Apply filters").click()
    page.wait_for_url("**lang=es**")
    assert page.locator("#ideas-table tbody tr").count() == 1
    page.get_by_role("link", name="Clear").click()
    page.wait_for_url(f"{line.url}/staff/ideas")
    page.wait_for_load_state("load")
    page.keyboard.press("j")                                             # the keyboard walks the list
    assert page.locator("tr.is-current").count() == 1
    page.screenshot(path=str(SHOTS / "inbox.png"), full_page=True)


def test_reviewer_plays_seeks_corrects_and_judges_an_idea_without_the_mouse(page, line):
    sign_in(page, line, "reviewer@boston.gov")
    audio_responses = []
    page.on("response", lambda r: audio_responses.append(r.status) if r.url.endswith("/audio") else None)
    page.goto(f"{line.url}/staff/ideas/{line.recorded}")
    player = page.locator("#player")
    page.wait_for_function("() => document.getElementById('player').readyState >= 1", timeout=15000)
    duration = player.evaluate("a => a.duration")
    assert 2.0 < duration < 10.0, duration
    assert "s" in page.locator("#audio-length").inner_text()
    # Seeking: the browser asks for byte ranges and the app answers 206.
    ranged = page.evaluate("""async (url) => {
        const r = await fetch(url, {headers: {Range: 'bytes=100-299'}});
        return [r.status, (await r.arrayBuffer()).byteLength, r.headers.get('Content-Range')];
    }""", f"{line.url}/staff/ideas/{line.recorded}/audio")
    assert ranged[0] == 206 and ranged[1] == 200 and ranged[2].startswith("bytes 100-299/")
    assert 206 in audio_responses, audio_responses
    page.keyboard.press("p")                                              # play
    page.wait_for_function("() => document.getElementById('player').currentTime > 0.2", timeout=10000)
    page.keyboard.press("p")                                              # pause
    player.evaluate("a => { a.currentTime = a.duration / 2; }")
    page.wait_for_function("() => !document.getElementById('player').seeking")
    assert abs(player.evaluate("a => a.currentTime") - duration / 2) < 0.5
    # The machine transcript, with the words it was unsure of marked.
    words = page.locator("#machine-words")
    assert words.inner_text().strip().lower().rstrip(".") == SAID
    assert page.locator("#machine-words mark.low").count() >= 1
    # Correct, judge, sort: all from the keyboard.
    page.keyboard.press("e")
    assert page.evaluate("document.activeElement.id") == "transcript"
    page.keyboard.press("Control+a")
    page.keyboard.type("More benches on Blue Hill Avenue by the library.")
    page.keyboard.press("Escape")
    page.keyboard.press("s")
    page.keyboard.type("More benches on Blue Hill Avenue near the library.")
    page.keyboard.press("Escape")
    page.keyboard.press("1")                                              # eligible
    page.keyboard.press("g")
    page.get_by_label("Community priority").select_option(label="6. Benches and shade at bus stops on city sidewalks")
    page.keyboard.press("Escape")
    page.screenshot(path=str(SHOTS / "idea.png"), full_page=True)
    page.keyboard.press("Control+Enter")                                  # save
    page.wait_for_selector(".flash")
    assert page.locator(".flash").inner_text() == "Saved."
    assert page.locator("#elig-eligible").is_checked()
    with line.db.unit_of_work() as s:
        idea = ideas.by_ref(s, line.recorded)
        rows = transcripts.for_recordings(s, [idea.recording_id])[idea.recording_id]
        assert transcripts.reviewed(rows).text == "More benches on Blue Hill Avenue by the library."
        assert transcripts.machine(rows).text.lower().rstrip(".") == SAID        # kept as it was
        r = review.review_of(s, idea.id)
        assert (idea.eligibility, review.priority(s, idea.priority_id).name, r.updated_by) == (
            "eligible", "Benches and shade at bus stops on city sidewalks", "reviewer@boston.gov")
    page.screenshot(path=str(SHOTS / "idea-saved.png"), full_page=True)


def test_not_eligible_asks_for_the_rulebook_reason(page, line):
    sign_in(page, line, "reviewer@boston.gov")
    page.goto(f"{line.url}/staff/ideas/{line.script}")
    assert page.dialogs == [] and not page.locator("#reasons").is_visible()
    page.keyboard.press("2")                                              # not eligible: reasons appear
    assert page.locator("#reasons").is_visible()
    page.get_by_label("On private, state or federal property (e.g. DCR or MBTA)").check()
    page.get_by_role("button", name="Save Ctrl+Enter").click()
    page.wait_for_selector(".flash")
    assert page.locator("input[name=reasons]:checked").count() == 1
    assert page.dialogs == []


def test_admin_sees_the_results_chart_and_exports_csv(page, line):
    sign_in(page, line, "admin@boston.gov")
    page.get_by_role("link", name="Ballot").click()
    assert page.get_by_role("heading", name="Proposals").is_visible()
    assert page.locator("#turnout-total").inner_text() == "5"
    page.screenshot(path=str(SHOTS / "cycle.png"), full_page=True)
    page.get_by_role("link", name="Results").click()
    chart = page.locator("#results-chart")
    assert chart.is_visible() and chart.bounding_box()["height"] > 200
    line_box = page.locator("#funding-line line").bounding_box()      # a horizontal line: no height
    assert line_box["width"] > 500 and page.locator("#funding-line text").is_visible()
    assert page.locator("#results-chart g.funded").count() >= 1
    page.screenshot(path=str(SHOTS / "results.png"), full_page=True)
    with page.expect_download() as download:
        page.locator("#results-csv").click()
    rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text())))
    assert rows[0]["number"] == "3" and rows[0]["votes"] == "4" and rows[0]["funded"] == "yes"
    page.goto(f"{line.url}/staff/ideas")
    with page.expect_download() as download:
        page.get_by_role("link", name="Export these as CSV").click()
    ideas_rows = list(csv.DictReader(io.StringIO(Path(download.value.path()).read_text(encoding="utf-8-sig"))))
    assert len(ideas_rows) == 4 and {r["channel"] for r in ideas_rows} == {"voice", "sms"}


def test_reviewer_cannot_reach_admin_pages(page, line):
    sign_in(page, line, "reviewer@boston.gov")
    for path in ["/staff/team", "/staff/audit", f"/staff/ballot/{line.cycle_id}/results"]:
        response = page.goto(f"{line.url}{path}")
        assert response.status == 403 and page.get_by_role("heading", name="Not for your role").is_visible()


def test_a_form_without_its_csrf_token_is_refused(page, line):
    sign_in(page, line, "reviewer@boston.gov")
    page.goto(f"{line.url}/staff/ideas/{line.script}")
    page.evaluate("document.querySelector('#judge-form input[name=csrf_token]').remove()")
    page.get_by_label("Notes for staff").fill("forged note")
    with page.expect_response(lambda r: r.request.method == "POST") as posted:
        page.get_by_role("button", name="Save Ctrl+Enter").click()
    assert posted.value.status == 400
    assert page.get_by_role("heading", name="This form has expired").is_visible()
    with line.db.unit_of_work() as s:
        r = review.review_of(s, ideas.by_ref(s, line.script).id)
        assert r is None or r.notes != "forged note"


def test_the_dashboard_fits_a_tablet(browser, line):
    context = browser.new_context(viewport={"width": 820, "height": 1180}, device_scale_factor=1)
    page = context.new_page()
    sign_in(page, line, "reviewer@boston.gov")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    page.goto(f"{line.url}/staff/ideas/{line.recorded}")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    page.screenshot(path=str(SHOTS / "idea-tablet.png"), full_page=True)
    context.close()


UNLABELLED = """() => Array.from(document.querySelectorAll('input:not([type=hidden]), select, textarea, button'))
    .filter(el => {
        const name = el.tagName === 'BUTTON' ? el.textContent.trim()
            : (el.labels && el.labels.length ? el.labels[0].textContent.trim() : '');
        return !(name || el.getAttribute('aria-label') || el.getAttribute('aria-labelledby'));
    })
    .map(el => el.outerHTML.slice(0, 120))"""


def test_every_control_is_labelled_and_the_keyboard_starts_at_the_skip_link(page, line):
    sign_in(page, line, "admin@boston.gov")
    for path in ["/staff/ideas", f"/staff/ideas/{line.recorded}", f"/staff/ballot/{line.cycle_id}",
                 f"/staff/ballot/{line.cycle_id}/results", "/staff/team", "/staff/priorities", "/staff/audit"]:
        page.goto(f"{line.url}{path}")
        assert page.evaluate(UNLABELLED) == [], path
        assert page.evaluate("document.documentElement.lang") == "en"
        if path in ("/staff/team", "/staff/priorities", "/staff/audit"):
            page.screenshot(path=str(SHOTS / f"{path.rsplit('/', 1)[1]}.png"), full_page=True)
    page.goto(f"{line.url}/staff/ideas")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to main content"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
