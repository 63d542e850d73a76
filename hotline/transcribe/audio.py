"""Recorded audio: read a WAV as Twilio serves it, and the sample conversions engines need.

Twilio's `.wav` is 8 kHz mono; depending on the account it is 16-bit PCM or G.711 µ-law, and
Python's `wave` module reads only the former, so the RIFF chunks are read here.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass
from functools import cache

import numpy as np

PCM, ALAW, MULAW, EXTENSIBLE = 1, 6, 7, 0xFFFE


class AudioError(ValueError):
    """The bytes are not audio this pipeline can read; the message says what was found."""


@dataclass(frozen=True)
class Audio:
    """Samples as stored in the file: `encoding` is `pcm16`, `pcm8`, `mulaw` or `alaw`."""

    encoding: str
    sample_rate: int
    channels: int
    data: bytes

    @property
    def bytes_per_sample(self) -> int:
        return 2 if self.encoding == "pcm16" else 1

    @property
    def seconds(self) -> float:
        return len(self.data) / (self.sample_rate * self.channels * self.bytes_per_sample)

    @property
    def format(self) -> str:
        return f"wav/{self.encoding}"

    def samples(self) -> np.ndarray:
        """Mono samples as float64 in the 16-bit range (channels averaged)."""
        if self.encoding == "pcm16":
            x = np.frombuffer(self.data[: len(self.data) // 2 * 2], dtype="<i2").astype(np.float64)
        elif self.encoding == "pcm8":
            x = (np.frombuffer(self.data, dtype=np.uint8).astype(np.float64) - 128.0) * 256.0
        else:
            table = _mulaw_table() if self.encoding == "mulaw" else _alaw_table()
            x = table[np.frombuffer(self.data, dtype=np.uint8)].astype(np.float64)
        if self.channels > 1:
            x = x[: len(x) // self.channels * self.channels].reshape(-1, self.channels).mean(axis=1)
        return x

    def pcm16(self, rate: int | None = None) -> bytes:
        """Mono 16-bit little-endian PCM, resampled to `rate` when given."""
        x = self.samples()
        if rate and rate != self.sample_rate:
            x = resample(x, self.sample_rate, rate)
        return np.clip(np.round(x), -32768, 32767).astype("<i2").tobytes()


def resample(x: np.ndarray, src: int, dst: int) -> np.ndarray:
    """Band-limited resampling in the frequency domain (exact for whole recordings of minutes).

    Linear interpolation would mirror the voice band into the upper band, which the 16 kHz
    acoustic model then hears as noise.
    """
    n = len(x)
    if n == 0 or src == dst:
        return x
    m = max(1, round(n * dst / src))
    spectrum = np.fft.rfft(x)
    out = np.zeros(m // 2 + 1, dtype=complex)
    k = min(len(spectrum), len(out))
    out[:k] = spectrum[:k]
    return np.fft.irfft(out, m) * (m / n)


def read_wav(blob: bytes) -> Audio:
    """Read a RIFF/WAVE file's format and samples.

    :raises AudioError: not a WAV, or an encoding other than PCM, µ-law or A-law.
    """
    if len(blob) < 12 or blob[:4] != b"RIFF" or blob[8:12] != b"WAVE":
        raise AudioError(f"not a WAV file (starts with {blob[:12]!r})")
    pos, fmt, data = 12, None, None
    while pos + 8 <= len(blob):
        cid, size = blob[pos:pos + 4], struct.unpack("<I", blob[pos + 4:pos + 8])[0]
        body = blob[pos + 8:pos + 8 + size]     # a streamed file may claim more than it holds
        if cid == b"fmt ":
            fmt = body
        elif cid == b"data":
            data = body
            break
        pos += 8 + size + (size & 1)
    if fmt is None or len(fmt) < 16 or data is None:
        raise AudioError("WAV file without a fmt and data chunk")
    tag, channels, rate, _, _, bits = struct.unpack("<HHIIHH", fmt[:16])
    if tag == EXTENSIBLE and len(fmt) >= 26:
        tag = struct.unpack("<H", fmt[24:26])[0]
    if channels < 1 or rate < 1000:
        raise AudioError(f"implausible WAV header: {channels} channels at {rate} Hz")
    if tag == PCM and bits == 16:
        encoding = "pcm16"
    elif tag == PCM and bits == 8:
        encoding = "pcm8"
    elif tag == MULAW and bits == 8:
        encoding = "mulaw"
    elif tag == ALAW and bits == 8:
        encoding = "alaw"
    else:
        raise AudioError(f"unsupported WAV encoding (format {tag}, {bits} bits)")
    return Audio(encoding, rate, channels, bytes(data))


def write_wav(pcm16: bytes, rate: int) -> bytes:
    """A mono 16-bit PCM WAV file holding `pcm16` (for tests and the benchmark)."""
    header = struct.pack("<4sI4s4sIHHIIHH4sI", b"RIFF", 36 + len(pcm16), b"WAVE", b"fmt ", 16, PCM, 1, rate,
                         rate * 2, 2, 16, b"data", len(pcm16))
    return header + pcm16


@cache
def _mulaw_table() -> np.ndarray:
    u = ~np.arange(256, dtype=np.int32) & 0xFF           # G.711: bits are stored inverted
    t = (((u & 0x0F) << 3) + 0x84) << ((u & 0x70) >> 4)
    return np.where(u & 0x80, 0x84 - t, t - 0x84).astype(np.int16)


@cache
def _alaw_table() -> np.ndarray:
    a = np.arange(256, dtype=np.int32) ^ 0x55
    seg = (a & 0x70) >> 4
    t = (a & 0x0F) << 4
    t = np.where(seg == 0, t + 8, t + 0x108)
    t = np.where(seg > 1, t << np.maximum(seg - 1, 0), t)
    return np.where(a & 0x80, t, -t).astype(np.int16)
