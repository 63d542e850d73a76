"""The one small interface every transcriber meets, and what goes in and out of it."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from hotline.transcribe.audio import Audio
from hotline.transcribe.languages import SpeechLanguage


class NeedsHuman(Exception):
    """The engine cannot transcribe this (its language, or nothing was heard): a person must.

    Not a failure: the recording is kept and shown to staff as needing a human transcriber.
    """


class TranscriptionError(Exception):
    """The engine failed. `retryable` says whether trying again later may help (503, 429,
    a timeout) or not (a malformed request, refused credentials)."""

    def __init__(self, reason: str, retryable: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable


@dataclass(frozen=True)
class Word:
    word: str
    start: float | None = None      # seconds from the start of the recording
    end: float | None = None
    confidence: float | None = None

    def to_json(self) -> dict[str, Any]:
        return {"word": self.word, "start": self.start, "end": self.end, "confidence": self.confidence}


@dataclass(frozen=True)
class Transcription:
    """What an engine heard. `language` is the speech code it reports hearing."""

    text: str
    language: str
    confidence: float | None = None
    words: tuple[Word, ...] = ()
    alternatives: tuple[dict[str, Any], ...] = ()     # {"text", "confidence", "segment"}
    extra: dict[str, Any] = field(default_factory=dict)


class Transcriber(Protocol):
    """Turns a recording into text. Implementations: google, pocketsphinx, none."""

    name: str

    def transcribe(self, audio: Audio, language: SpeechLanguage) -> Transcription:
        """Transcribe `audio`, spoken in `language`.

        :raises NeedsHuman: the engine does not do this language.
        :raises TranscriptionError: the engine failed (see `retryable`).
        """
        ...
