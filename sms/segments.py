"""SMS length arithmetic: GSM-7/UCS-2 encoding, segment counts, packing and body cleaning.

Facts come from ``docs/twilio-protocol.md`` (Messaging): GSM-7 holds 160 septets in one
message and 153 per part when split, the extension characters cost two septets; one
character outside GSM-7 makes the whole message UCS-2 (70 UTF-16 units, 67 per part), and a
character outside the Basic Multilingual Plane (an emoji) costs two units. Everything here
is pure and never raises on user text.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from typing import Literal

Encoding = Literal["GSM-7", "UCS-2"]

#: Twilio refuses (or truncates) a body longer than this many characters.
MAX_BODY = 1600

#: GSM 03.38 basic character set, in table order (0x00-0x7F), without 0x1B (the escape to
#: the extension table, which is not a character a resident can send).
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ"
    " !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmnopqrstuvwxyzäöñüà"
)

#: GSM 03.38 extension table: each is sent as ESC + character, so it costs two septets
#: and a carrier never splits the pair across two parts.
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")

_SINGLE = {"GSM-7": 160, "UCS-2": 70}
_PART = {"GSM-7": 153, "UCS-2": 67}

# Bidi embedding/override (U+202A-U+202E) and isolate (U+2066-U+2069) controls: they let a
# message display differently from what it says (staff dashboard, forwarded texts).
_BIDI_CONTROLS = frozenset(chr(c) for c in [*range(0x202A, 0x202F), *range(0x2066, 0x206A)])
_WHITESPACE_RUN = re.compile(r"\s+")


def encoding(text: str) -> Encoding:
    """Return the encoding Twilio will use: ``"GSM-7"`` if every character is in GSM 03.38
    (basic set or extension table), otherwise ``"UCS-2"``.
    """
    for ch in text:
        if ch not in GSM7_BASIC and ch not in GSM7_EXTENSION:
            return "UCS-2"
    return "GSM-7"


def _costs(text: str, enc: Encoding) -> list[int]:
    """Cost of each character in septets (GSM-7) or UTF-16 code units (UCS-2)."""
    if enc == "GSM-7":
        return [2 if ch in GSM7_EXTENSION else 1 for ch in text]
    return [2 if ord(ch) > 0xFFFF else 1 for ch in text]


def segments(text: str) -> int:
    """Count the SMS segments ``text`` is billed as (an empty text is one segment).

    A character costing two septets/units (a GSM extension character, an emoji) is never
    split across two parts, so a part may end one short of 153/67.
    """
    enc = encoding(text)
    costs = _costs(text, enc)
    if sum(costs) <= _SINGLE[enc]:
        return 1
    part, used, count = _PART[enc], 0, 1
    for cost in costs:
        if used + cost > part:
            count, used = count + 1, 0
        used += cost
    return count


def clean(text: str) -> str:
    """Make an inbound or outbound body safe to store, show and send.

    Removes control characters (keeping line breaks), lone surrogates and bidi
    override/isolate controls; collapses each run of whitespace to one space, or to one
    newline if the run holds a line break; strips; caps at :data:`MAX_BODY` characters.
    """
    if not text:
        return ""
    kept = []
    for ch in text:
        if ch in _BIDI_CONTROLS:
            continue
        if ch.isspace():  # tab, CR, form feed, NBSP... are whitespace, handled below
            kept.append(ch)
            continue
        if unicodedata.category(ch) in ("Cc", "Cs") or ch in "\ufffe\uffff":
            continue   # U+FFFE/U+FFFF are not allowed in XML: a reply quoting them would be refused
        kept.append(ch)
    collapsed = _WHITESPACE_RUN.sub(_collapse, "".join(kept)).strip()
    return collapsed[:MAX_BODY].strip()


def _collapse(run: re.Match[str]) -> str:
    # str.splitlines() knows every line break (\n, \r, \v, \f, U+2028, ...).
    return "\n" if len(("x" + run.group() + "x").splitlines()) > 1 else " "


def _fits(message: str, max_segments: int) -> bool:
    return len(message) <= MAX_BODY and segments(message) <= max_segments


def _ellipsis(message: str) -> str:
    # "…" is not in GSM 03.38: ending a GSM-7 message with it would turn the whole message
    # into UCS-2 and shrink it from 153 to 67 characters per part.
    return "..." if encoding(message) == "GSM-7" else "…"


def _shortened(item: str, cut: int, before: str, after: str) -> str:
    prefix = item[:cut].rstrip()
    return prefix + _ellipsis(before + prefix + after)


def _truncate(item: str, before: str, after: str, max_segments: int) -> str:
    """Shorten ``item`` so ``before + item + after`` fits; see :func:`pack`."""
    if _fits(before + item + after, max_segments):
        return item
    if not _fits(before + _shortened(item, 0, before, after) + after, max_segments):
        raise ValueError(
            f"header/footer leave no room for an item within {max_segments} segment(s); "
            "shorten them or raise max_segments"
        )
    # Longest prefix that fits with the ellipsis (fitting shrinks as the prefix grows).
    lo, hi = 0, len(item)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if _fits(before + _shortened(item, mid, before, after) + after, max_segments):
            lo = mid
        else:
            hi = mid - 1
    cut = lo
    if cut < len(item) and not item[cut].isspace():
        # Back up to the last space, unless that would throw away over half of what fits
        # (one very long word, or Chinese text with no spaces).
        space = max((i for i in range(cut) if item[i].isspace()), default=-1)
        if space > 0 and space >= cut // 2:
            cut = space
    # Do not leave a dangling accent, zero-width joiner or variation selector.
    while cut > 0 and (
        unicodedata.combining(item[cut - 1]) or item[cut - 1] in "\u200d\ufe0e\ufe0f"
    ):
        cut -= 1
    return _shortened(item, cut, before, after)


def pack(
    items: Sequence[str],
    *,
    header: str = "",
    footer: str = "",
    sep: str = "\n",
    max_segments: int = 3,
) -> list[str]:
    """Group ``items`` into as few messages as possible, keeping their order.

    Each message is ``header`` (first message only) + its items joined by ``sep`` +
    ``footer`` (last message only), and none exceeds ``max_segments`` segments (or
    :data:`MAX_BODY` characters). Items are never split between messages: a message is
    filled greedily and the next item starts a new one.

    An item that would not fit even alone (with the header if it is the first item, the
    footer if it is the last) is truncated: cut at the last space that fits (or mid-word
    if that would drop more than half of it, e.g. Chinese text) and ended with an
    ellipsis, written ``...`` when the message is otherwise GSM-7 (``…`` is not in GSM-7
    and would make it UCS-2) and ``…`` otherwise. No items gives ``[header + footer]``, or ``[]`` if both are empty.

    :param items: texts to list, e.g. one line per project.
    :param header: text that opens the first message (include its own line break).
    :param footer: text that closes the last message (include its own line break).
    :param sep: text between two items in the same message.
    :param max_segments: the most segments any one message may take.
    :raises ValueError: if ``max_segments`` < 1, or header/footer alone leave no room.
    """
    if max_segments < 1:
        raise ValueError("max_segments must be at least 1")
    if not items:
        return [header + footer] if header or footer else []

    last = len(items) - 1
    fitted = [
        _truncate(item, header if i == 0 else "", footer if i == last else "", max_segments)
        for i, item in enumerate(items)
    ]

    messages: list[str] = []
    current: list[str] = []
    for i, item in enumerate(fitted):
        if current:
            candidate = sep.join([*current, item])
            before = header if not messages else ""
            after = footer if i == last else ""
            if _fits(before + candidate + after, max_segments):
                current.append(item)
                continue
            messages.append(before + sep.join(current))
            current = []
        current = [item]
    before = header if not messages else ""
    messages.append(before + sep.join(current) + footer)
    return messages
