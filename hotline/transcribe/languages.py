"""The line's language tags as speech-recognition language codes (docs/speech-and-jobs.md).

Haitian Creole, Cape Verdean Creole and Somali have no telephone model: those recordings go to a
human transcriber rather than being guessed in a neighbouring language. Chinese is written as
`zh-Hant`/`zh-Hans` but spoken as Cantonese (`yue`) or Mandarin (`cmn`), so the spoken variant,
when known, decides the code.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class SpeechLanguage:
    """How to ask an engine for one caller's language. `code` None: no machine transcription."""

    tag: str
    code: str | None
    alternatives: tuple[str, ...] = ()    # other codes the caller may be speaking (at most 3)

    @property
    def needs_human(self) -> bool:
        return self.code is None


# tag -> (code, alternatives). Alternatives are offered only where the tag is truly ambiguous;
# Google's `alternative_language_codes` is not reliable on phone-call audio, so nothing depends on it.
BY_TAG: dict[str, tuple[str | None, tuple[str, ...]]] = {
    "en": ("en-US", ()),
    "es": ("es-US", ()),
    "zh-Hant": ("cmn-Hant-TW", ("yue-Hant-HK",)),
    "zh-Hans": ("cmn-Hans-CN", ()),
    "vi": ("vi-VN", ()),
    "ru": ("ru-RU", ()),
    "pt": ("pt-BR", ()),
    "ar": ("ar-EG", ("ar-LB", "ar-MA")),
    "fr": ("fr-FR", ()),
    "ht": (None, ()),
    "kea": (None, ()),
    "so": (None, ()),
}

# (tag, spoken) -> (code, alternatives) where the spoken variant changes the code.
BY_SPOKEN: dict[tuple[str, str], tuple[str, tuple[str, ...]]] = {
    ("zh-Hant", "yue"): ("yue-Hant-HK", ("cmn-Hant-TW",)),
    ("zh-Hant", "cmn"): ("cmn-Hant-TW", ("yue-Hant-HK",)),
    ("zh-Hans", "yue"): ("yue-Hant-HK", ("cmn-Hans-CN",)),
    ("zh-Hans", "cmn"): ("cmn-Hans-CN", ()),
}


def spoken_of(say_language: str | None) -> str | None:
    """The spoken variant in a voice's language (`yue-CN` -> `yue`), for Chinese only."""
    head = (say_language or "").split("-")[0].lower()
    return head if head in ("yue", "cmn") else None


def for_tag(tag: str, spoken: str | None = None) -> SpeechLanguage:
    """The speech language for the line's tag `tag` (and spoken variant, if known).

    An unknown tag goes to a human: guessing a language produces confident nonsense.
    """
    if spoken and (tag, spoken) in BY_SPOKEN:
        code, alternatives = BY_SPOKEN[(tag, spoken)]
        return SpeechLanguage(tag, code, alternatives)
    code, alternatives = BY_TAG.get(tag, (None, ()))
    return SpeechLanguage(tag, code, alternatives)
