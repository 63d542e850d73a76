"""Every word the line says or sends: the catalog per language, and how values are spoken.

Code holds keys (``flow.state[.variant]``), never user-facing text. ``render`` looks the key up
with the channel's variant first (``key.voice`` / ``key.sms``), in the caller's language, then
falls back to English with a warning.
"""
from __future__ import annotations

import logging
import string
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml

log = logging.getLogger(__name__)
HERE = Path(__file__).parent
AUDIO = HERE / "audio"
BASE = "en"


class MissingKey(KeyError):
    """A prompt key is in no catalog, not even English: add it to prompts/catalog/en.yaml."""


@dataclass(frozen=True)
class Language:
    tag: str
    name: str                 # the language's name in itself, as written
    spoken: str               # what a caller hears in the voice menu
    say_language: str | None  # Twilio <Say language>, None where no voice speaks it
    voice: str | None
    stand_in: str | None = None   # espeak-ng voice while recordings are missing (no Twilio voice)
    speech: str | None = None     # Twilio speech-recognition language, where callers may speak


@dataclass(frozen=True)
class Money:
    amount: int


@dataclass(frozen=True)
class Code:
    """A receipt or reference code: spelled out digit by digit on the phone."""

    value: str


@dataclass(frozen=True)
class When:
    moment: datetime          # naive UTC
    timezone: str


@dataclass(frozen=True)
class Localized:
    """Text given per language (a proposal title); English when the caller's is missing."""

    texts: dict[str, str]


@cache
def languages() -> dict[str, Language]:
    raw = yaml.safe_load((HERE / "languages.yaml").read_text(encoding="utf-8"))
    return {tag: Language(tag, v["name"], v.get("spoken", v["name"]), v.get("say_language"), v.get("voice"),
                          v.get("stand_in"), v.get("speech")) for tag, v in raw.items()}


@cache
def catalog(lang: str) -> dict[str, Any]:
    path = HERE / "catalog" / f"{lang}.yaml"
    if not path.exists():
        return {}
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    # An entry is its text, or {text, status} where translators track review.
    return {k: (v["text"] if isinstance(v, dict) and "text" in v else v) for k, v in raw.items()}


def recorded(lang: str, key: str) -> Path | None:
    """A person's recording of a prompt without values (prompts/audio/<lang>/<key>.wav), if any."""
    for name in (f"{key}.voice.wav", f"{key}.wav"):
        path = AUDIO / lang / name
        if path.is_file():
            return path
    return None


def has(key: str) -> bool:
    """Tell whether the English catalog has `key` (or a channel variant of it)."""
    base = catalog(BASE)
    return key in base or f"{key}.voice" in base or f"{key}.sms" in base


def lookup(key: str, lang: str, channel: str) -> Any:
    """Return the raw catalog entry for `key`, preferring the channel variant and the language.

    :raises MissingKey: when not even English has it.
    """
    for tag in (lang, BASE):
        entries = catalog(tag)
        for k in (f"{key}.{channel}", key):
            if k in entries:
                if tag != lang:
                    log.warning("prompt %s has no %s text; using English", k, lang)
                return entries[k]
    raise MissingKey(key)


def _group(n: int, sep: str) -> str:
    return f"{n:,}".replace(",", sep)


def format_value(value: Any, lang: str, channel: str) -> str:
    """Turn a prompt variable into words the caller's language and channel expect."""
    if isinstance(value, Money):
        return lookup("format.money", lang, channel).format(
            amount=_group(value.amount, lookup("format.thousands", lang, channel)))
    if isinstance(value, Code):
        if channel == "voice":   # read digit by digit, with a breath between the halves
            half = len(value.value) // 2
            return " ".join(value.value[:half]) + ", " + " ".join(value.value[half:])
        return value.value
    if isinstance(value, When):
        local = value.moment.replace(tzinfo=ZoneInfo("UTC")).astimezone(ZoneInfo(value.timezone))
        months = lookup("format.months", lang, channel)
        return lookup("format.date", lang, channel).format(
            day=local.day, month=months[local.month - 1], year=local.year)
    if isinstance(value, Localized):
        return value.texts.get(lang) or value.texts.get(BASE) or next(iter(value.texts.values()), "")
    return str(value)


class _Strict(string.Formatter):
    def get_value(self, key, args, kwargs):  # a missing variable is a bug, not silence
        return kwargs[key]


def render(key: str, lang: str, channel: str, vars: dict[str, Any] | None = None) -> str:
    """Render `key` in `lang` for `channel` ("voice" or "sms") with its variables."""
    template = lookup(key, lang, channel)
    values = {k: format_value(v, lang, channel) for k, v in (vars or {}).items()}
    return _Strict().format(template, **values).strip()
