"""Offline English with the PyPI `pocketsphinx` package, whose wheel ships the US-English model.

The model is trained on 16 kHz speech, so 8 kHz telephone audio is resampled up to it (its
filter bank cannot be narrowed without retraining). Long recordings are cut at pauses by the
package's voice-activity segmenter and decoded one utterance at a time, so nothing is dropped
and memory stays flat.
"""
from __future__ import annotations

import io
import re
import threading
from typing import Any

import numpy as np

from hotline.transcribe.audio import Audio, resample
from hotline.transcribe.base import NeedsHuman, Transcription, TranscriptionError, Word
from hotline.transcribe.languages import SpeechLanguage

MODEL_RATE = 16000
FRAMES_PER_SECOND = 100          # pocketsphinx's default frame rate
NBEST = 3
NOISE_FLOOR = 10.0            # RMS, in 16-bit sample units, of the noise above the recording's band
_VARIANT = re.compile(r"\(\d+\)$")   # "the(2)": the second pronunciation of "the"


def is_installed() -> bool:
    try:
        import pocketsphinx  # noqa: F401
    except ImportError:
        return False
    return True


# One decoder per process, used by one job at a time: it is not thread-safe, and loading the
# model takes seconds, so it is kept (and shared by the work horses an RQ worker forks).
_decoder: Any = None
_lock = threading.Lock()


def _load() -> Any:
    global _decoder
    if _decoder is None:
        from pocketsphinx import Decoder
        _decoder = Decoder(samprate=MODEL_RATE, loglevel="FATAL")
    return _decoder


class PocketSphinx:
    """English only; anything else needs a human (guessing would give confident nonsense)."""

    name = "pocketsphinx"

    def warm(self) -> None:
        """Load the model now (before an RQ worker forks) rather than in the first job."""
        with _lock:
            _load()

    def transcribe(self, audio: Audio, language: SpeechLanguage) -> Transcription:
        if not (language.code or "").startswith("en-"):
            raise NeedsHuman(f"pocketsphinx transcribes English only, not {language.tag}")
        from pocketsphinx import Segmenter

        pcm = _model_pcm(audio)
        words: list[Word] = []
        texts: list[str] = []
        alternatives: list[dict[str, Any]] = []
        try:
            with _lock:
                decoder = _load()
                for segment in Segmenter(sample_rate=MODEL_RATE).segment(io.BytesIO(pcm)):
                    decoder.start_utt()
                    decoder.process_raw(segment.pcm, full_utt=True)
                    decoder.end_utt()
                    hyp = decoder.hyp()
                    if hyp is None or not hyp.hypstr.strip():
                        continue
                    texts.append(hyp.hypstr.strip())
                    at = segment.start_time
                    words += [Word(_VARIANT.sub("", s.word), round(at + s.start_frame / FRAMES_PER_SECOND, 2),
                                   round(at + (s.end_frame + 1) / FRAMES_PER_SECOND, 2), round(s.prob, 4))
                              for s in decoder.seg() if _is_word(s.word)]
                    for rank, (best, _) in enumerate(zip(decoder.nbest(), range(NBEST))):
                        if best.hypstr.strip() and best.hypstr.strip() != texts[-1]:
                            alternatives.append({"segment": len(texts) - 1, "text": best.hypstr.strip(),
                                                 "confidence": None, "rank": rank})
        except RuntimeError as e:     # the decoder refuses input it cannot handle: trying again won't help
            raise TranscriptionError(f"pocketsphinx: {e}", retryable=False) from e
        if not texts:
            raise NeedsHuman("pocketsphinx heard no words")
        confidences = [w.confidence for w in words if w.confidence is not None]
        return Transcription(text=" ".join(texts), language=language.code or "en-US",
                             confidence=round(sum(confidences) / len(confidences), 4) if confidences else None,
                             words=tuple(words), alternatives=tuple(alternatives))


def _model_pcm(audio: Audio) -> bytes:
    """The recording as the model hears it: 16 kHz, 16-bit mono.

    Telephone audio resampled up has nothing above 4 kHz, where the model's filter bank still
    listens; a perfectly empty band reads as a voice unlike any it was trained on. A faint,
    fixed (seeded, so results repeat) noise floor there, about -70 dBFS, roughly doubled the
    words recognised in our 8 kHz tests.
    """
    x = audio.samples()
    if audio.sample_rate < MODEL_RATE:
        x = resample(x, audio.sample_rate, MODEL_RATE)
        noise = np.fft.rfft(np.random.default_rng(0).normal(0.0, 1.0, len(x)))
        noise[: int(len(noise) * audio.sample_rate / MODEL_RATE)] = 0
        floor = np.fft.irfft(noise, len(x))
        x = x + floor * (NOISE_FLOOR / (np.std(floor) or 1.0))
    elif audio.sample_rate > MODEL_RATE:
        x = resample(x, audio.sample_rate, MODEL_RATE)
    return np.clip(np.round(x), -32768, 32767).astype("<i2").tobytes()


def _is_word(token: str) -> bool:
    # <s>, </s>, <sil> and [NOISE]-style fillers are not words the caller said.
    return not (token.startswith("<") or token.startswith("[") or token.startswith("++"))
