"""Google Cloud Speech-to-Text v1 through the real `google-cloud-speech` client.

Telephone-tuned (`phone_call`, enhanced) at the recording's own 8 kHz, punctuation and word
confidences on. Audio past the synchronous limit (about a minute) goes through
`long_running_recognize` with the audio inline, so a three-minute idea is never cut at 60 s.
The client's own retry is switched off: the job is retried by RQ with its own backoff, which
fits a job's timeout (the client's default retry on 503 can wait for minutes).
"""
from __future__ import annotations

import concurrent.futures
from typing import Any

from hotline.transcribe.audio import Audio
from hotline.transcribe.base import NeedsHuman, Transcription, TranscriptionError, Word
from hotline.transcribe.languages import SpeechLanguage

SYNC_LIMIT_SECONDS = 55.0     # the service refuses synchronous audio over 60 s; leave a margin
MODEL = "phone_call"
MAX_ALTERNATIVES = 3


class GoogleSpeech:
    """:param endpoint: `host[:port]` or a URL; unset means Google's own. A plain `http://`
        endpoint (an emulator or test stand-in) gets anonymous credentials: real ones are
        never sent unencrypted. Otherwise Application Default Credentials are used
        (`GOOGLE_APPLICATION_CREDENTIALS`).
    :param timeout: seconds for one request; a long-running operation gets this plus twice
        the audio's length.
    """

    name = "google"

    def __init__(self, endpoint: str | None = None, timeout: float = 120.0) -> None:
        self.endpoint = endpoint
        self.timeout = timeout
        self._client: Any = None

    def warm(self) -> None:
        """Build the client now (before an RQ worker forks), not in every job's work horse."""
        self.client()

    def client(self) -> Any:
        if self._client is None:
            from google.api_core.client_options import ClientOptions
            from google.auth.exceptions import DefaultCredentialsError
            from google.cloud import speech

            kwargs: dict[str, Any] = {"transport": "rest"}
            if self.endpoint:
                kwargs["client_options"] = ClientOptions(api_endpoint=self.endpoint)
                if self.endpoint.startswith("http://"):
                    from google.auth.credentials import AnonymousCredentials
                    kwargs["credentials"] = AnonymousCredentials()
            try:
                self._client = speech.SpeechClient(**kwargs)
            except DefaultCredentialsError as e:
                # Configuration, not an outage: retrying will not help until someone sets it.
                raise TranscriptionError("no Google credentials: set GOOGLE_APPLICATION_CREDENTIALS to a service "
                                         f"account key file ({e.__class__.__name__})", retryable=False) from e
        return self._client

    def request(self, audio: Audio, language: SpeechLanguage) -> tuple[Any, Any]:
        """The RecognitionConfig and RecognitionAudio for `audio` (its own encoding when the API takes it)."""
        from google.cloud import speech

        enc = speech.RecognitionConfig.AudioEncoding
        if audio.channels == 1 and audio.encoding == "pcm16":
            encoding, content = enc.LINEAR16, audio.data
        elif audio.channels == 1 and audio.encoding == "mulaw":
            encoding, content = enc.MULAW, audio.data
        else:   # A-law, 8-bit or stereo: v1 takes none of them, so send 16-bit mono
            encoding, content = enc.LINEAR16, audio.pcm16()
        config = speech.RecognitionConfig(
            encoding=encoding, sample_rate_hertz=audio.sample_rate, audio_channel_count=1,
            language_code=language.code, alternative_language_codes=list(language.alternatives[:3]),
            model=MODEL, use_enhanced=True, enable_automatic_punctuation=True,
            enable_word_confidence=True, enable_word_time_offsets=True, max_alternatives=MAX_ALTERNATIVES)
        return config, speech.RecognitionAudio(content=content)

    def transcribe(self, audio: Audio, language: SpeechLanguage) -> Transcription:
        if language.code is None:
            raise NeedsHuman(f"Google has no telephone model for {language.tag}")
        from google.api_core import exceptions as gexc
        import requests

        config, content = self.request(audio, language)
        client = self.client()
        try:
            if audio.seconds <= SYNC_LIMIT_SECONDS:
                response = client.recognize(config=config, audio=content, retry=None, timeout=self.timeout)
            else:
                operation = client.long_running_recognize(config=config, audio=content, retry=None,
                                                          timeout=self.timeout)
                response = operation.result(timeout=self.timeout + 2 * audio.seconds)
        except (gexc.ServiceUnavailable, gexc.InternalServerError, gexc.TooManyRequests, gexc.DeadlineExceeded,
                gexc.GatewayTimeout, gexc.BadGateway) as e:
            raise TranscriptionError(f"Google answered {e.code}: {e.message}", retryable=True) from e
        except gexc.BadRequest as e:
            if "language" in (e.message or "").lower():
                raise NeedsHuman(f"Google cannot transcribe {language.code}: {e.message}") from e
            raise TranscriptionError(f"Google answered 400: {e.message}", retryable=False) from e
        except gexc.GoogleAPICallError as e:
            raise TranscriptionError(f"Google answered {e.code}: {e.message}", retryable=False) from e
        except (requests.Timeout, concurrent.futures.TimeoutError, gexc.RetryError) as e:
            raise TranscriptionError(f"Google did not answer in time ({type(e).__name__})", retryable=True) from e
        except requests.ConnectionError as e:
            raise TranscriptionError(f"could not reach Google: {e}", retryable=True) from e
        return self.parse(response, language)

    @staticmethod
    def parse(response: Any, language: SpeechLanguage) -> Transcription:
        """Join the results (one per stretch of speech) into one transcript."""
        texts, confidences, words, alternatives, heard = [], [], [], [], None
        for i, result in enumerate(response.results):
            if not result.alternatives:
                continue
            top = result.alternatives[0]
            if not top.transcript.strip():
                continue
            texts.append(top.transcript.strip())
            if top.confidence:
                confidences.append(top.confidence)
            words += [Word(w.word, _seconds(w.start_time), _seconds(w.end_time),
                           round(w.confidence, 4) if w.confidence else None) for w in top.words]
            alternatives += [{"segment": i, "text": a.transcript.strip(), "confidence": round(a.confidence, 4)}
                             for a in result.alternatives[1:] if a.transcript.strip()]
            heard = heard or result.language_code
        if not texts:
            raise NeedsHuman("Google heard no words")
        return Transcription(text=" ".join(texts), language=_code_as_asked(heard, language),
                             confidence=round(sum(confidences) / len(confidences), 4) if confidences else None,
                             words=tuple(words), alternatives=tuple(alternatives))


def _seconds(value: Any) -> float | None:
    if value is None:
        return None
    return round(value.total_seconds(), 3) if hasattr(value, "total_seconds") else float(value)


def _code_as_asked(heard: str | None, language: SpeechLanguage) -> str:
    """Google reports codes in lower case (`en-us`): give back the spelling we asked with."""
    for code in (language.code, *language.alternatives):
        if code and heard and code.lower() == heard.lower():
            return code
    return heard or language.code or language.tag
