"""Signed media URLs: a browser's <img>/<video> cannot send an API key, so the URL carries
the owner it was issued to, an expiry and an HMAC over both and the file's hash."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import secrets
import time
from pathlib import Path

LIFETIME_SECONDS = 24 * 3600


def _signature(secret: bytes, owner: str, sha256: str, expires: int) -> str:
    message = f"{owner}\n{sha256}\n{expires}".encode()
    return hmac.new(secret, message, hashlib.sha256).hexdigest()[:32]


def sign(secret: bytes, *, owner: str, sha256: str, now: float | None = None) -> str:
    """A token for `owner` to fetch the file `sha256` for the next day."""
    expires = int((now or time.time()) + LIFETIME_SECONDS)
    who = base64.urlsafe_b64encode(owner.encode()).decode().rstrip("=")
    return f"{who}.{expires}.{_signature(secret, owner, sha256, expires)}"


def verify(secret: bytes, token: str, *, sha256: str, now: float | None = None) -> str | None:
    """The owner the token was issued to, when it is genuine, unexpired and for this file."""
    try:
        who, expires_text, signature = token.split(".")
        owner = base64.urlsafe_b64decode(who + "=" * (-len(who) % 4)).decode()
        expires = int(expires_text)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        return None
    if expires < (now or time.time()):
        return None
    expected = _signature(secret, owner, sha256, expires)
    return owner if hmac.compare_digest(expected, signature) else None


def load_secret(configured: str, data_dir: Path) -> bytes:
    """The configured secret, else one kept in the data directory (shared by its processes)."""
    if configured:
        return configured.encode()
    path = data_dir / "media-secret"
    if not path.exists():
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        try:
            # Owner-only from the first byte; another process creating it meanwhile wins.
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(descriptor, "w") as file:
                file.write(secrets.token_hex(32))
    return path.read_text().strip().encode()
