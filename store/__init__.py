"""Data access: SQLAlchemy models and the functions that read and write them.

Functions take a `Session` and never open or commit one; `Database.unit_of_work` does.
"""
from store.db import Database


class NotFound(LookupError):
    """The row asked for does not exist."""


class AlreadyVoted(Exception):
    """This voter already has a ballot in the cycle; `receipt` is that ballot's receipt."""

    def __init__(self, receipt: str) -> None:
        super().__init__(receipt)
        self.receipt = receipt


__all__ = ["Database", "NotFound", "AlreadyVoted"]
