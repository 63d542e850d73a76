"""Staff passwords: scrypt (a memory-hard KDF from the standard library) with a salt per password.

The parameters travel inside each stored hash, so raising them later needs no migration: a
password hashed with older ones is re-hashed the next time its owner signs in (`needs_rehash`).
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

# OWASP's password storage cheat sheet (2024): scrypt N=2^15 (32 MiB), r=8, p=3 — about 0.25 s here.
N, R, P = 2 ** 15, 8, 3
KEY_BYTES = 32
MIN_LENGTH = 8          # NIST SP 800-63B's floor; length is what counts, not character classes
MAX_LENGTH = 256        # a megabyte "password" would only cost the server time


class WeakPassword(ValueError):
    """The password is refused; the message says why and what to do."""


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _derive(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(password.encode(), salt=salt, n=n, r=r, p=p, maxmem=256 * 1024 * 1024, dklen=KEY_BYTES)


def check_strength(password: str, email: str = "") -> None:
    """:raises WeakPassword: too short, too long, or the email itself."""
    if len(password) < MIN_LENGTH:
        raise WeakPassword(f"Use at least {MIN_LENGTH} characters (a few words make a good password).")
    if len(password) > MAX_LENGTH:
        raise WeakPassword(f"Use at most {MAX_LENGTH} characters.")
    if email and password.strip().lower() == email.strip().lower():
        raise WeakPassword("The password must not be the email address.")


def hash_password(password: str) -> str:
    """Return `scrypt$N$r$p$salt$key` for storing."""
    salt = secrets.token_bytes(16)
    return f"scrypt${N}${R}${P}${_b64(salt)}${_b64(_derive(password, salt, N, R, P))}"


def verify(password: str, stored: str) -> bool:
    """Whether `password` matches `stored`, compared in constant time; False for a malformed hash."""
    try:
        scheme, n, r, p, salt, key = stored.split("$")
        if scheme != "scrypt":
            return False
        derived = _derive(password, _unb64(salt), int(n), int(r), int(p))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(derived, _unb64(key))


def needs_rehash(stored: str) -> bool:
    return not stored.startswith(f"scrypt${N}${R}${P}$")


# Checked when the email has no account, so that a wrong email takes as long as a wrong password.
DUMMY_HASH = f"scrypt${N}${R}${P}${_b64(b'0' * 16)}${_b64(b'0' * KEY_BYTES)}"
