"""Phone numbers at rest: a keyed hash to find a participant, encryption to call back."""
from __future__ import annotations

import base64
import functools
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


@functools.lru_cache(maxsize=8)
def _sealer(secret: str) -> Fernet:
    return Fernet(base64.urlsafe_b64encode(hashlib.sha256(f"sealed-at-rest:{secret}".encode()).digest()))


def seal(secret: str, text: str) -> str:
    """Encrypt `text` kept at rest that could tie a person to what they did (a webhook's stored
    answer holds a ballot's receipt and choices; its key names the call)."""
    return _sealer(secret).encrypt(text.encode()).decode()


def unseal(secret: str, token: str) -> str:
    """The text `seal` encrypted. :raises cryptography.fernet.InvalidToken: another key, or tampered."""
    return _sealer(secret).decrypt(token.encode()).decode()


def is_sealed(value: str) -> bool:
    return value.startswith("gAAAAA")     # every Fernet token (version byte 0x80, then a timestamp)


def mask(e164: str) -> str:
    """Show a number the way logs and reviewers may see it: +1617•••••23."""
    return e164[:5] + "•" * max(0, len(e164) - 7) + e164[-2:] if len(e164) > 7 else "•••"
