"""Short codes residents hear and keep: idea references and ballot receipts (digits only,
so every language can read them out and every keypad can type them)."""
from __future__ import annotations

import secrets

IDEA_DIGITS = 7
RECEIPT_DIGITS = 8


def new_code(digits: int) -> str:
    return "".join(secrets.choice("0123456789") for _ in range(digits))
