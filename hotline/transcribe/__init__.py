"""Transcribers behind one small interface (`Transcriber`), chosen by TRANSCRIBER.

`google` (Google Cloud Speech), `pocketsphinx` (offline English) or `none` (staff transcribe);
the default is `pocketsphinx` when the package is installed, else `none` (docs/interface.md).
"""
from __future__ import annotations

from hotline.transcribe.audio import Audio, AudioError, read_wav
from hotline.transcribe.base import NeedsHuman, Transcriber, Transcription, TranscriptionError, Word
from hotline.transcribe.languages import SpeechLanguage, for_tag

NAMES = ("google", "pocketsphinx", "none")


class UnknownTranscriber(ValueError):
    """TRANSCRIBER names no engine; the message lists the ones there are."""


def default_name() -> str:
    from hotline.transcribe.pocketsphinx import is_installed
    return "pocketsphinx" if is_installed() else "none"


def make(name: str, *, google_endpoint: str | None = None, google_timeout: float = 120.0) -> Transcriber:
    """Build the transcriber called `name` ("" for the default).

    :raises UnknownTranscriber: for a name that is not one of `NAMES`.
    """
    name = (name or default_name()).strip().lower()
    if name == "google":
        from hotline.transcribe.google import GoogleSpeech
        return GoogleSpeech(google_endpoint, google_timeout)
    if name == "pocketsphinx":
        from hotline.transcribe.pocketsphinx import PocketSphinx
        return PocketSphinx()
    if name == "none":
        from hotline.transcribe.none import NoTranscriber
        return NoTranscriber()
    raise UnknownTranscriber(f"TRANSCRIBER={name!r} is not one of {', '.join(NAMES)}")


__all__ = ["Audio", "AudioError", "NeedsHuman", "SpeechLanguage", "Transcriber", "Transcription",
           "TranscriptionError", "UnknownTranscriber", "Word", "default_name", "for_tag", "make", "read_wav"]
