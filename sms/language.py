"""Telling a text's language from the text itself: its script, or its common small words."""
from __future__ import annotations

import re
import unicodedata

from sms.parse import normalize

#: Very common short words per Latin-script language. A free-text idea usually has several.
COMMON_WORDS: dict[str, frozenset[str]] = {
    "en": frozenset("the and to of is for in on we our my more please need with at a an our this".split()),
    "es": frozenset("el la los las de que y en para por con una un mas necesitamos queremos del".split()),
    "pt": frozenset("o os as de que e em para com uma um mais nao precisamos queremos do da no na".split()),
    "fr": frozenset("le la les des de et en pour avec une un plus nous il faut est du au".split()),
    "ht": frozenset("mwen nou pou nan yo ak li ki gen se pa bezwen vle plis lari".split()),
    "kea": frozenset("nu ku pa di e txeu mas nos mi bu sta ten kre dja".split()),
    "so": frozenset("iyo waa ka oo ee in ah u ku aan waxaan baahan yahay badan".split()),
    "vi": frozenset("toi chung cho cua va la co nhieu hon can muon duong".split()),
}
_WORD = re.compile(r"[a-z]+")
# Letters only Vietnamese writes (with or without a tone mark on top).
_VIETNAMESE = re.compile(r"[ăâđêôơưĂÂĐÊÔƠƯạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹ]")


def _script_counts(text: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for ch in text:
        name = unicodedata.name(ch, "")
        for script in ("CJK", "ARABIC", "CYRILLIC", "HANGUL"):
            if name.startswith(script):
                counts[script] = counts.get(script, 0) + 1
    return counts


def _chinese(text: str) -> str:
    """Traditional or Simplified: the one script the text can be written in; Traditional when
    both can (投票 is the same in both, and Boston's Chinatown mostly writes Traditional)."""
    han = "".join(ch for ch in text if unicodedata.name(ch, "").startswith("CJK"))
    try:
        han.encode("big5")
        return "zh-Hant"
    except UnicodeEncodeError:
        return "zh-Hans"


def detect(text: str, languages: tuple[str, ...]) -> str | None:
    """The language `text` is unmistakably written in, among `languages`; None when unsure."""
    scripts = _script_counts(text)
    found = None
    if scripts.get("CJK"):
        found = _chinese(text)
    elif scripts.get("ARABIC"):
        found = "ar"
    elif scripts.get("CYRILLIC"):
        found = "ru"
    elif _VIETNAMESE.search(text):
        found = "vi"
    else:
        words = _WORD.findall(normalize(text))
        scores = sorted(((sum(w in common for w in words), lang) for lang, common in COMMON_WORDS.items()),
                        reverse=True)
        (best, lang), (second, _) = scores[0], scores[1]
        # Two or more telling words and a clear lead: short words are shared across languages.
        if best >= 2 and best >= 2 * second:
            found = lang
    return found if found in languages else None
