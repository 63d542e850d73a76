"""What the catalogs still need: coverage per language and channel, review status, recordings."""
from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from typing import Any

import yaml

import prompts

CATALOG = prompts.HERE / "catalog"


def _raw(lang: str) -> dict[str, Any]:
    path = CATALOG / f"{lang}.yaml"
    return (yaml.safe_load(path.read_text(encoding="utf-8")) or {}) if path.exists() else {}


def _status(entry: Any, lang: str) -> str:
    if lang == prompts.BASE:
        return "reviewed"
    return entry.get("status", "machine") if isinstance(entry, dict) else "machine"


def _channels(key: str) -> tuple[str, ...]:
    if key.endswith(".voice"):
        return ("voice",)
    if key.endswith(".sms"):
        return ("sms",)
    return ("voice", "sms")


@dataclass(frozen=True)
class Coverage:
    lang: str
    channel: str
    keys: int          # keys the channel needs
    present: int       # keys the language has (not falling back to English)
    reviewed: int      # of those, reviewed by a person
    recorded: int | None = None     # voice, languages without a Twilio voice: prompts recorded
    recordable: int | None = None   # prompts without values, which a person can record

    @property
    def percent(self) -> float:
        return 100.0 * self.present / self.keys if self.keys else 100.0


def coverage() -> list[Coverage]:
    base = _raw(prompts.BASE)
    rows = []
    for lang, language in prompts.languages().items():
        raw = _raw(lang)
        for channel in ("voice", "sms"):
            keys = [k for k in base if channel in _channels(k) and not k.startswith(("format.", "keywords."))]
            present = [k for k in keys if k in raw]
            reviewed = [k for k in present if _status(raw[k], lang) == "reviewed"]
            recorded = recordable = None
            if channel == "voice" and not language.say_language:
                static = [k for k in keys if "{" not in str(base[k])]   # a person can record these
                recordable = len(static)
                recorded = sum(1 for k in static if prompts.recorded(lang, k.removesuffix(".voice")))
            rows.append(Coverage(lang, channel, len(keys), len(present), len(reviewed), recorded, recordable))
    return rows


def report() -> str:
    """The audit as a table a person reads."""
    lines = [f"{'language':<10}{'channel':<8}{'keys':>6}{'present':>9}{'reviewed':>10}  speaking plan"]
    for c in coverage():
        language = prompts.languages()[c.lang]
        if c.channel == "sms":
            plan = ""
        elif language.say_language:
            plan = f"Twilio voice {language.voice} ({language.say_language})"
        else:
            plan = (f"recordings {c.recorded}/{c.recordable} (prompts/audio/{c.lang}/); meanwhile "
                    f"its own text read by espeak-ng voice '{language.stand_in}'")
        lines.append(f"{c.lang:<10}{c.channel:<8}{c.keys:>6}{c.percent:>8.0f}%{c.reviewed:>10}  {plan}")
    lines.append("present: keys the language has (others fall back to English); reviewed: checked by a person.")
    return "\n".join(lines)


def export_csv(lang: str) -> str:
    """key, English, target text, status: the sheet a translator fills in."""
    base, raw = _raw(prompts.BASE), _raw(lang)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["key", "english", lang, "status"])
    for key, entry in base.items():
        target = raw.get(key)
        text = target["text"] if isinstance(target, dict) else target
        writer.writerow([key, _cell(entry), _cell(text) if text is not None else "",
                         _status(target, lang) if target is not None else "missing"])
    return out.getvalue()


def _cell(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False) if isinstance(value, list) else str(value)


class SheetError(ValueError):
    """The sheet cannot be imported; the message names the row."""


def import_csv(lang: str, sheet: str) -> int:
    """Take a translator's sheet back into the catalog; return how many entries changed.

    Placeholders must match English's exactly, so a sheet cannot break a prompt.
    """
    import string

    base, raw = _raw(prompts.BASE), _raw(lang)
    changed = 0
    for n, row in enumerate(csv.DictReader(io.StringIO(sheet)), start=2):
        key, text, status = row.get("key", ""), row.get(lang, ""), (row.get("status") or "machine").strip()
        if key not in base:
            raise SheetError(f"row {n}: {key!r} is not a key of the English catalog")
        if not text.strip():
            continue
        if status not in ("machine", "reviewed"):
            raise SheetError(f"row {n}: status must be machine or reviewed, not {status!r}")
        value: Any = json.loads(text) if isinstance(base[key], list) else text
        fields = lambda t: {f for _, f, _, _ in string.Formatter().parse(t) if f}  # noqa: E731
        if isinstance(value, str) and isinstance(base[key], str) and fields(value) != fields(base[key]):
            raise SheetError(f"row {n}: {key} must use exactly the placeholders "
                               f"{sorted(fields(base[key]))}, found {sorted(fields(value))}")
        entry = {"text": value, "status": status}
        if raw.get(key) != entry:
            raw[key] = entry
            changed += 1
    _write(lang, raw, order=list(base))
    return changed


def _write(lang: str, raw: dict[str, Any], order: list[str]) -> None:
    path = CATALOG / f"{lang}.yaml"
    header = [line for line in path.read_text(encoding="utf-8").splitlines() if line.startswith("#")] \
        if path.exists() else []
    lines = header[:]
    for key in order + [k for k in raw if k not in order]:
        if key in raw:
            entry = raw[key]
            text = json.dumps(entry["text"] if isinstance(entry, dict) else entry, ensure_ascii=False)
            status = entry.get("status", "machine") if isinstance(entry, dict) else "machine"
            lines.append(f"{key}: {{text: {text}, status: {status}}}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    prompts.catalog.cache_clear()
