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


#: A word also tells the languages it belongs to: "VOTAR" is Spanish or Portuguese, "投票" either
#: Chinese; the caller of `command` picks among them.
COMMANDS = _commands()


def _index() -> list[tuple[str, str, tuple[str, ...]]]:
    owners: dict[str, list[str]] = {}
    commands: dict[str, str] = {}
    for command, by_lang in COMMANDS.items():
        for lang, words in by_lang.items():   # languages.yaml order: the most asked-for first
            for word in words:
                w = normalize(word)
                if lang not in owners.setdefault(w, []):
                    owners[w].append(lang)
                commands[w] = command
    rows = [(w, commands[w], tuple(langs)) for w, langs in owners.items()]
    return sorted(rows, key=lambda r: -len(r[0]))   # longest first: "ideas" before "idea"


_WORDS = _index()
_SEPARATORS = " :：,，-—.!;。"   # "IDEA: …", "Idea. …", "¡Idea! …" (not "?": "Ideas? I have one" asks)


def _spaceless(word: str) -> bool:
    # Chinese writes a keyword straight before the text: "意見多種樹".
    return all(unicodedata.east_asian_width(ch) in "WF" for ch in word)


def command(text: str) -> tuple[str | None, str, tuple[str, ...]]:
    """Find a command at the start of `text`.

    :return: (command or None, the text after the keyword, the languages that use the keyword,
        most asked-for first; empty when there is no keyword)
    """
    original = unicodedata.normalize("NFKC", text).strip()
    norm = normalize(original)
    for word, cmd, langs in _WORDS:
        if norm == word:
            return cmd, "", langs
        if norm.startswith(word) and (_spaceless(word) or norm[len(word)] in _SEPARATORS):
            rest = _after(original, word).lstrip(_SEPARATORS).strip()
            return cmd, rest, langs
    return None, text.strip(), ()


def _after(original: str, word: str) -> str:
    """The original text after its leading keyword `word`.

    Not simply ``original[len(word):]``: normalize() also drops what comes before the keyword
    ("¡Idea! …", a zero-width space pasted in front), so find the shortest prefix that is the word.
    """
    for end in range(len(word), len(original) + 1):
        if normalize(original[:end]) == word:
            return original[end:]
    return original[len(word):]
