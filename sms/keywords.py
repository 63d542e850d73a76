"""Text commands (IDEA, VOTE, HELP, LANGUAGE) in every language the line serves, as data."""
from __future__ import annotations

import unicodedata

import prompts
from sms.parse import normalize

COMMAND_NAMES = ("idea", "vote", "help", "language")


def _commands() -> dict[str, dict[str, tuple[str, ...]]]:
    """command -> language -> words, from each catalog's `keywords.<command>` list.

    The words live with the rest of a language's text, so translators own them too.
    """
    return {command: {tag: tuple(prompts.catalog(tag).get(f"keywords.{command}") or ())
                      for tag in prompts.languages()}
            for command in COMMAND_NAMES}


#: A word found under one language only also tells the resident's language ("VOTAR" is
#: Spanish); words shared by several ("IDEA") tell nothing.
COMMANDS = _commands()


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
