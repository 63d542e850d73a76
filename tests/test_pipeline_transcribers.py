"""Transcribers: the real google-cloud-speech client against a local Speech stand-in, offline
pocketsphinx on a recording made here, and the language each caller is transcribed in."""
from __future__ import annotations

import os
import time

import pytest

from hotline.transcribe import NeedsHuman, TranscriptionError, for_tag, make, read_wav
from hotline.transcribe.audio import write_wav
from hotline.transcribe.google import GoogleSpeech
from tests.speech_standin import SpeechStandIn, spoken_wav, tone_wav


@pytest.fixture
def speech():
    with SpeechStandIn({"es-US": "necesitamos más bancos en el parque",
                        "yue-Hant-HK": "我哋需要多啲長櫈"}) as s:
        yield s


@pytest.fixture
def google(speech) -> GoogleSpeech:
    return GoogleSpeech(speech.url, timeout=2.0)


def test_spanish_caller_is_transcribed_by_the_telephone_model_with_word_confidences(speech, google):
    audio = read_wav(tone_wav(4.0))
    result = google.transcribe(audio, for_tag("es"))
    assert result.text == "Necesitamos más bancos en el parque."          # punctuation was asked for
    assert result.language == "es-US"
    assert [w.word for w in result.words][:2] == ["necesitamos", "más"]
    assert all(0 < w.confidence <= 1 and w.end > w.start for w in result.words)
    assert result.confidence == pytest.approx(0.91)
    assert result.alternatives and result.alternatives[0]["text"] != result.text
    (seen,) = speech.recognitions()
    assert seen.path == "/v1/speech:recognize" and "enum-encoding=int" in seen.query
    config = seen.body["config"]
    assert config["model"] == "phone_call" and config["useEnhanced"] is True
    assert config["languageCode"] == "es-US" and config["sampleRateHertz"] == 8000 and config["encoding"] == 1
    assert config["enableAutomaticPunctuation"] and config["enableWordConfidence"]
    assert seen.audio_seconds == pytest.approx(4.0)
    assert "authorization" not in seen.headers       # a plain-http endpoint gets no credentials


def test_three_minute_idea_is_transcribed_whole_not_cut_at_a_minute(speech, google):
    speech.default = " ".join(f"word{i}" for i in range(30))
    audio = read_wav(tone_wav(150.0))
    result = google.transcribe(audio, for_tag("en"))
    assert result.text.split()[-1].rstrip(".") == "word29" and len(result.words) == 30
    assert result.words[-1].end == pytest.approx(150.0, abs=0.01)
    paths = [r.path for r in speech.requests]
    assert paths[0] == "/v1/speech:longrunningrecognize" and paths[-1].startswith("/v1/operations/")
    assert speech.recognitions()[0].audio_seconds == pytest.approx(150.0)


def test_the_stand_in_refuses_synchronous_audio_over_a_minute_as_google_does(speech, google):
    from google.api_core.exceptions import BadRequest

    config, audio = google.request(read_wav(tone_wav(61.0)), for_tag("en"))
    with pytest.raises(BadRequest, match="Sync input too long"):
        google.client().recognize(config=config, audio=audio, retry=None, timeout=2)


def test_mulaw_recording_is_sent_as_mulaw_at_its_own_rate(speech, google):
    import struct

    ulaw = (bytes(range(256)) * 63)[:16000]          # two seconds of G.711 µ-law at 8 kHz
    header = struct.pack("<4sI4s4sIHHIIHH4sI", b"RIFF", 36 + len(ulaw), b"WAVE", b"fmt ", 16, 7, 1, 8000,
                         8000, 1, 8, b"data", len(ulaw))
    audio = read_wav(header + ulaw)
    assert audio.encoding == "mulaw" and audio.seconds == pytest.approx(2.0)
    google.transcribe(audio, for_tag("en"))
    config = speech.recognitions()[0].body["config"]
    assert config["encoding"] == 3 and config["sampleRateHertz"] == 8000


@pytest.mark.parametrize("status, retryable", [
    pytest.param(503, True, id="unavailable: try again later"),
    pytest.param(500, True, id="internal error: try again later"),
    pytest.param(429, True, id="quota: try again later"),
    pytest.param(400, False, id="bad request: retrying cannot help"),
    pytest.param(403, False, id="permission denied: retrying cannot help"),
])
def test_speech_errors_say_whether_to_try_again(speech, google, status, retryable):
    speech.fail = [status]
    with pytest.raises(TranscriptionError) as e:
        google.transcribe(read_wav(tone_wav(1.0)), for_tag("en"))
    assert e.value.retryable is retryable and str(status) in e.value.reason


def test_slow_speech_service_times_out_and_is_retried_later(speech):
    speech.delay = 1.5
    started = time.monotonic()
    with pytest.raises(TranscriptionError) as e:
        GoogleSpeech(speech.url, timeout=0.5).transcribe(read_wav(tone_wav(1.0)), for_tag("en"))
    assert e.value.retryable and "in time" in e.value.reason
    assert time.monotonic() - started < 1.5          # our timeout, not the client's default retry


def test_silence_goes_to_a_human_rather_than_an_empty_transcript(speech, google):
    speech.empty = True
    with pytest.raises(NeedsHuman, match="heard no words"):
        google.transcribe(read_wav(tone_wav(1.0)), for_tag("en"))


@pytest.mark.parametrize("tag", ["ht", "kea", "so"])
def test_creole_and_somali_callers_go_to_a_human_without_asking_google(speech, google, tag):
    with pytest.raises(NeedsHuman):
        google.transcribe(read_wav(tone_wav(1.0)), for_tag(tag))
    assert speech.requests == []


def test_language_google_refuses_goes_to_a_human(speech, google):
    from hotline.transcribe.languages import SpeechLanguage

    with pytest.raises(NeedsHuman, match="bad language code"):
        google.transcribe(read_wav(tone_wav(1.0)), SpeechLanguage("xx", "xx-XX"))


LANGUAGES = [
    # (tag, spoken variant, expected code, description)
    ("en", None, "en-US", "English: US telephone English"),
    ("es", None, "es-US", "Spanish: US Spanish"),
    ("zh-Hant", "yue", "yue-Hant-HK", "Traditional Chinese chosen as Cantonese in the voice menu"),
    ("zh-Hant", "cmn", "cmn-Hant-TW", "Traditional Chinese spoken as Mandarin"),
    ("zh-Hant", None, "cmn-Hant-TW", "Traditional Chinese, spoken variant unknown: the tag's mapping"),
    ("zh-Hans", None, "cmn-Hans-CN", "Simplified Chinese: Mandarin"),
    ("vi", None, "vi-VN", "Vietnamese"),
    ("ru", None, "ru-RU", "Russian"),
    ("pt", None, "pt-BR", "Portuguese: Brazilian"),
    ("ar", None, "ar-EG", "Arabic: one telephone variant, others as alternatives"),
    ("fr", None, "fr-FR", "French"),
    ("ht", None, None, "Haitian Creole: no telephone model, a human transcribes"),
    ("kea", None, None, "Cape Verdean Creole: no telephone model, a human transcribes"),
    ("so", None, None, "Somali: no telephone model, a human transcribes"),
    ("tlh", None, None, "a tag the line does not know is not guessed"),
]


@pytest.mark.parametrize("tag, spoken, code, description", LANGUAGES, ids=[row[3] for row in LANGUAGES])
def test_each_language_tag_has_its_speech_code(tag, spoken, code, description):
    language = for_tag(tag, spoken)
    assert language.code == code, description
    assert language.needs_human is (code is None)
    assert len(language.alternatives) <= 3


def test_the_voice_menu_makes_traditional_chinese_callers_cantonese():
    from hotline.jobs import _spoken

    assert for_tag("zh-Hant", _spoken("zh-Hant")).code == "yue-Hant-HK"
    assert for_tag("zh-Hans", _spoken("zh-Hans")).code == "cmn-Hans-CN"


def test_transcriber_none_keeps_every_recording_for_a_human():
    with pytest.raises(NeedsHuman, match="TRANSCRIBER=none"):
        make("none").transcribe(read_wav(tone_wav(1.0)), for_tag("en"))


def test_default_transcriber_is_the_offline_engine_when_installed():
    assert make("").name == "pocketsphinx"


# ---- offline English ----

@pytest.fixture(scope="module")
def pocketsphinx_engine():
    engine = make("pocketsphinx")
    engine.warm()
    return engine


def _spoken_or_skip(text: str, path: str, **kw) -> bytes:
    try:
        return open(spoken_wav(text, path, **kw), "rb").read()
    except FileNotFoundError as e:
        if os.environ.get("CI"):
            raise
        pytest.skip(str(e))


def test_offline_engine_hears_an_8khz_phone_recording(pocketsphinx_engine, tmp_path):
    audio = read_wav(_spoken_or_skip("we need a new library in our neighborhood", str(tmp_path / "idea.wav")))
    assert audio.sample_rate == 8000 and audio.encoding == "pcm16"
    result = pocketsphinx_engine.transcribe(audio, for_tag("en"))
    words = set(result.text.split())
    assert {"need", "new", "library"} <= words, result.text
    assert result.language == "en-US" and 0 < result.confidence <= 1
    assert all(w.word in words and 0 <= w.confidence <= 1 for w in result.words)


def test_offline_engine_transcribes_past_a_minute(pocketsphinx_engine, tmp_path):
    piece = read_wav(_spoken_or_skip("we need a new library", str(tmp_path / "piece.wav")))
    pause = b"\0\0" * int(8000 * (5.0 - piece.seconds))
    audio = read_wav(write_wav((piece.data + pause) * 13, 8000))
    assert audio.seconds == pytest.approx(65.0, abs=0.1)
    result = pocketsphinx_engine.transcribe(audio, for_tag("en"))
    # Every one of the 13 utterances is decoded (a synthetic voice is not always heard alike).
    late = [w for w in result.words if w.start > 60]
    assert result.text.split().count("library") >= 10, result.text
    assert any(w.word == "library" for w in late), result.text


def test_offline_engine_leaves_other_languages_to_a_human(pocketsphinx_engine):
    with pytest.raises(NeedsHuman, match="English only"):
        pocketsphinx_engine.transcribe(read_wav(tone_wav(1.0)), for_tag("es"))
