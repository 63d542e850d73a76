"""No machine transcription: the audio is kept and every recording goes to a human."""
from __future__ import annotations

from hotline.transcribe.audio import Audio
from hotline.transcribe.base import NeedsHuman, Transcription
from hotline.transcribe.languages import SpeechLanguage


class NoTranscriber:
    name = "none"

    def transcribe(self, audio: Audio, language: SpeechLanguage) -> Transcription:
        raise NeedsHuman("TRANSCRIBER=none: recordings are transcribed by staff")
