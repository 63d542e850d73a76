"""docs/reliability.md cites the tests behind its figures: each one it names must exist."""
from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_every_test_the_reliability_report_cites_exists():
    doc = (ROOT / "docs" / "reliability.md").read_text(encoding="utf-8")
    cited = set(re.findall(r"(tests/test_\w+\.py)::(test_\w+)", doc))
    assert len(cited) >= 20
    missing = [f"{path}::{name}" for path, name in sorted(cited)
               if not re.search(rf"^def {name}\(", (ROOT / path).read_text(encoding="utf-8"), re.M)]
    assert not missing, f"docs/reliability.md cites tests that do not exist: {missing}"
    files = set(re.findall(r"`(tests/test_\w+\.py)`", doc))
    assert all((ROOT / f).exists() for f in files), files
