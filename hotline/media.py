"""Twilio media: fetch a recording's audio, with credentials for TWILIO_MEDIA_HOSTS only.

Twilio serves a recording at its RecordingUrl plus `.wav`, behind HTTP Basic auth (account SID,
auth token), and may answer 404 for a short while after announcing it (twilio-protocol.md).
Credentials go only to hosts listed in TWILIO_MEDIA_HOSTS (docs/interface.md); any other host,
including where Twilio redirects to (its media storage signs its own URLs), is fetched
without them. Redirects are followed here, one hop at a time, so that rule holds on every hop.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import requests

MAX_REDIRECTS = 5
MAX_BYTES = 200 * 1024 * 1024      # an hour of 8 kHz 16-bit audio is 58 MB: anything past this is not a recording


class FetchError(Exception):
    """The recording could not be fetched. `retryable`: trying again later may work."""

    def __init__(self, reason: str, retryable: bool, status: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable
        self.status = status


@dataclass(frozen=True)
class Fetched:
    url: str                 # where the bytes finally came from
    content: bytes
    content_type: str
    sent_credentials: bool


def media_url(recording_url: str, extension: str = "wav") -> str:
    """The URL of the recording's audio file (RecordingUrl carries no extension)."""
    path = urlsplit(recording_url).path
    return recording_url if path.endswith((".wav", ".mp3")) else f"{recording_url}.{extension}"


def is_media_host(url: str, media_hosts: Iterable[str]) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    return bool(host) and host in {h.lower() for h in media_hosts}


def fetch(url: str, account_sid: str, auth_token: str, media_hosts: Iterable[str], timeout: float,
          session: requests.Session | None = None) -> Fetched:
    """Download `url`, following redirects, with Basic auth only towards `media_hosts`.

    :raises FetchError: 404 (not stored yet), 429, 5xx and network trouble are retryable;
        401/403 and other refusals are not.
    """
    hosts = tuple(media_hosts)
    http = session or requests.Session()
    sent_any = False
    for _ in range(MAX_REDIRECTS + 1):
        if urlsplit(url).scheme not in ("http", "https"):
            raise FetchError(f"not an HTTP URL: {url}", retryable=False)
        credentials = is_media_host(url, hosts)
        sent_any = sent_any or credentials
        try:
            r = http.get(url, auth=(account_sid, auth_token) if credentials else None, timeout=timeout,
                         allow_redirects=False, stream=True)
        except requests.RequestException as e:
            raise FetchError(f"could not reach {urlsplit(url).hostname}: {type(e).__name__}", retryable=True) from e
        with r:
            if r.is_redirect and r.headers.get("Location"):
                url = urljoin(url, r.headers["Location"])
                continue
            if r.status_code == 200:
                content = _read(r)
                return Fetched(url, content, r.headers.get("Content-Type", ""), sent_any)
            raise _refusal(r.status_code, url, credentials)
    raise FetchError(f"more than {MAX_REDIRECTS} redirects fetching the recording", retryable=False)


def _read(r: requests.Response) -> bytes:
    chunks, size = [], 0
    for chunk in r.iter_content(64 * 1024):
        size += len(chunk)
        if size > MAX_BYTES:
            raise FetchError(f"the recording is larger than {MAX_BYTES} bytes", retryable=False)
        chunks.append(chunk)
    return b"".join(chunks)


def _refusal(status: int, url: str, credentials: bool) -> FetchError:
    host = urlsplit(url).hostname
    if status == 404:
        # Twilio answers 404 until the recording is stored: worth waiting for.
        return FetchError(f"{host} answered 404 (not stored yet?)", retryable=True, status=status)
    if status == 429 or status >= 500:
        return FetchError(f"{host} answered {status}", retryable=True, status=status)
    if status in (401, 403) and not credentials:
        return FetchError(f"{host} answered {status}: it is not in TWILIO_MEDIA_HOSTS, so no credentials "
                          "were sent; add it there if it is Twilio's", retryable=False, status=status)
    if status in (401, 403):
        return FetchError(f"{host} refused the credentials ({status}): check TWILIO_ACCOUNT_SID and "
                          "TWILIO_AUTH_TOKEN", retryable=False, status=status)
    return FetchError(f"{host} answered {status}", retryable=False, status=status)
