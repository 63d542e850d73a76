"""Figures the fault, abuse and privacy tests measure, kept for docs/reliability.md.

Each test records what it saw under its own name (backend included) in
``test-artifacts/reliability.json``; `python -m tests.figures` prints them as the tables the
document quotes. Recording never fails a test.
"""
from __future__ import annotations

import fcntl
import json
import os
import sys
from pathlib import Path
from typing import Any

PATH = Path(os.environ.get("RELIABILITY_FIGURES", Path(__file__).resolve().parents[1] / "test-artifacts"
                           / "reliability.json"))


def record(name: str, **values: Any) -> None:
    """Keep `values` under `name` (replacing what an earlier run kept there)."""
    try:
        PATH.parent.mkdir(parents=True, exist_ok=True)
        with open(PATH, "a+", encoding="utf-8") as f:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX)
            f.seek(0)
            text = f.read()
            data = json.loads(text) if text.strip() else {}
            data[name] = values
            f.seek(0)
            f.truncate()
            json.dump(data, f, indent=1, sort_keys=True, default=str)
    except (OSError, ValueError) as e:   # a figure is a by-product: never the reason a test fails
        print(f"could not record figure {name}: {e}", file=sys.stderr)


def ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


if __name__ == "__main__":
    data = json.loads(PATH.read_text()) if PATH.exists() else {}
    for name in sorted(data):
        print(f"{name}:")
        for key, value in sorted(data[name].items()):
            print(f"  {key}: {value}")
