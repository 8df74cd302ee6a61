"""Who is calling: API keys over HTTP and websockets, and when a key is required (SPEC Access)."""

from __future__ import annotations

import ipaddress
import time
from dataclasses import dataclass, field

from aivideo.domain.api_keys import any_key_exists, hash_key, owner_of_key
from aivideo.errors import Unauthenticated
from aivideo.runtime import Runtime

LOCAL_OWNER = "local"
INVALID_KEY = "this API key is not valid"
HOW_TO = (
    "send 'Authorization: Bearer <key>'; create a key with `aivideo create-api-key --owner NAME`"
)


@dataclass(frozen=True)
class Caller:
    """The owner a request acts for, or why it has none."""

    owner: str | None
    error: Unauthenticated | None = None
    # The key that authenticated it, for long-lived connections to re-check.
    api_key: str | None = field(default=None, repr=False)

    @classmethod
    def refused(cls, message: str) -> Caller:
        return cls(owner=None, error=Unauthenticated(message))


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a name other than localhost may resolve anywhere


async def auth_required(runtime: Runtime) -> bool:
    """Required when asked for, when listening beyond loopback, or once any key exists."""
    config = runtime.settings
    if config.auth == "required" or not is_loopback(config.host):
        return True
    async with runtime.sessions() as session:
        return await any_key_exists(session)


async def identify(runtime: Runtime, authorization: str | None) -> Caller:
    """The caller for an `Authorization` value (header, or websocket connection_init)."""
    if authorization:
        scheme, _, key = authorization.partition(" ")
        if scheme.lower() != "bearer" or not key.strip():
            return Caller.refused(f"Authorization must be 'Bearer <key>': {HOW_TO}")
        async with runtime.sessions() as session:
            owner = await owner_of_key(session, key.strip())
        return Caller(owner, api_key=key.strip()) if owner else Caller.refused(INVALID_KEY)
    if await auth_required(runtime):
        return Caller.refused(f"an API key is required: {HOW_TO}")
    return Caller(LOCAL_OWNER)


class ApiKeyCache:
    """Owners of API keys as last looked up, trusted for `ttl` seconds.

    Open websockets re-check their key through it on every operation and periodically, so a
    revocation (by any process) reaches them within `ttl` at one lookup per key, not per socket.
    """

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._looked_up: dict[str, tuple[str | None, float]] = {}

    async def owner_of(self, runtime: Runtime, key: str) -> str | None:
        """The key's owner while it is live, else None."""
        digest, now = hash_key(key), time.monotonic()
        cached = self._looked_up.get(digest)
        if cached is not None and now - cached[1] < self.ttl:
            return cached[0]
        async with runtime.sessions() as session:
            owner = await owner_of_key(session, key)
        self._looked_up[digest] = (owner, now)
        return owner
