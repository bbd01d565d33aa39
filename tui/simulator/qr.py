"""The simulator's fake WhatsApp pairing payloads: QR objects and pairing codes.

Owns: building the `{"pairingCode", "code", "base64", "count"}` object of contract §3.1/§3.2
with a real PNG QR code (segno) of a fake `2@<ref>,<key>,<key>` payload, from a seeded RNG.
"""

from __future__ import annotations

import base64
import io
import random
import string

import segno

_B64_ALPHABET = string.ascii_letters + string.digits + "+/"
_PAIRING_ALPHABET = string.ascii_uppercase + string.digits


def _chunk(rng: random.Random, length: int) -> str:
    return "".join(rng.choice(_B64_ALPHABET) for _ in range(length))


def fake_payload(rng: random.Random) -> str:
    """A payload shaped like a WhatsApp-web QR string: `2@<ref>,<noise key>,<identity key>`."""
    return f"2@{_chunk(rng, 60)},{_chunk(rng, 43)}=,{_chunk(rng, 43)}="


def png_data_url(payload: str) -> str:
    """A real PNG of the QR code as a `data:image/png;base64,...` URL."""
    buffer = io.BytesIO()
    segno.make(payload, error="l").save(buffer, kind="png", scale=4, border=2)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def pairing_code(rng: random.Random) -> str:
    """An 8-character pairing code like WhatsApp's (`WZYEH1YY`)."""
    return "".join(rng.choice(_PAIRING_ALPHABET) for _ in range(8))


def qr_object(rng: random.Random, count: int, *, number: str | None = None) -> dict:
    """The QR object in v1.8 key order; `pairingCode` is null unless a number was given."""
    code = fake_payload(rng)
    return {
        "pairingCode": pairing_code(rng) if number else None,
        "code": code,
        "base64": png_data_url(code),
        "count": count,
    }
