"""Text commands (IDEA, VOTE, HELP, LANGUAGE) in every language the line serves, as data."""
from __future__ import annotations

import unicodedata

from sms.parse import normalize

#: command -> language -> words. A word found under one language only also tells the
#: resident's language ("VOTAR" is Spanish); words shared by several tell nothing.
COMMANDS: dict[str, dict[str, tuple[str, ...]]] = {
    "idea": {"en": ("idea", "ideas"), "es": ("idea", "ideas"),
             "zh-Hant": ("意見", "點子", "建議"), "zh-Hans": ("意见", "点子", "建议")},
    "vote": {"en": ("vote", "ballot"), "es": ("votar", "voto"),
             "zh-Hant": ("投票",), "zh-Hans": ("投票",)},
    "help": {"en": ("help", "info"), "es": ("ayuda",), "zh-Hant": ("幫助", "說明"), "zh-Hans": ("帮助", "说明")},
    "language": {"en": ("language", "lang"), "es": ("idioma", "lenguaje"),
                 "zh-Hant": ("語言",), "zh-Hans": ("语言",)},
}


def _index() -> list[tuple[str, str, str | None]]:
    owners: dict[str, set[str]] = {}
    commands: dict[str, str] = {}
    for command, by_lang in COMMANDS.items():
        for lang, words in by_lang.items():
            for word in words:
                w = normalize(word)
                owners.setdefault(w, set()).add(lang)
                commands[w] = command
    rows = [(w, commands[w], next(iter(langs)) if len(langs) == 1 else None) for w, langs in owners.items()]
    return sorted(rows, key=lambda r: -len(r[0]))   # longest first: "ideas" before "idea"


_WORDS = _index()
_SEPARATORS = " :：,，-—.!;。"   # "IDEA: …", "Idea. …", "¡Idea! …" (not "?": "Ideas? I have one" asks)


def _spaceless(word: str) -> bool:
    # Chinese writes a keyword straight before the text: "意見多種樹".
    return all(unicodedata.east_asian_width(ch) in "WF" for ch in word)


def command(text: str) -> tuple[str | None, str, str | None]:
    """Find a command at the start of `text`.

    :return: (command or None, the text after the keyword, the language the keyword tells or None)
    """
    original = unicodedata.normalize("NFKC", text).strip()
    norm = normalize(original)
    for word, cmd, lang in _WORDS:
        if norm == word:
            return cmd, "", lang
        if norm.startswith(word) and (_spaceless(word) or norm[len(word)] in _SEPARATORS):
            rest = _after(original, word).lstrip(_SEPARATORS).strip()
            return cmd, rest, lang
    return None, text.strip(), None


def _after(original: str, word: str) -> str:
    """The original text after its leading keyword `word`.

    Not simply ``original[len(word):]``: normalize() also drops what comes before the keyword
    ("¡Idea! …", a zero-width space pasted in front), so find the shortest prefix that is the word.
    """
    for end in range(len(word), len(original) + 1):
        if normalize(original[:end]) == word:
            return original[end:]
    return original[len(word):]
