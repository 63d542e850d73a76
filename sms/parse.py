"""Reading residents' text messages: keywords, opt-out words, ballot numbers, yes/no, ZIP.

Every parser is pure and never raises on what a resident sends; the value parsers return
``(outcome, value)`` as the flow tables expect (see ``docs/style.md``).
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# --- Word tables: add languages here, as data. Entries are run through normalize(), so
# write them naturally ("sí", "không", "ＯＫ" all work).

#: Yes/no answers, keyed by outcome. A word must not appear under both outcomes.
YES_NO_WORDS: dict[str, tuple[str, ...]] = {
    "yes": (
        "yes", "y", "yeah", "yea", "yep", "yup", "ok", "okay", "sure", "1",  # English
        "sí", "si", "s",  # Spanish
        "是", "是的", "對", "对", "好", "好的", "係",  # Chinese, Cantonese
        "oui",  # French
        "sim",  # Portuguese
        "wi",  # Haitian Creole
        "sin",  # Cape Verdean Creole
        "да",  # Russian
        "có", "vâng", "dạ",  # Vietnamese
        "نعم",  # Arabic
        "haa",  # Somali
    ),
    "no": (
        "no", "n", "nope", "nah", "2",  # English, Spanish
        "不", "不是", "否", "不要", "没有", "沒有", "唔係", "唔要",  # Chinese, Cantonese
        "non",  # French, Haitian Creole
        "não", "nao",  # Portuguese
        "nau",  # Cape Verdean Creole
        "нет",  # Russian
        "không",  # Vietnamese
        "لا",  # Arabic
        "maya",  # Somali
    ),
}

#: Words that may join ballot choices: "3, 7 and 12", "3 y 7", "3 和 7".
NUMBER_SEPARATORS: tuple[str, ...] = (
    "and", "&", "+",  # English
    "y", "e", "et", "ak", "iyo",  # Spanish/Portuguese, French, Haitian, Somali
    "и", "và", "و",  # Russian, Vietnamese, Arabic
    "和", "与", "與", "及", "同", "、",  # Chinese, Cantonese
)

#: Twilio's own opt-out, opt-in and help keywords (docs/twilio-protocol.md, Messaging).
#: YES is an opt-in word on some Twilio setups; it is left out on purpose: a ballot needs it.
OPT_OUT = frozenset({"stop", "stopall", "unsubscribe", "cancel", "end", "quit", "revoke", "optout"})
OPT_IN = frozenset({"start", "unstop"})
HELP_WORDS = frozenset({"help", "info"})

#: Politeness that may surround a keyword without changing it ("STOP please", "Stop. Thank you").
FILLER: tuple[str, ...] = (
    "please", "pls", "plz", "now",
    "thanks", "thank you", "thank u", "thankyou", "thx", "ty", "bye",
    "gracias", "por favor",
)

# --- Characters

# Stripped from both ends by normalize(): ASCII and CJK/full-width sentence punctuation
# (NFKC already turns ！？，；： into ASCII; 。 and 、 have no compatibility mapping).
_EDGE_PUNCTUATION = ".!?,;:。！？，；：、…¡¿"
_KEYWORD_SEPARATORS = ":：﹕"
_DASHES = "-‐‑‒–—−"
_NUMERO = re.compile(r"(?<!\w)n\s?[º°]\.?", re.IGNORECASE)  # "Nº 3", before NFKC (º → o)
_NO_DOT = re.compile(r"(?<!\w)no\.")  # "No. 3" (only with the dot: "no 3" may mean "not 3")
_DIGITS = re.compile(r"\d+")  # str patterns match every Unicode decimal digit (Nd)
_ALIASES = (
    (re.compile(r"(?<!\w)opt[\s\-]*out(?!\w)"), "optout"),
    (re.compile(r"(?<!\w)stop[\s\-]*all(?!\w)"), "stopall"),
)


@lru_cache(maxsize=4096)
def _is_latin(ch: str) -> bool:
    return unicodedata.name(ch, "").startswith("LATIN ")


def _strip_latin_accents(text: str) -> str:
    """Drop nonspacing marks that sit on a Latin letter (é → e, không → khong).

    Marks on other scripts (Arabic vowel signs, Devanagari, Cyrillic й) are kept, and
    Hangul, decomposed by NFD, is recomposed by the final NFC.
    """
    out: list[str] = []
    base_is_latin = False
    for ch in unicodedata.normalize("NFD", text):
        if unicodedata.category(ch) == "Mn":
            if not base_is_latin:
                out.append(ch)
            continue
        base_is_latin = _is_latin(ch)
        out.append(ch)
    return unicodedata.normalize("NFC", "".join(out))


def normalize(text: str) -> str:
    """Fold ``text`` for comparing with keywords.

    NFKC (full-width ＶＯＴＥ → vote, ３ → 3), casefold, drop invisible format characters
    (zero-width space, bidi marks; not joiners) and accents on Latin letters, collapse
    whitespace, strip whitespace and sentence punctuation (``. ! ? , ; :`` and
    ``。、…¡¿``) from both ends. Other scripts are left intact.
    """
    if not text:
        return ""
    folded = unicodedata.normalize("NFKC", text).casefold()
    # Invisible format characters (zero-width space, BOM, LRM/RLM, bidi controls) that
    # phones and copy-paste slip in; joiners stay, Persian and emoji need them.
    folded = "".join(
        ch for ch in folded if ch in "\u200c\u200d" or unicodedata.category(ch) != "Cf"
    )
    folded = _strip_latin_accents(folded)
    return " ".join(folded.split()).strip(_EDGE_PUNCTUATION + " ")


def first_word(text: str) -> tuple[str, str]:
    """Split off the keyword: its normalized form and the rest of the text as written.

    A colon right after the keyword also separates ("ＩＤＥＡ：more trees"). The rest is
    only stripped, never normalized, so an idea is stored as the resident wrote it.

    >>> first_word("IDEA  Fix the swings at Ramsay Park")
    ('idea', 'Fix the swings at Ramsay Park')
    """
    stripped = (text or "").strip()
    end = len(stripped)
    for i, ch in enumerate(stripped):
        if ch.isspace() or ch in _KEYWORD_SEPARATORS:
            end = i
            break
    rest = stripped[end:].strip()
    if rest[:1] in tuple(_KEYWORD_SEPARATORS):  # "IDEA : more trees"
        rest = rest[1:].strip()
    return normalize(stripped[:end]), rest


def _drop_filler(words: list[str]) -> list[str]:
    """Remove filler words and phrases, and tokens that are only emoji or symbols."""
    phrases = sorted((f.split() for f in FILLER), key=len, reverse=True)
    kept: list[str] = []
    i = 0
    while i < len(words):
        for phrase in phrases:
            if words[i : i + len(phrase)] == phrase:
                i += len(phrase)
                break
        else:
            if not _is_symbols(words[i]):
                kept.append(words[i])
            i += 1
    return kept


def _is_symbols(word: str) -> bool:
    # Emoji and their joiners/selectors/modifiers: "STOP 🛑", "stop 🙏🏽".
    return all(unicodedata.category(ch)[0] in "SM" or ch == "\u200d" for ch in word)


def _words(text: str) -> list[str]:
    """Normalized words of ``text``, with all punctuation treated as space."""
    folded = normalize(text)
    for pattern, replacement in _ALIASES:
        folded = pattern.sub(replacement, folded)
    spaced = "".join(" " if unicodedata.category(ch)[0] == "P" else ch for ch in folded)
    return spaced.split()


def _is_only(text: str, keywords: frozenset[str]) -> bool:
    # Broader than Twilio's exact-keyword match on purpose: "Stop. Thank you" or
    # "STOP please" means stop, and erring toward silence is the safe side of an opt-out.
    # Any other word ("stop the buses", "bus stop at Dudley") makes it an ordinary message.
    words = _drop_filler(_words(text))
    return bool(words) and all(word in keywords for word in words)


def is_opt_out(text: str) -> bool:
    """Tell whether a message is just an opt-out word (STOP, UNSUBSCRIBE, ...).

    Only politeness may come with it ("STOP please", "Stop. Thank you", "stop!!");
    "please stop the construction noise" is an idea, not an opt-out.
    """
    return _is_only(text, OPT_OUT)


def is_opt_in(text: str) -> bool:
    """Tell whether a message is just START or UNSTOP (not YES: see :data:`OPT_IN`)."""
    return _is_only(text, OPT_IN)


def is_help(text: str) -> bool:
    """Tell whether a message is just HELP or INFO."""
    return _is_only(text, HELP_WORDS)


def _only_separators(gap: str, allowed_words: frozenset[str]) -> bool:
    """True if ``gap`` holds only spaces, punctuation, + and allowed words."""
    spaced = "".join(
        " " if unicodedata.category(ch)[0] in "PZ" or ch == "+" else ch for ch in gap
    )
    return all(normalize(word) in allowed_words for word in spaced.split())


def _to_int(digits: str) -> int | None:
    try:
        return int(digits)  # int() reads any script's decimal digits (٣, ۳, ３)
    except ValueError:  # over sys.get_int_max_str_digits() digits
        return None


def numbers(text: str) -> tuple[str, list[int]]:
    """Read ballot choices: ``("ok", [3, 7, 12])`` in the order written, or ``("bad", [])``.

    Accepts any Unicode digits, any punctuation between them ("3,7,12", "#3 #7", "3.7.12",
    "3/7/12"; "3-7" is 3 and 7, not a range), "No. 3", and the joining words in
    :data:`NUMBER_SEPARATORS`. Duplicates are kept so the flow can explain them; the flow,
    not this parser, decides whether a number is on the ballot.
    """
    if not text:
        return "bad", []
    folded = unicodedata.normalize("NFKC", _NUMERO.sub(" ", text)).casefold()
    folded = _NO_DOT.sub(" ", folded)
    pieces = _DIGITS.split(folded)  # gap, digits, gap, digits, ..., gap
    found = _DIGITS.findall(folded)
    if not found:
        return "bad", []
    if not all(_only_separators(gap, _SEPARATOR_WORDS) for gap in pieces):
        return "bad", []
    values = [_to_int(digits) for digits in found]
    if any(value is None for value in values):
        return "bad", []
    return "ok", [value for value in values if value is not None]


def integer(text: str) -> tuple[str, int | None]:
    """Read one whole number (age, grade): ``("ok", 34)`` or ``("bad", None)``.

    Digits in any script with only spaces and punctuation around them; words ("34 years"),
    two numbers ("3 4", "1,000", "12.5") and a minus sign are ``bad``.
    """
    folded = unicodedata.normalize("NFKC", text or "")
    found = list(_DIGITS.finditer(folded))
    if len(found) != 1:
        return "bad", None
    before, after = folded[: found[0].start()], folded[found[0].end() :]
    if before.strip()[-1:] in tuple(_DASHES):
        return "bad", None
    if not (_only_separators(before, frozenset()) and _only_separators(after, frozenset())):
        return "bad", None
    value = _to_int(found[0].group())
    return ("ok", value) if value is not None else ("bad", None)


_ZIP_PREFIX = re.compile(r"^(?:zip\s*code|zipcode|zip)\s*[:#.]?\s*")
_ZIP = re.compile(rf"(\d{{5}})(?:[{_DASHES}]?\d{{4}})?")


def zip_code(text: str) -> tuple[str, str | None]:
    """Read a US ZIP code: ``("ok", "02118")`` or ``("bad", None)``.

    Accepts ZIP+4 ("02118-1234", only the first five digits are kept), any digit script,
    spaces between digits, and a leading "zip"/"zip code".
    """
    folded = unicodedata.normalize("NFKC", text or "").casefold().strip()
    folded = _ZIP_PREFIX.sub("", folded).strip(_EDGE_PUNCTUATION + " ")
    folded = re.sub(r"(?<=\d)\s+(?=\d)", "", folded)
    match = _ZIP.fullmatch(folded)
    if not match:
        return "bad", None
    return "ok", "".join(str(unicodedata.decimal(ch)) for ch in match.group(1))


def _build_yes_no(table: dict[str, tuple[str, ...]]) -> dict[str, str]:
    """Map each normalized word to its outcome; checked once, at import."""
    lookup: dict[str, str] = {}
    for outcome, words in table.items():
        for word in words:
            key = normalize(word)
            if lookup.setdefault(key, outcome) != outcome:
                raise ValueError(f"{word!r} is listed under two outcomes in YES_NO_WORDS")
    return lookup


_YES_NO = _build_yes_no(YES_NO_WORDS)
_SEPARATOR_WORDS = frozenset(normalize(word) for word in NUMBER_SEPARATORS)


def _ascii_digit(word: str) -> str:
    # "١" or "۱" → "1" (NFKC leaves Arabic-Indic digits alone).
    return str(unicodedata.decimal(word)) if len(word) == 1 and word.isdecimal() else word


def yes_no(text: str) -> tuple[str, None]:
    """Read a yes/no answer: outcome ``"yes"``, ``"no"`` or ``"bad"`` (value always None).

    Words come from :data:`YES_NO_WORDS`; politeness is ignored ("yes please", "No,
    thanks"); a repeated answer counts once ("yes yes"), a mixed one is ``bad``.
    """
    outcomes = {_YES_NO.get(_ascii_digit(word), "bad") for word in _drop_filler(_words(text))}
    if len(outcomes) == 1:
        return outcomes.pop(), None
    return "bad", None
