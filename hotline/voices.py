"""How each language is heard on the phone: a Twilio voice, a person's recording, or a stand-in.

Languages with a Twilio voice are spoken by `<Say>`. For the others (Haitian Creole, Cape Verdean
Creole, Somali) the line plays recordings from prompts/audio/<tag>/<key>.wav; where a recording
is still missing, and for prompts that carry values (a receipt, a proposal), it plays the
language's own text synthesized by espeak-ng with the language's stand-in voice. The caller
never hears English read by another language's voice, and never silence.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import shutil
import subprocess
from pathlib import Path

import prompts

class SynthesisError(RuntimeError):
    """espeak-ng is missing or failed: install Debian's `espeak-ng` package."""


def _mac(secret: str, lang: str, text: str) -> str:
    return hmac.new(secret.encode(), f"speak:{lang}:{text}".encode(), hashlib.sha256).hexdigest()[:32]


def token(secret: str, lang: str, text: str) -> str:
    """A URL-safe token that carries the text and proves the line wrote it (no open synthesizer)."""
    body = base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")
    return f"{body}.{_mac(secret, lang, text)}"


def text_of(secret: str, lang: str, tok: str) -> str | None:
    """The text inside a token, or None if the token was not made by this line."""
    body, _, mac = tok.partition(".")
    try:
        text = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)).decode()
    except (ValueError, UnicodeDecodeError):
        return None
    return text if hmac.compare_digest(mac, _mac(secret, lang, text)) else None


def synthesize(lang: str, text: str, cache: Path) -> Path:
    """The stand-in recording of `text` (a WAV file), made once and kept in `cache`.

    :raises SynthesisError: when espeak-ng is not installed or fails.
    """
    voice = prompts.languages()[lang].stand_in
    digest = hashlib.sha256(f"{voice}:{text}".encode()).hexdigest()
    path = cache / lang / f"{digest}.wav"
    if path.exists():
        return path
    exe = shutil.which("espeak-ng")
    if exe is None or voice is None:
        raise SynthesisError("espeak-ng is not installed: `apt-get install espeak-ng`")
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".part")
    # Slightly slower than espeak's default: telephone audio and a synthetic voice both cost clarity.
    done = subprocess.run([exe, "-v", voice, "-s", "150", "-w", str(partial), text],
                          capture_output=True, timeout=30)
    if done.returncode != 0 or not partial.exists():
        raise SynthesisError(f"espeak-ng failed: {done.stderr.decode(errors='replace')[:200]}")
    partial.replace(path)   # atomic: a concurrent request never serves half a file
    return path


def plan(lang: str) -> str:
    """How `lang` is heard: "say" (a Twilio voice) or "audio" (recordings, stand-in meanwhile)."""
    language = prompts.languages().get(lang)
    return "say" if language is None or language.say_language else "audio"
