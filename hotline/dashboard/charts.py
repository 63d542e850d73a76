"""Geometry for the dashboard's charts, drawn as SVG by the templates (no JavaScript, no CDN).

Pure functions: results or turnout in, boxes and labels out.
"""
from __future__ import annotations

from dataclasses import dataclass

from hotline.tally import Results


@dataclass(frozen=True)
class Bar:
    y: float
    width: float
    label: str          # rank, number and title
    value: str          # votes
    funded: bool
    skipped: bool       # above the funding line by votes but did not fit what money was left
    title: str          # the full text, for a tooltip


@dataclass(frozen=True)
class ResultsChart:
    width: int
    height: int
    label_width: int
    bar_height: int
    bars: list[Bar]
    line_y: float | None        # the funding line, under the last funded proposal (its label below it)
    line_label: str
    max_votes: int
    ticks: list[tuple[float, str]]


def _nice_step(top: int, count: int = 5) -> int:
    raw = max(1, top) / count
    magnitude = 10 ** (len(str(int(raw))) - 1)
    for m in (1, 2, 2.5, 5, 10):
        if raw <= m * magnitude:
            return max(1, int(m * magnitude))
    return int(10 * magnitude)


def _short(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"


def results_chart(results: Results, width: int = 880, bar_height: int = 26, gap: int = 8) -> ResultsChart:
    """Votes per proposal in rank order; funded bars apart from the rest, and the line between them."""
    label_width, value_room, top = 330, 70, 28
    plot = width - label_width - value_room
    max_votes = max((r.votes for r in results.rows), default=0)
    scale = plot / max(1, max_votes)
    rows = results.rows
    last_funded = max((i for i, r in enumerate(rows) if r.funded), default=-1)
    line_room = 26          # the funding line gets a band of its own, so its label never covers a bar
    bars = []
    for i, r in enumerate(rows):
        y = top + i * (bar_height + gap) + (line_room if i > last_funded else 0)
        title = f"{r.rank}. #{r.number} {r.title}"
        bars.append(Bar(y, max(2.0, r.votes * scale) if r.votes else 0.0, _short(title, 44), f"{r.votes:,}",
                        r.funded, not r.funded and i < last_funded, title))
    line_y = top + (last_funded + 1) * (bar_height + gap) - gap / 2 if rows else None
    step = _nice_step(max_votes)
    ticks = [(label_width + v * scale, f"{v:,}") for v in range(0, max_votes + 1, step)] if max_votes else []
    left = results.budget_cap - results.funded_total
    line_label = (f"Funding line: ${results.funded_total:,} of the ${results.budget_cap:,} cap funded "
                  f"(${left:,} left)")
    height = top + len(rows) * (bar_height + gap) + line_room + 24
    return ResultsChart(width, height, label_width, bar_height, bars, line_y, line_label, max_votes, ticks)


@dataclass(frozen=True)
class Column:
    x: float
    day: str
    label: str
    segments: list[tuple[str, float, float, int]]    # channel, y, height, ballots
    total: int


@dataclass(frozen=True)
class TurnoutChart:
    width: int
    height: int
    plot_top: int
    plot_bottom: int
    column_width: float
    columns: list[Column]
    channels: list[str]
    ticks: list[tuple[float, str]]


def turnout_chart(by_day: dict[str, dict[str, int]], channels: list[str], width: int = 600,
                  height: int = 220) -> TurnoutChart:
    """Ballots per day, stacked by channel."""
    left, right, top, bottom = 48, 12, 12, height - 40
    days = sorted(by_day)
    totals = {d: sum(by_day[d].values()) for d in days}
    peak = max(totals.values(), default=0)
    scale = (bottom - top) / max(1, peak)
    room = (width - left - right) / max(1, len(days))
    column_width = max(4.0, min(48.0, room * 0.7))
    columns = []
    for i, d in enumerate(days):
        x = left + i * room + (room - column_width) / 2
        y, segments = float(bottom), []
        for ch in channels:
            n = by_day[d].get(ch, 0)
            h = n * scale
            y -= h
            segments.append((ch, y, h, n))
        label = d[5:] if len(days) <= 31 or i % max(1, len(days) // 15) == 0 else ""
        columns.append(Column(x, d, label, segments, totals[d]))
    step = _nice_step(peak, 4)
    ticks = [(bottom - v * scale, f"{v:,}") for v in range(0, peak + 1, step)] if peak else []
    return TurnoutChart(width, height, top, bottom, column_width, columns, channels, ticks)
