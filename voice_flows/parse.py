"""Keypad answers into outcomes (pure; never raises on what a caller presses)."""
from __future__ import annotations

import re
from collections.abc import Callable, Mapping

from voice_flows.machine import Ctx, Inbound, Parsed, State

REPEAT, BACK = "*", "0"


def _common(keys: str) -> str | None:
    """The outcomes every keypad question shares: silence, repeat (*) and back (0)."""
    if keys == "":
        return "timeout"
    if keys == REPEAT:
        return "repeat"
    if keys == BACK:
        return "back"
    return None


def choice(options: Mapping[str, str]) -> Callable[[Inbound, State, Ctx], Parsed]:
    """A one-key menu: `options` maps a key to its outcome."""
    def parse(inbound: Inbound, state: State, ctx: Ctx) -> Parsed:
        keys = inbound.text.strip()
        if keys in options:
            return options[keys], {}
        return _common(keys) or "bad", {"key": keys}
    return parse


def digits(inbound: Inbound) -> tuple[str | None, str]:
    """Split a typed entry into a shared outcome, or None and the digits pressed."""
    keys = inbound.text.strip().rstrip("#")
    common = _common(keys)
    if common:
        return common, keys
    if not re.fullmatch(r"[0-9]+", keys):
        return "bad", keys
    return None, keys


def zip_code(keys: str) -> str | None:
    """Return the ZIP if `keys` is five digits (ZIP+4 pressed as nine digits is accepted)."""
    if re.fullmatch(r"[0-9]{5}([0-9]{4})?", keys):
        return keys[:5]
    return None
