"""Who is calling: API keys over HTTP and websockets, and when a key is required (SPEC Access)."""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import math
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass, field
from typing import Any, cast

from aivideo.domain.api_keys import any_key_exists, hash_key, owner_of_key, owners_of_hashes
from aivideo.errors import Unauthenticated
from aivideo.runtime import Runtime

LOCAL_OWNER = "local"
INVALID_KEY = "this API key is not valid"
# Keys looked up per statement by a refresh: far below any database's parameter limit.
REFRESH_BATCH = 500
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


@functools.lru_cache(maxsize=64)  # asked on every request and websocket, of one or two hosts
def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a name other than localhost may resolve anywhere


async def auth_required(runtime: Runtime, access: AccessCache | None = None) -> bool:
    """Required when asked for, when listening beyond loopback, or once any key exists."""
    config = runtime.settings
    if config.auth == "required" or not is_loopback(config.host):
        return True
    if access is not None:
        return await access.keys_exist(runtime)
    async with runtime.sessions() as session:
        return await any_key_exists(session)


async def identify(
    runtime: Runtime, authorization: str | None, access: AccessCache | None = None
) -> Caller:
    """The caller for an `Authorization` value (header, or websocket connection_init)."""
    if authorization:
        scheme, _, key = authorization.partition(" ")
        if scheme.lower() != "bearer" or not key.strip():
            return Caller.refused(f"Authorization must be 'Bearer <key>': {HOW_TO}")
        key = key.strip()
        if access is not None:
            owner = await access.owner_of(runtime, key)
        else:
            async with runtime.sessions() as session:
                owner = await owner_of_key(session, key)
        return Caller(owner, api_key=key) if owner else Caller.refused(INVALID_KEY)
    if await auth_required(runtime, access):
        return Caller.refused(f"an API key is required: {HOW_TO}")
    return Caller(LOCAL_OWNER)


class AccessCache:
    """The key table's answers, trusted briefly so that requests do not each ask the database.

    A key's owner (or that it has none) is trusted for `ttl` seconds: a revocation, by any
    process, reaches every request within `ttl` (at most 10 s, SPEC); open websockets are
    re-checked with `refresh` (aivideo.websocket_keys). While no key exists, that is trusted
    for `open_ttl` seconds, so a first key closes an open server within that; keys are never
    deleted, so once one exists keys stay required. At most `size` keys are remembered, so
    made-up keys cannot grow memory. Concurrent misses of one answer share one look-up, so a
    burst of connections asks the database once, not once each; an expired "no key exists"
    stands while its next look-up is on its way.
    """

    def __init__(self, ttl: float, *, open_ttl: float = 1.0, size: int = 10_000) -> None:
        self.ttl, self.open_ttl, self.size = ttl, open_ttl, size
        self._looked_up: OrderedDict[str, tuple[str | None, float]] = OrderedDict()
        self._keys_exist = False
        self._checked_at = -math.inf
        self._in_flight: dict[str, asyncio.Future[Any]] = {}

    async def keys_exist(self, runtime: Runtime) -> bool:
        if self._keys_exist or time.monotonic() - self._checked_at < self.open_ttl:
            return self._keys_exist
        looking = self._start("keys exist", lambda: self._look_up_keys_exist(runtime))
        if self._checked_at == -math.inf:
            return cast(bool, await asyncio.shield(looking))
        # The last answer stands while the next is on its way: a burst of connections waits
        # for no look-up, and a first key still closes the server one look-up after open_ttl.
        return self._keys_exist

    async def owner_of(self, runtime: Runtime, key: str) -> str | None:
        """The key's owner while it is live, else None."""
        digest = hash_key(key)
        cached = self._looked_up.get(digest)
        if cached is not None and time.monotonic() - cached[1] < self.ttl:
            self._looked_up.move_to_end(digest)
            return cached[0]
        looking = self._start(digest, lambda: self._look_up_owner(runtime, key, digest))
        # Shielded: one caller's cancellation must not cancel the others' answer.
        return cast(str | None, await asyncio.shield(looking))

    async def refresh(self, runtime: Runtime, keys: Collection[str]) -> None:
        """Look `keys` up afresh, in as few statements as their number allows."""
        digests, now = sorted({hash_key(key) for key in keys}), time.monotonic()
        async with runtime.sessions() as session:
            for start in range(0, len(digests), REFRESH_BATCH):
                batch = digests[start : start + REFRESH_BATCH]
                owners = await owners_of_hashes(session, batch)
                for digest in batch:
                    self._remember(digest, owners.get(digest), now)

    def _start(self, name: str, look_up: Callable[[], Awaitable[object]]) -> asyncio.Future[Any]:
        """The look-up of `name` on its way: started now, or the one that already is."""
        task = self._in_flight.get(name)
        if task is None:
            task = self._in_flight[name] = asyncio.ensure_future(look_up())
            task.add_done_callback(lambda done: self._finished(name, done))
        return task

    def _finished(self, name: str, task: asyncio.Future[Any]) -> None:
        del self._in_flight[name]
        if not task.cancelled():
            task.exception()  # retrieved: an unawaited background look-up may fail quietly

    async def _look_up_keys_exist(self, runtime: Runtime) -> bool:
        now = time.monotonic()
        async with runtime.sessions() as session:
            self._keys_exist = await any_key_exists(session)
        self._checked_at = now
        return self._keys_exist

    async def _look_up_owner(self, runtime: Runtime, key: str, digest: str) -> str | None:
        now = time.monotonic()
        async with runtime.sessions() as session:
            owner = await owner_of_key(session, key)
        self._remember(digest, owner, now)
        return owner

    def _remember(self, digest: str, owner: str | None, at: float) -> None:
        self._looked_up[digest] = (owner, at)
        self._looked_up.move_to_end(digest)
        while len(self._looked_up) > self.size:
            self._looked_up.popitem(last=False)
