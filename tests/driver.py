"""A resident's phone for tests: signed Twilio-shaped requests, prompts checked by key.

`said(key)` renders the key in the call's language, so rewording a prompt breaks no test.
"""
from __future__ import annotations

import re
from typing import Any

import prompts
from hotline.phone import Call, Phone


def rendered(key: str, lang: str, channel: str, /, **vars: Any) -> str:
    return prompts.render(key, lang, channel, vars)


def pattern(key: str, lang: str, channel: str, /, **vars: Any) -> re.Pattern[str]:
    """A regex for the rendered prompt; variables not given match anything, and the first
    occurrence of each is captured as a named group (a receipt, a reference code)."""
    template = prompts.lookup(key, lang, channel).strip()
    out, last, named = [], 0, set()
    for m in re.finditer(r"\{(\w+)\}", template):
        out.append(re.escape(template[last:m.start()]))
        name = m.group(1)
        if name in vars:
            out.append(re.escape(prompts.format_value(vars[name], lang, channel)))
        else:
            out.append(f"(?P<{name}>.+?)" if name not in named else "(?:.+?)")
            named.add(name)
        last = m.end()
    out.append(re.escape(template[last:]))
    return re.compile("".join(out), re.S)


class CallDriver:
    """Wraps the phone's Call with assertions by prompt key."""

    def __init__(self, call: Call, lang: str = "en") -> None:
        self.call = call
        self.lang = lang

    def __getattr__(self, name: str) -> Any:
        return getattr(self.call, name)

    def press(self, keys: str) -> "CallDriver":
        self.call.press(keys)
        return self

    def silence(self) -> "CallDriver":
        self.call.silence()
        return self

    def record(self, *args, **kwargs) -> "CallDriver":
        self.call.record(*args, **kwargs)
        return self

    def said(self, key: str, /, lang: str | None = None, **vars: Any) -> re.Match[str] | None:
        """The match if the prompt was heard since the last key press (None otherwise)."""
        rx = pattern(key, lang or self.lang, "voice", **vars)
        for text in self.call.last_heard:
            m = rx.search(text)
            if m:
                return m
        return None

    def heard_anywhere(self, key: str, /, **vars: Any) -> bool:
        rx = pattern(key, self.lang, "voice", **vars)
        return any(rx.search(t) for t in self.call.heard)


class TextDriver:
    """Wraps the phone's texting with assertions by prompt key."""

    def __init__(self, phone: Phone, lang: str = "en") -> None:
        self.phone = phone
        self.lang = lang
        self.replies: list[str] = []

    def send(self, body: str, **fields: str) -> list[str]:
        self.replies = self.phone.text(body, **fields)
        return self.replies

    def said(self, key: str, /, lang: str | None = None, **vars: Any) -> re.Match[str] | None:
        rx = pattern(key, lang or self.lang, "sms", **vars)
        for text in self.replies:
            m = rx.search(text)
            if m:
                return m
        return None
