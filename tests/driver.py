"""A resident's phone for tests: signed Twilio-shaped requests, prompts checked by key.

`said(key)` renders the key in the call's language, so rewording a prompt breaks no test.
"""
from __future__ import annotations

import base64
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
            lazy = "?" if template[m.end():] else ""   # a value ending the prompt takes the rest
            out.append(f"(?P<{name}>.+{lazy})" if name not in named else f"(?:.+{lazy})")
            named.add(name)
        last = m.end()
    out.append(re.escape(template[last:]))
    return re.compile("".join(out), re.S)


def _spoken(event) -> str | None:
    """The words of a heard event: a Say's text, or the text inside a stand-in audio URL (the
    languages without a Twilio voice), so a test checks the words whatever plays them."""
    if event.kind == "say":
        return event.text
    m = re.search(r"/audio/say/[^/]+/([A-Za-z0-9_-]+)\.[0-9a-f]+\.wav", event.text) if event.kind == "play" else None
    if m:
        body = m.group(1)
        return base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)).decode()
    return None


class CallDriver:
    """Wraps the phone's Call with assertions by prompt key."""

    def __init__(self, call: Call, lang: str = "en") -> None:
        self.call = call
        self.lang = lang
        self._mark = 0     # events before this index were heard before the last input

    def __getattr__(self, name: str) -> Any:
        return getattr(self.call, name)

    def _act(self, action, *args, **kwargs) -> "CallDriver":
        self._mark = len(self.call.events)
        action(*args, **kwargs)
        return self

    def press(self, keys: str) -> "CallDriver":
        return self._act(self.call.press, keys)

    def silence(self) -> "CallDriver":
        return self._act(self.call.silence)

    def record(self, *args, **kwargs) -> "CallDriver":
        return self._act(self.call.record, *args, **kwargs)

    def speak(self, words: str) -> "CallDriver":
        return self._act(self.call.speak, words)

    def hangup(self) -> "CallDriver":
        return self._act(self.call.hangup)

    def spoken(self, everything: bool = False) -> list[str]:
        """The words heard since the last input (or during the whole call)."""
        events = self.call.events if everything else self.call.events[self._mark:]
        return [t for t in map(_spoken, events) if t is not None]

    def said(self, key: str, /, lang: str | None = None, **vars: Any) -> re.Match[str] | None:
        """The match if the prompt was heard since the last input (None otherwise)."""
        rx = pattern(key, lang or self.lang, "voice", **vars)
        return next((m for m in map(rx.search, self.spoken()) if m), None)

    def heard_anywhere(self, key: str, /, **vars: Any) -> bool:
        rx = pattern(key, self.lang, "voice", **vars)
        return any(rx.search(t) for t in self.spoken(everything=True))


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
