"""Every catalog in prompts/catalog against the English base: keys, placeholders, script, status,
keywords, and that each key renders with values of the kinds the flows pass."""
from __future__ import annotations

import logging
import re
import string
from datetime import datetime
from typing import Any

import pytest
import yaml

import prompts
from prompts import Code, Localized, Money, When
from sms import keywords, parse

CATALOG_DIR = prompts.HERE / "catalog"
TAGS = sorted(path.stem for path in CATALOG_DIR.glob("*.yaml"))
TRANSLATIONS = [tag for tag in TAGS if tag != prompts.BASE]
STATUSES = {"machine", "reviewed"}

#: Entries with no words of their own, only placeholders, digits and punctuation: the same text
#: is right in every language. Kept short on purpose; each must be wordless in English too.
WORDLESS = {"format.thousands", "ballot.list_item", "ballot.review_item.sms"}

#: Not templates: checked through prompts.format_value instead of prompts.render.
NOT_TEMPLATES = {"format.months", "format.thousands",
                 "keywords.idea", "keywords.vote", "keywords.help", "keywords.language"}

#: A value of the kind the flows pass for each placeholder (voice_flows/, sms/flow.py).
DUMMIES: dict[str, Any] = {
    "cost": Money(1_250_000),
    "amount": "1,250,000",
    "receipt": Code("48213907"),
    "ref": Code("552019"),
    "date": When(datetime(2025, 1, 15, 17, 0), "America/New_York"),
    "title": Localized({"en": "Street trees", "es": "Árboles en las calles",
                        "zh-Hant": "街道樹木", "zh-Hans": "街道树木"}),
    "text": "More benches on Blue Hill Avenue",
    "number": 7, "count": 15, "max": 5, "min_age": 11, "min_grade": 6, "minutes": 3,
    "zip": "02118", "problem": "16, 20", "key": 2, "name": "Español",
    "day": 15, "month": "January", "year": 2025,
}

#: English keywords in the texts, and the command sms/keywords.py runs for each.
COMMAND_WORDS = {"VOTE": "vote", "IDEA": "idea", "HELP": "help", "LANGUAGE": "language"}

#: The yes/no words each catalog asks residents to reply with (sms/parse.py must read them).
ANSWER_WORDS: dict[str, dict[str, str]] = {
    "en": {"YES": "YES", "NO": "NO"},
    "es": {"YES": "SÍ", "NO": "NO"},
    "zh-Hant": {"YES": "是", "NO": "不"},
    "zh-Hans": {"YES": "是", "NO": "不"},
    "ht": {"YES": "WI", "NO": "NON"},
    "kea": {"YES": "SIN", "NO": "NAU"},
    "pt": {"YES": "SIM", "NO": "NÃO"},
    "fr": {"YES": "OUI", "NO": "NON"},
    "vi": {"YES": "CÓ", "NO": "KHÔNG"},
    "ru": {"YES": "ДА", "NO": "НЕТ"},
    "ar": {"YES": "نعم", "NO": "لا"},
    "so": {"YES": "HAA", "NO": "MAYA"},
}
KEYWORD = re.compile(r"\b(VOTE|IDEA|HELP|LANGUAGE|YES|NO|STOP)\b")
CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")


def raw(tag: str) -> dict[str, Any]:
    """The catalog file as written, with {text, status} entries left whole."""
    return yaml.safe_load((CATALOG_DIR / f"{tag}.yaml").read_text(encoding="utf-8")) or {}


def text_of(entry: Any) -> Any:
    return entry["text"] if isinstance(entry, dict) else entry


def placeholders(text: Any) -> set[str]:
    if isinstance(text, list):
        return set().union(*(placeholders(item) for item in text))
    return {field for _, field, _, _ in string.Formatter().parse(text) if field is not None}


def words_of(text: Any) -> str:
    """The text with placeholders removed: what a translator has to write."""
    joined = " ".join(text) if isinstance(text, list) else text
    return re.sub(r"\{[^{}]*\}", "", joined)


def channels(key: str) -> tuple[str, list[str]]:
    """Split `ballot.unknown.sms` into (`ballot.unknown`, ["sms"]); a plain key serves both."""
    base, _, last = key.rpartition(".")
    return (base, [last]) if last in ("voice", "sms") else (key, ["voice", "sms"])


ENGLISH = raw(prompts.BASE)


@pytest.fixture(autouse=True)
def _fresh_catalogs() -> None:
    # prompts caches catalogs per process; another test may have loaded an older file.
    prompts.catalog.cache_clear()
    prompts.languages.cache_clear()


# ---- keys and placeholders ----

@pytest.mark.parametrize("tag", TRANSLATIONS)
def test_catalog_has_every_english_key_and_no_other(tag: str) -> None:
    keys = set(raw(tag))
    missing, unknown = sorted(set(ENGLISH) - keys), sorted(keys - set(ENGLISH))
    assert not missing and not unknown, f"{tag}.yaml: missing {missing}, not in en.yaml {unknown}"


@pytest.mark.parametrize("tag", TRANSLATIONS)
def test_placeholders_match_english(tag: str) -> None:
    catalog = raw(tag)
    wrong = {key: {"en": sorted(placeholders(text_of(ENGLISH[key]))), tag: sorted(placeholders(text_of(entry)))}
             for key, entry in catalog.items()
             if key in ENGLISH and placeholders(text_of(entry)) != placeholders(text_of(ENGLISH[key]))}
    assert not wrong, f"{tag}.yaml placeholders differ from English: {wrong}"


def test_every_english_placeholder_has_a_dummy_value() -> None:
    used = set().union(*(placeholders(text_of(entry)) for entry in ENGLISH.values()))
    assert used <= set(DUMMIES), f"add a value of the right kind to DUMMIES for {sorted(used - set(DUMMIES))}"


# ---- status and script ----

@pytest.mark.parametrize("tag", TAGS)
def test_every_status_is_machine_or_reviewed(tag: str) -> None:
    # English is the source text and may be plain strings; a translation tracks its review.
    bad = [key for key, entry in raw(tag).items()
           if (isinstance(entry, dict) or tag != prompts.BASE)
           and not (isinstance(entry, dict) and set(entry) == {"text", "status"} and entry["status"] in STATUSES)]
    assert not bad, f"{tag}.yaml entries need {{text: ..., status: machine|reviewed}}: {bad}"


@pytest.mark.parametrize("tag", [tag for tag in TAGS if tag.startswith("zh")])
def test_chinese_entries_are_written_in_chinese(tag: str) -> None:
    latin_only = [key for key, entry in raw(tag).items()
                  if key not in WORDLESS and not CJK.search(words_of(text_of(entry)))]
    assert not latin_only, f"{tag}.yaml entries with no Chinese characters: {latin_only}"


@pytest.mark.parametrize("tag", TRANSLATIONS)
def test_translations_are_not_copies_of_english(tag: str) -> None:
    copied = [key for key, entry in raw(tag).items()
              if key not in WORDLESS and key in ENGLISH and text_of(entry) == text_of(ENGLISH[key])]
    assert not copied, f"{tag}.yaml entries still in English: {copied}"


@pytest.mark.parametrize("key", sorted(WORDLESS))
def test_wordless_entries_really_have_no_words(key: str) -> None:
    assert key in ENGLISH, f"{key} is not in en.yaml: drop it from WORDLESS"
    assert not re.search(r"[^\W\d_]", words_of(text_of(ENGLISH[key]))), f"{key} has words to translate"


# ---- keywords residents text ----

def expected_keywords(tag: str, english: str) -> tuple[str, ...]:
    """The words a `tag` text may use where English says `english` (any one will do)."""
    if english == "STOP":   # Twilio's own opt-out word, in every language
        return ("STOP",)
    if english in COMMAND_WORDS:
        words = keywords.COMMANDS[COMMAND_WORDS[english]].get(tag)
        return tuple(word.upper() for word in words) if words else (english,)
    assert tag in ANSWER_WORDS, f"add the yes/no words {tag} texts use to ANSWER_WORDS"
    return (ANSWER_WORDS[tag][english],)


@pytest.mark.parametrize("tag", TAGS)
def test_texts_name_keywords_the_line_recognises(tag: str) -> None:
    catalog = raw(tag)
    wrong = {f"{key}: {english}": expected_keywords(tag, english)
             for key, entry in ENGLISH.items() if key in catalog and isinstance(text_of(entry), str)
             for english in sorted(set(KEYWORD.findall(text_of(entry))))
             if not any(word in text_of(catalog[key]) for word in expected_keywords(tag, english))}
    assert not wrong, f"{tag}.yaml should tell residents to send one of: {wrong}"


RECOGNISED = [
    {"description": "Spanish VOTAR votes", "word": "VOTAR", "command": "vote", "lang": "es"},
    {"description": "Spanish IDEA shares an idea", "word": "IDEA", "command": "idea", "lang": None},
    {"description": "Spanish AYUDA is help", "word": "AYUDA", "command": "help", "lang": "es"},
    {"description": "Spanish IDIOMA changes language", "word": "IDIOMA", "command": "language", "lang": "es"},
    {"description": "Chinese 投票 votes", "word": "投票", "command": "vote", "lang": None},
    {"description": "Traditional 意見 shares an idea", "word": "意見", "command": "idea", "lang": "zh-Hant"},
    {"description": "Simplified 意见 shares an idea", "word": "意见", "command": "idea", "lang": "zh-Hans"},
    {"description": "Traditional 幫助 is help", "word": "幫助", "command": "help", "lang": "zh-Hant"},
    {"description": "Simplified 帮助 is help", "word": "帮助", "command": "help", "lang": "zh-Hans"},
    {"description": "Traditional 語言 changes language", "word": "語言", "command": "language", "lang": "zh-Hant"},
    {"description": "Simplified 语言 changes language", "word": "语言", "command": "language", "lang": "zh-Hans"},
]


@pytest.mark.parametrize("row", RECOGNISED, ids=[row["description"] for row in RECOGNISED])
def test_translated_keyword_is_recognised(row: dict[str, Any]) -> None:
    command, rest, langs = keywords.command(row["word"])
    assert (command, rest) == (row["command"], "")
    if row["lang"]:      # the language it tells first (shared words go to the most asked-for)
        assert langs[0] == row["lang"]
    else:                # a word several languages share
        assert len(langs) > 1


ANSWERS = [{"description": f"{tag} {english} is read as {english.lower()}", "word": word, "expected": english.lower()}
           for tag, pair in ANSWER_WORDS.items() for english, word in pair.items()]


@pytest.mark.parametrize("row", ANSWERS, ids=[row["description"] for row in ANSWERS])
def test_yes_no_words_in_texts_are_understood(row: dict[str, Any]) -> None:
    assert parse.yes_no(row["word"])[0] == row["expected"]


def test_stop_is_twilios_opt_out_word() -> None:
    assert parse.normalize("STOP") in parse.OPT_OUT


# ---- rendering ----

@pytest.mark.parametrize("tag", TAGS)
def test_every_key_renders_in_its_own_language(tag: str, caplog: pytest.LogCaptureFixture) -> None:
    failures = {}
    with caplog.at_level(logging.WARNING, logger="prompts"):
        for key, entry in ENGLISH.items():
            if key in NOT_TEMPLATES:
                continue
            base, chans = channels(key)
            values = {name: DUMMIES[name] for name in placeholders(text_of(entry))}
            for channel in chans:
                try:
                    out = prompts.render(base, tag, channel, values)
                except Exception as e:  # noqa: BLE001 — collect every failure, not just the first
                    failures[f"{key} ({channel})"] = repr(e)
                    continue
                if not out or "{" in out or "}" in out:
                    failures[f"{key} ({channel})"] = out
    assert not failures, f"{tag}: {failures}"
    fallbacks = [r.getMessage() for r in caplog.records if "using English" in r.getMessage()]
    assert not fallbacks, f"{tag} fell back to English: {fallbacks}"


@pytest.mark.parametrize("tag", TAGS)
def test_months_are_twelve_distinct_names(tag: str) -> None:
    months = prompts.catalog(tag)["format.months"]
    assert isinstance(months, list) and len(months) == 12 and len(set(months)) == 12
    assert all(isinstance(m, str) and m.strip() for m in months)


# 2025-02-01 03:00 UTC is still January 31 in Boston.
LATE = When(datetime(2025, 2, 1, 3, 0), "America/New_York")
FORMATS = [
    {"description": "English money", "lang": "en", "value": Money(150_000), "expected": "$150,000"},
    {"description": "Spanish money keeps US grouping", "lang": "es", "value": Money(150_000),
     "expected": "150,000 dólares"},
    {"description": "Traditional Chinese money", "lang": "zh-Hant", "value": Money(1_250_000),
     "expected": "1,250,000美元"},
    {"description": "Simplified Chinese money", "lang": "zh-Hans", "value": Money(1_250_000),
     "expected": "1,250,000美元"},
    {"description": "English date in Boston time", "lang": "en", "value": LATE, "expected": "January 31, 2025"},
    {"description": "Spanish date", "lang": "es", "value": LATE, "expected": "31 de enero de 2025"},
    {"description": "Traditional Chinese date", "lang": "zh-Hant", "value": LATE, "expected": "2025年1月31日"},
    {"description": "Simplified Chinese date", "lang": "zh-Hans", "value": LATE, "expected": "2025年1月31日"},
    {"description": "December in Spanish", "lang": "es", "value": When(datetime(2025, 12, 2, 15), "America/New_York"),
     "expected": "2 de diciembre de 2025"},
    {"description": "December in Chinese", "lang": "zh-Hant",
     "value": When(datetime(2025, 12, 2, 15), "America/New_York"), "expected": "2025年12月2日"},
]


@pytest.mark.parametrize("row", [r for r in FORMATS if r["lang"] in TAGS],
                         ids=[r["description"] for r in FORMATS if r["lang"] in TAGS])
@pytest.mark.parametrize("channel", ["voice", "sms"])
def test_values_are_formatted_for_the_language(row: dict[str, Any], channel: str) -> None:
    assert prompts.format_value(row["value"], row["lang"], channel) == row["expected"]


# ---- languages.yaml ----

def test_languages_yaml_lists_exactly_the_catalogs() -> None:
    assert sorted(prompts.languages()) == TAGS


@pytest.mark.parametrize("tag", sorted(prompts.languages()))
def test_a_spoken_language_has_a_voice(tag: str) -> None:
    lang = prompts.languages()[tag]
    assert lang.say_language is None or lang.voice, f"{tag} has say_language {lang.say_language} but no voice"
