"""Configuration: the environment, read once into a `Config`."""
from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path


class ConfigError(RuntimeError):
    """A setting is missing or wrong; the message says which variable to set."""


def instance_dir() -> Path:
    """Where a checkout keeps its database, recordings and dev secrets (HOTLINE_INSTANCE)."""
    return Path(os.environ.get("HOTLINE_INSTANCE", Path.cwd() / "instance")).resolve()


def default_database_path() -> Path:
    """The embedded database, used when DATABASE_URL is not set."""
    return instance_dir() / "hotline.db"


def _dev_secret(name: str) -> str:
    """Return a per-checkout secret kept under instance/ (dev only), making it on first use.

    A file rather than a fresh value per process, because every web process and the
    terminal phone must agree on it.
    """
    path = instance_dir() / name
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_hex(16)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(value)
    return value


def _language_lines(value: str) -> dict[str, str]:
    """Read "+16175550111=es,+16175550112=ht": a city may give a language its own number."""
    lines = {}
    for item in filter(None, (part.strip() for part in value.split(","))):
        number, sep, lang = item.partition("=")
        if not sep or not number.strip() or not lang.strip():
            raise ConfigError(f"LANGUAGE_LINES: {item!r} is not NUMBER=LANGUAGE, e.g. +16175550111=es")
        lines[number.strip()] = lang.strip()
    return lines


@dataclass(frozen=True)
class Config:
    database_url: str
    redis_url: str | None
    account_sid: str
    auth_token: str
    public_base_url: str | None
    trust_proxy: bool
    secret_key: str
    transcriber: str
    recordings_dir: Path
    media_hosts: tuple[str, ...]
    api_base: str
    production: bool
    instance_dir: Path
    dev_token: bool = False
    language_lines: dict[str, str] = field(default_factory=dict)   # line number (E.164) -> language
    extra: dict = field(default_factory=dict)

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> "Config":
        """Read the settings from `env` (default: the process environment).

        :raises ConfigError: in production, when a secret is missing.
        """
        env = dict(os.environ if env is None else env)
        production = env.get("HOTLINE_ENV", "development") == "production"
        instance = instance_dir()
        token = env.get("TWILIO_AUTH_TOKEN", "")
        secret = env.get("SECRET_KEY", "")
        if production and not token:
            raise ConfigError("TWILIO_AUTH_TOKEN is required when HOTLINE_ENV=production: "
                              "without it every forged request would be accepted.")
        if production and not secret:
            raise ConfigError("SECRET_KEY is required when HOTLINE_ENV=production "
                              "(it keys the phone-number hashes and sessions).")
        return cls(
            database_url=env.get("DATABASE_URL") or f"sqlite:///{default_database_path()}",
            redis_url=env.get("REDIS_URL") or None,
            account_sid=env.get("TWILIO_ACCOUNT_SID", "AC" + "0" * 32),
            auth_token=token or _dev_secret("dev_twilio_token"),
            dev_token=not token,
            public_base_url=(env.get("PUBLIC_BASE_URL") or "").rstrip("/") or None,
            trust_proxy=env.get("TRUST_PROXY") == "1",
            secret_key=secret or _dev_secret("dev_secret_key"),
            transcriber=env.get("TRANSCRIBER", ""),
            recordings_dir=Path(env.get("RECORDINGS_DIR") or instance / "recordings"),
            media_hosts=tuple(h.strip() for h in env.get("TWILIO_MEDIA_HOSTS", "api.twilio.com").split(",")
                              if h.strip()),
            api_base=env.get("TWILIO_API_BASE", "https://api.twilio.com").rstrip("/"),
            production=production,
            instance_dir=instance,
            language_lines=_language_lines(env.get("LANGUAGE_LINES", "")),
        )
