"""Phone numbers at rest: a keyed hash to find a participant, encryption to call back."""
from __future__ import annotations

import base64
import hashlib
import hmac

from cryptography.fernet import Fernet


def _mac(secret: str, purpose: str, value: str) -> str:
    return hmac.new(secret.encode(), f"{purpose}:{value}".encode(), hashlib.sha256).hexdigest()


def phone_hash(secret: str, e164: str) -> str:
    return _mac(secret, "participant", e164)


def voter_key(secret: str, cycle_id: int, e164: str) -> str:
    """The ballot's owner key: derived apart from `phone_hash`, so the two never join."""
    return _mac(secret, f"ballot:{cycle_id}", e164)


def _fernet(secret: str) -> Fernet:
    return Fernet(base64.urlsafe_b64encode(hashlib.sha256(f"phone-encryption:{secret}".encode()).digest()))


def encrypt_phone(secret: str, e164: str) -> str:
    return _fernet(secret).encrypt(e164.encode()).decode()


def decrypt_phone(secret: str, token: str) -> str:
    return _fernet(secret).decrypt(token.encode()).decode()


def mask(e164: str) -> str:
    """Show a number the way logs and reviewers may see it: +1617•••••23."""
    return e164[:5] + "•" * max(0, len(e164) - 7) + e164[-2:] if len(e164) > 7 else "•••"
