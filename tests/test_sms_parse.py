"""Table-driven tests for sms.parse: each row names what a resident sends and what we read."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sms import parse


def by_description(rows: list[dict[str, Any]]) -> Any:
    return pytest.mark.parametrize("row", rows, ids=[row["description"] for row in rows])


NORMALIZE = [
    {"description": "full-width letters fold to ASCII", "text": "ＶＯＴＥ", "expected": "vote"},
    {"description": "full-width digit folds", "text": "３", "expected": "3"},
    {"description": "accent on a Latin letter is dropped", "text": "Idée", "expected": "idee"},
    {"description": "Spanish sí", "text": "¡Sí!", "expected": "si"},
    {"description": "Vietnamese marks dropped", "text": "Không", "expected": "khong"},
    {"description": "German sharp s casefolds", "text": "STRAẞE", "expected": "strasse"},
    {"description": "whitespace collapses", "text": "  more \t  trees \n now ", "expected": "more trees now"},
    {"description": "trailing ASCII punctuation", "text": "stop!!", "expected": "stop"},
    {"description": "leading and trailing mixed punctuation", "text": "...yes?!;,:", "expected": "yes"},
    {"description": "CJK full stop and full-width marks", "text": "是的。", "expected": "是的"},
    {"description": "full-width exclamation and comma", "text": "好！，", "expected": "好"},
    {"description": "inner punctuation kept", "text": "yes, please", "expected": "yes, please"},
    {"description": "Chinese kept intact", "text": "更多的树", "expected": "更多的树"},
    {"description": "Hangul kept intact (not left as jamo)", "text": "네", "expected": "네"},
    {"description": "Arabic kept intact", "text": "نعم", "expected": "نعم"},
    {"description": "Arabic vowel marks kept (not Latin)", "text": "نَعَم", "expected": "نَعَم"},
    {"description": "Cyrillic short i kept", "text": "Йод", "expected": "йод"},
    {"description": "Russian casefolds", "text": "ДА", "expected": "да"},
    {"description": "zero-width space and RLM dropped", "text": "\u200fyes\u200b", "expected": "yes"},
    {"description": "zero-width non-joiner kept (Persian)", "text": "می\u200cخواهم", "expected": "می\u200cخواهم"},
    {"description": "empty", "text": "", "expected": ""},
    {"description": "only punctuation", "text": " ?! ", "expected": ""},
]


@by_description(NORMALIZE)
def test_normalize(row: dict[str, Any]) -> None:
    assert parse.normalize(row["text"]) == row["expected"]


FIRST_WORD = [
    {"description": "keyword then idea, extra spaces", "text": "IDEA  Fix the swings at Ramsay Park",
     "expected": ("idea", "Fix the swings at Ramsay Park")},
    {"description": "full-width keyword and colon", "text": "ＩＤＥＡ：more trees",
     "expected": ("idea", "more trees")},
    {"description": "ASCII colon right after keyword", "text": "Idea:More benches",
     "expected": ("idea", "More benches")},
    {"description": "colon after a space", "text": "idea : More benches",
     "expected": ("idea", "More benches")},
    {"description": "keyword with trailing period", "text": "Idea. Paint the library",
     "expected": ("idea", "Paint the library")},
    {"description": "rest keeps its case, accents and inner spacing", "text": "  vote   Más   árboles ",
     "expected": ("vote", "Más   árboles")},
    {"description": "rest keeps newlines inside", "text": "IDEA\nline one\nline two",
     "expected": ("idea", "line one\nline two")},
    {"description": "keyword only", "text": "HELP", "expected": ("help", "")},
    {"description": "ideographic space separates", "text": "想法\u3000更多的树", "expected": ("想法", "更多的树")},
    {"description": "full-width colon after Chinese keyword", "text": "想法：更多的树", "expected": ("想法", "更多的树")},
    {"description": "empty", "text": "", "expected": ("", "")},
    {"description": "blank", "text": "   ", "expected": ("", "")},
]


@by_description(FIRST_WORD)
def test_first_word(row: dict[str, Any]) -> None:
    assert parse.first_word(row["text"]) == row["expected"]


OPT_OUT = [
    {"description": "bare STOP", "text": "STOP", "expected": True},
    {"description": "spaces and period", "text": " stop. ", "expected": True},
    {"description": "stop then thank you", "text": "Stop. Thank you", "expected": True},
    {"description": "stop please", "text": "STOP please", "expected": True},
    {"description": "stop with exclamations", "text": "stop!!", "expected": True},
    {"description": "full-width STOP", "text": "ＳＴＯＰ", "expected": True},
    {"description": "STOP with a zero-width space", "text": "STOP\u200b", "expected": True},
    {"description": "thanks before stop", "text": "Thank you. Stop", "expected": True},
    {"description": "please stop, nothing else", "text": "please stop", "expected": True},
    {"description": "stop now thanks", "text": "stop now, thanks", "expected": True},
    {"description": "on its own line with a bye", "text": "STOP\nbye", "expected": True},
    {"description": "with an emoji", "text": "STOP 🛑", "expected": True},
    {"description": "unsubscribe", "text": "Unsubscribe", "expected": True},
    {"description": "stopall", "text": "STOPALL", "expected": True},
    {"description": "cancel", "text": "cancel", "expected": True},
    {"description": "end", "text": "End.", "expected": True},
    {"description": "quit", "text": "QUIT", "expected": True},
    {"description": "revoke", "text": "revoke", "expected": True},
    {"description": "optout", "text": "OPTOUT", "expected": True},
    {"description": "opt out as two words", "text": "opt out", "expected": True},
    {"description": "opt-out hyphenated", "text": "Opt-Out", "expected": True},
    {"description": "an idea mentioning stop", "text": "please stop the construction noise on Centre St",
     "expected": False},
    {"description": "stop the buses", "text": "stop the buses", "expected": False},
    {"description": "bus stop is an idea", "text": "bus stop at Dudley is broken", "expected": False},
    {"description": "stop, then a real sentence", "text": "Stop. The buses are late", "expected": False},
    {"description": "don't stop", "text": "don't stop", "expected": False},
    {"description": "start is not stop", "text": "START", "expected": False},
    {"description": "empty", "text": "", "expected": False},
    {"description": "only thanks", "text": "thanks", "expected": False},
    {"description": "the word ending an idea", "text": "the 39 bus never seems to end", "expected": False},
]


@by_description(OPT_OUT)
def test_is_opt_out(row: dict[str, Any]) -> None:
    assert parse.is_opt_out(row["text"]) is row["expected"]


OPT_IN = [
    {"description": "START", "text": "START", "expected": True},
    {"description": "unstop with please", "text": "unstop please", "expected": True},
    {"description": "full-width start", "text": "ｓｔａｒｔ！", "expected": True},
    {"description": "YES is a ballot answer, not opt-in", "text": "YES", "expected": False},
    {"description": "start a sentence", "text": "start a community garden", "expected": False},
    {"description": "stop is not start", "text": "stop", "expected": False},
]


@by_description(OPT_IN)
def test_is_opt_in(row: dict[str, Any]) -> None:
    assert parse.is_opt_in(row["text"]) is row["expected"]


HELP = [
    {"description": "HELP", "text": "HELP", "expected": True},
    {"description": "info with question mark", "text": "info?", "expected": True},
    {"description": "help please", "text": "Help please!", "expected": True},
    {"description": "help as part of an idea", "text": "help the seniors at the library", "expected": False},
    {"description": "empty", "text": "", "expected": False},
]


@by_description(HELP)
def test_is_help(row: dict[str, Any]) -> None:
    assert parse.is_help(row["text"]) is row["expected"]


def test_opt_in_words_leave_yes_for_the_ballot() -> None:
    assert "yes" not in parse.OPT_IN
    assert parse.OPT_OUT == {"stop", "stopall", "unsubscribe", "cancel", "end", "quit", "revoke", "optout"}
    assert parse.HELP_WORDS == {"help", "info"}


NUMBERS = [
    {"description": "spaces", "text": "3 7 12", "expected": ("ok", [3, 7, 12])},
    {"description": "commas", "text": "3,7,12", "expected": ("ok", [3, 7, 12])},
    {"description": "commas and 'and'", "text": "3, 7 and 12", "expected": ("ok", [3, 7, 12])},
    {"description": "Spanish y", "text": "3 y 7", "expected": ("ok", [3, 7])},
    {"description": "French et", "text": "3 et 7", "expected": ("ok", [3, 7])},
    {"description": "Portuguese e", "text": "3 e 7", "expected": ("ok", [3, 7])},
    {"description": "Russian и", "text": "3 и 7", "expected": ("ok", [3, 7])},
    {"description": "Vietnamese và", "text": "3 và 7", "expected": ("ok", [3, 7])},
    {"description": "Chinese 和 without spaces", "text": "3和7", "expected": ("ok", [3, 7])},
    {"description": "Chinese enumeration comma", "text": "3、7、12", "expected": ("ok", [3, 7, 12])},
    {"description": "hash marks", "text": "#3 #7", "expected": ("ok", [3, 7])},
    {"description": "full-width digits", "text": "３ ７ １２", "expected": ("ok", [3, 7, 12])},
    {"description": "Arabic-Indic digits", "text": "٣ ٧ ١٢", "expected": ("ok", [3, 7, 12])},
    {"description": "Arabic comma", "text": "٣،٧", "expected": ("ok", [3, 7])},
    {"description": "Persian digits", "text": "۳ ۷", "expected": ("ok", [3, 7])},
    {"description": "dots", "text": "3.7.12", "expected": ("ok", [3, 7, 12])},
    {"description": "slashes", "text": "3/7/12", "expected": ("ok", [3, 7, 12])},
    {"description": "hyphen is a separator, not a range", "text": "3-7", "expected": ("ok", [3, 7])},
    {"description": "No. prefix", "text": "No. 3", "expected": ("ok", [3])},
    {"description": "numero sign prefix", "text": "Nº 3", "expected": ("ok", [3])},
    {"description": "surrounding spaces", "text": "  3  ", "expected": ("ok", [3])},
    {"description": "duplicates kept for the flow to explain", "text": "3 3 7", "expected": ("ok", [3, 3, 7])},
    {"description": "order as written", "text": "12 3 7", "expected": ("ok", [12, 3, 7])},
    {"description": "a long number is the flow's problem", "text": "1234567", "expected": ("ok", [1234567])},
    {"description": "empty", "text": "", "expected": ("bad", [])},
    {"description": "letters only", "text": "abc", "expected": ("bad", [])},
    {"description": "separators only", "text": " , and ", "expected": ("bad", [])},
    {"description": "a word among numbers", "text": "3 and the park", "expected": ("bad", [])},
    {"description": "no without the dot may mean not", "text": "no 3", "expected": ("bad", [])},
    {"description": "an emoji", "text": "3 👍", "expected": ("bad", [])},
]


@by_description(NUMBERS)
def test_numbers(row: dict[str, Any]) -> None:
    assert parse.numbers(row["text"]) == row["expected"]


INTEGER = [
    {"description": "plain", "text": "34", "expected": ("ok", 34)},
    {"description": "spaces and a period", "text": " 34. ", "expected": ("ok", 34)},
    {"description": "full-width", "text": "３４", "expected": ("ok", 34)},
    {"description": "Arabic-Indic", "text": "٣٤", "expected": ("ok", 34)},
    {"description": "leading zero", "text": "07", "expected": ("ok", 7)},
    {"description": "words", "text": "34 years", "expected": ("bad", None)},
    {"description": "two numbers", "text": "3 4", "expected": ("bad", None)},
    {"description": "thousands separator", "text": "1,000", "expected": ("bad", None)},
    {"description": "decimal", "text": "12.5", "expected": ("bad", None)},
    {"description": "negative", "text": "-5", "expected": ("bad", None)},
    {"description": "empty", "text": "", "expected": ("bad", None)},
    {"description": "letters", "text": "thirty", "expected": ("bad", None)},
]


@by_description(INTEGER)
def test_integer(row: dict[str, Any]) -> None:
    assert parse.integer(row["text"]) == row["expected"]


ZIP = [
    {"description": "five digits", "text": "02118", "expected": ("ok", "02118")},
    {"description": "ZIP+4 with spaces around", "text": " 02118-1234 ", "expected": ("ok", "02118")},
    {"description": "full-width", "text": "０２１１８", "expected": ("ok", "02118")},
    {"description": "zip prefix", "text": "zip 02118", "expected": ("ok", "02118")},
    {"description": "ZIP code: prefix", "text": "ZIP code: 02118", "expected": ("ok", "02118")},
    {"description": "trailing period", "text": "02118.", "expected": ("ok", "02118")},
    {"description": "Arabic-Indic digits", "text": "٠٢١١٨", "expected": ("ok", "02118")},
    {"description": "four digits", "text": "2118", "expected": ("bad", None)},
    {"description": "six digits", "text": "021181", "expected": ("bad", None)},
    {"description": "letters", "text": "O2118", "expected": ("bad", None)},
    {"description": "words", "text": "Roxbury", "expected": ("bad", None)},
    {"description": "empty", "text": "", "expected": ("bad", None)},
]


@by_description(ZIP)
def test_zip_code(row: dict[str, Any]) -> None:
    assert parse.zip_code(row["text"]) == row["expected"]


YES_NO = [
    *({"description": f"yes: {word}", "text": word, "expected": "yes"} for word in [
        "yes", "YES", "y", "yeah", "yep", "ok", "OK!", "sí", "Si", "s", "是", "是的", "對", "对", "好",
        "1", "１", "١", "oui", "sim", "wi", "да", "Да", "có", "نعم", "haa", "yes please", "Yes!! 👍",
    ]),
    *({"description": f"no: {word}", "text": word, "expected": "no"} for word in [
        "no", "NO.", "n", "nope", "不", "不是", "否", "2", "non", "não", "nao", "нет", "không",
        "khong", "لا", "maya", "No, thank you",
    ]),
    {"description": "bad: both", "text": "yes no", "expected": "bad"},
    {"description": "bad: empty", "text": "", "expected": "bad"},
    {"description": "bad: a sentence", "text": "maybe later", "expected": "bad"},
    {"description": "bad: other number", "text": "3", "expected": "bad"},
]


@by_description(YES_NO)
def test_yes_no(row: dict[str, Any]) -> None:
    assert parse.yes_no(row["text"]) == (row["expected"], None)


def test_yes_no_table_has_no_word_under_both_outcomes() -> None:
    yes = {parse.normalize(w) for w in parse.YES_NO_WORDS["yes"]}
    no = {parse.normalize(w) for w in parse.YES_NO_WORDS["no"]}
    assert not yes & no


def test_a_conflicting_yes_no_table_is_refused() -> None:
    with pytest.raises(ValueError, match="two outcomes"):
        parse._build_yes_no({"yes": ("Sí",), "no": ("si",)})


@given(st.text())
def test_parsers_never_raise_on_what_residents_send(text: str) -> None:
    assert isinstance(parse.normalize(text), str)
    word, rest = parse.first_word(text)
    assert isinstance(word, str) and isinstance(rest, str)
    for predicate in (parse.is_opt_out, parse.is_opt_in, parse.is_help):
        assert predicate(text) in (True, False)
    assert parse.numbers(text)[0] in ("ok", "bad")
    assert parse.integer(text)[0] in ("ok", "bad")
    assert parse.zip_code(text)[0] in ("ok", "bad")
    assert parse.yes_no(text)[0] in ("yes", "no", "bad")


@given(st.text())
def test_normalize_is_idempotent(text: str) -> None:
    once = parse.normalize(text)
    assert parse.normalize(once) == once
