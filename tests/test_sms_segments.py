"""Table-driven and property tests for sms.segments: encoding, segment counts, pack, clean."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sms import segments as seg


def by_description(rows: list[dict[str, Any]]) -> Any:
    return pytest.mark.parametrize("row", rows, ids=[row["description"] for row in rows])


def test_gsm_tables_have_the_standard_sizes() -> None:
    assert len(seg.GSM7_BASIC) == 127  # 128 positions less ESC
    assert len(seg.GSM7_EXTENSION) == 10
    assert not seg.GSM7_BASIC & seg.GSM7_EXTENSION


ENCODING = [
    {"description": "plain English", "text": "Vote for 3 projects!", "expected": "GSM-7"},
    {"description": "empty", "text": "", "expected": "GSM-7"},
    {"description": "GSM accents and Greek", "text": "Café où à Ñandù ΔΩ £¥ §¿¡", "expected": "GSM-7"},
    {"description": "extension characters", "text": "^{}\\[~]|€\f", "expected": "GSM-7"},
    {"description": "newline and carriage return", "text": "a\r\nb", "expected": "GSM-7"},
    {"description": "accent outside GSM (ò is in, ó is not)", "text": "Acción", "expected": "UCS-2"},
    {"description": "curly apostrophe", "text": "it’s", "expected": "UCS-2"},
    {"description": "Chinese", "text": "投票", "expected": "UCS-2"},
    {"description": "Arabic", "text": "نعم", "expected": "UCS-2"},
    {"description": "emoji", "text": "yes 👍", "expected": "UCS-2"},
    {"description": "ellipsis character", "text": "more…", "expected": "UCS-2"},
    {"description": "tab is not GSM", "text": "a\tb", "expected": "UCS-2"},
]


@by_description(ENCODING)
def test_encoding(row: dict[str, Any]) -> None:
    assert seg.encoding(row["text"]) == row["expected"]


SEGMENTS = [
    {"description": "empty is one", "text": "", "expected": 1},
    {"description": "160 GSM chars fit one", "text": "a" * 160, "expected": 1},
    {"description": "161 GSM chars need two", "text": "a" * 161, "expected": 2},
    {"description": "306 GSM chars fill two parts", "text": "a" * 306, "expected": 2},
    {"description": "307 GSM chars need three", "text": "a" * 307, "expected": 3},
    {"description": "euro as the 159th char: 160 septets, one", "text": "a" * 158 + "€", "expected": 1},
    {"description": "euro at index 159: 161 septets, two", "text": "a" * 159 + "€", "expected": 2},
    {"description": "80 extension chars = 160 septets, one", "text": "{" * 80, "expected": 1},
    {"description": "81 extension chars, two", "text": "{" * 81, "expected": 2},
    {"description": "euro straddling a part boundary moves to the next part",
     "text": "a" * 152 + "€" + "a" * 152, "expected": 3},
    {"description": "euro ending a part exactly stays", "text": "a" * 151 + "€" + "a" * 153, "expected": 2},
    {"description": "70 Chinese chars fit one", "text": "中" * 70, "expected": 1},
    {"description": "71 Chinese chars need two", "text": "中" * 71, "expected": 2},
    {"description": "134 Chinese chars fill two parts", "text": "中" * 134, "expected": 2},
    {"description": "135 Chinese chars need three", "text": "中" * 135, "expected": 3},
    {"description": "one accent outside GSM makes 100 chars UCS-2", "text": "ó" + "a" * 99, "expected": 2},
    {"description": "35 emoji are 70 units, one", "text": "😀" * 35, "expected": 1},
    {"description": "36 emoji are 72 units, two", "text": "😀" * 36, "expected": 2},
    {"description": "69 units plus an emoji is 71 units, two", "text": "中" * 69 + "😀", "expected": 2},
    {"description": "emoji straddling a part boundary moves to the next part",
     "text": "中" * 66 + "😀" + "中" * 66, "expected": 3},
    {"description": "Arabic 70 letters, one", "text": "ب" * 70, "expected": 1},
]


@by_description(SEGMENTS)
def test_segments(row: dict[str, Any]) -> None:
    assert seg.segments(row["text"]) == row["expected"]


def test_an_emoji_counts_two_units() -> None:
    assert seg.segments("中" * 68 + "😀") == 1  # 70 units
    assert seg.segments("中" * 69 + "😀") == 2  # 71 units


CLEAN = [
    {"description": "right-to-left override removed", "text": "pay \u202egnp.exe", "expected": "pay gnp.exe"},
    {"description": "all bidi embeddings and isolates removed",
     "text": "\u202aa\u202bb\u202cc\u202dd\u2066e\u2067f\u2068g\u2069h", "expected": "abcdefgh"},
    {"description": "control characters removed", "text": "a\x00b\x07c\x1bd\x7fe", "expected": "abcde"},
    {"description": "C1 control removed", "text": "a\x9bb", "expected": "ab"},
    {"description": "newline kept", "text": "line one\nline two", "expected": "line one\nline two"},
    {"description": "CRLF becomes one newline", "text": "a\r\nb", "expected": "a\nb"},
    {"description": "blank lines collapse to one newline", "text": "a\n\n\n  b", "expected": "a\nb"},
    {"description": "tabs and spaces collapse", "text": "a \t\t  b", "expected": "a b"},
    {"description": "no-break and ideographic spaces collapse", "text": "a\u00a0\u3000b", "expected": "a b"},
    {"description": "stripped", "text": "  \n hello \n ", "expected": "hello"},
    {"description": "emoji with joiner kept", "text": "👩‍👧 ok", "expected": "👩‍👧 ok"},
    {"description": "Arabic kept", "text": "نعم", "expected": "نعم"},
    {"description": "capped at 1600", "text": "a" * 2000, "expected": "a" * 1600},
    {"description": "empty", "text": "", "expected": ""},
]


@by_description(CLEAN)
def test_clean(row: dict[str, Any]) -> None:
    assert seg.clean(row["text"]) == row["expected"]


def test_clean_caps_after_collapsing() -> None:
    assert seg.MAX_BODY == 1600
    assert seg.clean(" ".join(["word"] * 1000)) == (" ".join(["word"] * 1000))[:1600].strip()
    assert len(seg.clean("x" * 5000)) == seg.MAX_BODY


PACK = [
    {"description": "no items, no header", "items": [], "kwargs": {}, "expected": []},
    {"description": "no items, header and footer", "items": [], "kwargs": {"header": "H\n", "footer": "\nF"},
     "expected": ["H\n\nF"]},
    {"description": "one short item", "items": ["1 Swings"], "kwargs": {}, "expected": ["1 Swings"]},
    {"description": "short items share one message with header and footer",
     "items": ["1 Swings", "2 Trees"], "kwargs": {"header": "Projects:\n", "footer": "\nReply with numbers"},
     "expected": ["Projects:\n1 Swings\n2 Trees\nReply with numbers"]},
    {"description": "custom separator", "items": ["a", "b", "c"], "kwargs": {"sep": ", "}, "expected": ["a, b, c"]},
    {"description": "each 100-char item alone when max is one segment",
     "items": ["a" * 100, "b" * 100], "kwargs": {"max_segments": 1}, "expected": ["a" * 100, "b" * 100]},
    {"description": "header only on first, footer only on last",
     "items": ["a" * 100, "b" * 100], "kwargs": {"header": "H:", "footer": ":F", "max_segments": 1},
     "expected": ["H:" + "a" * 100, "b" * 100 + ":F"]},
    {"description": "footer that does not fit moves the last item on",
     "items": ["a" * 79, "b" * 79], "kwargs": {"footer": "!!", "max_segments": 1},
     "expected": ["a" * 79, "b" * 79 + "!!"]},
    {"description": "too-long GSM item cut at a word with three dots",
     "items": ["word " * 40], "kwargs": {"max_segments": 1},
     "expected": ["word " * 30 + "word..."]},
    {"description": "too-long Chinese item cut mid-text with an ellipsis",
     "items": ["中" * 100], "kwargs": {"max_segments": 1}, "expected": ["中" * 69 + "…"]},
    {"description": "one long word is cut mid-word",
     "items": ["Hi " + "x" * 300], "kwargs": {"max_segments": 1}, "expected": ["Hi " + "x" * 154 + "..."]},
]


@by_description(PACK)
def test_pack(row: dict[str, Any]) -> None:
    assert seg.pack(row["items"], **row["kwargs"]) == row["expected"]


def test_pack_is_deterministic() -> None:
    items = ["项目 " * 20, "Park " * 30, "😀" * 40, "حديقة " * 15] * 3
    assert seg.pack(items, header="Ballot:\n") == seg.pack(items, header="Ballot:\n")


def test_pack_refuses_impossible_limits() -> None:
    with pytest.raises(ValueError):
        seg.pack(["a"], max_segments=0)
    with pytest.raises(ValueError, match="header/footer"):
        seg.pack(["a"], header="h" * 200, max_segments=1)


# Items never contain the separator, so a message body splits back into its items.
CHARS = list("abcXYZ 0123456789.,!?€[]{}~^|\\") + list("中文投票项目公园") + list("حديقةنعم") + [
    "😀", "👍", "🌳", "é", "ó", "’",
]
item_text = st.text(alphabet=st.sampled_from(CHARS), max_size=80)
HEADER, FOOTER, SEP = "Projects / 项目:\n", "\nReply with up to 5 numbers.", "\n"


def unpack(messages: list[str], header: str, footer: str) -> list[list[str]]:
    """Split messages back into the items each holds, checking header and footer placement."""
    groups = []
    for i, message in enumerate(messages):
        if i == 0:
            assert message.startswith(header)
            message = message[len(header):]
        if i == len(messages) - 1:
            assert message.endswith(footer)
            message = message[: len(message) - len(footer)]
        groups.append(message.split(SEP))
    return groups


@settings(max_examples=300)
@given(st.lists(item_text, min_size=1, max_size=25), st.sampled_from([1, 2, 3]), st.booleans())
def test_pack_keeps_items_whole_in_order_within_the_limit(
    items: list[str], max_segments: int, framed: bool
) -> None:
    header, footer = (HEADER, FOOTER) if framed else ("", "")
    messages = seg.pack(items, header=header, footer=footer, sep=SEP, max_segments=max_segments)
    assert all(seg.segments(m) <= max_segments for m in messages)
    groups = unpack(messages, header, footer)
    assert all(groups)
    flat = [item for group in groups for item in group]
    if max_segments == 3:  # 80 chars always fit three segments: nothing is truncated
        assert flat == items
    assert "".join(flat) == "".join(items) or max_segments < 3
    assert len(flat) == len(items)
    for packed, original in zip(flat, items):
        assert packed == original or (
            packed.endswith(("...", "…")) and original.startswith(packed.rstrip(".…").rstrip())
        )


@settings(max_examples=200)
@given(st.lists(st.text(alphabet=st.sampled_from(CHARS), max_size=600), min_size=1, max_size=8))
def test_pack_truncates_only_what_cannot_fit(items: list[str]) -> None:
    messages = seg.pack(items, header=HEADER, footer=FOOTER)
    assert all(seg.segments(m) <= 3 for m in messages)
    flat = [item for group in unpack(messages, HEADER, FOOTER) for item in group]
    assert len(flat) == len(items)
    for packed, original in zip(flat, items):
        if packed != original:
            mark = "..." if packed.endswith("...") else "…"
            assert packed.endswith(mark)
            assert original.startswith(packed[: -len(mark)])
            assert len(packed) < len(original) + len(mark)


@settings(max_examples=200)
@given(st.lists(item_text, min_size=1, max_size=25))
def test_pack_uses_no_more_messages_than_needed(items: list[str]) -> None:
    """Merging any two neighbouring messages would break the limit."""
    messages = seg.pack(items, header=HEADER, footer=FOOTER)
    for left, right in zip(messages, messages[1:]):
        merged = left + SEP + right
        assert seg.segments(merged) > 3


@given(st.text())
def test_segments_and_clean_never_raise(text: str) -> None:
    assert seg.segments(text) >= 1
    cleaned = seg.clean(text)
    assert len(cleaned) <= seg.MAX_BODY
    assert not any(ch in cleaned for ch in "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
