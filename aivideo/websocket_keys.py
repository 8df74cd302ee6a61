"""Open websockets whose API key stopped working are closed by one sweep (SPEC Access).

A revoked key must stop working within 10 seconds, open websockets included. One task per
process re-checks the keys of every open websocket, all in one look-up, every half recheck
period, and closes the sockets whose key no longer works: a task and a timer per socket cost
more memory and wake-ups than one sweep, and a thousand sockets of one key ask once.
"""

from __future__ import annotations

import asyncio
import logging
from contextlib import suppress
from typing import Protocol

from starlette.websockets import WebSocket, WebSocketState

from aivideo.access import AccessCache, auth_required
from aivideo.schema.context import Context

log = logging.getLogger(__name__)

REVOKED_CLOSE_CODE = 4403
REVOKED_REASON = "the API key of this connection was revoked; reconnect with a live key"


class KeyedSocket(Protocol):
    """An acknowledged websocket connection: its context says who it authenticated as."""

    context: Context


async def key_still_works(context: Context, access: AccessCache) -> bool:
    """Whether the connection's key still works (as of its cached look-up); without one:
    whether the server is still open."""
    runtime, key = context.runtime, context.caller.api_key
    if key is None:
        return not await auth_required(runtime, access)
    return await access.owner_of(runtime, key) is not None


async def close_revoked(context: Context) -> None:
    """Close the connection with 4403, unless the client closed it meanwhile."""
    websocket = context.request
    if isinstance(websocket, WebSocket) and websocket.client_state == WebSocketState.CONNECTED:
        with suppress(RuntimeError):  # closed by the client between the check and now
            await websocket.close(code=REVOKED_CLOSE_CODE, reason=REVOKED_REASON)


class KeySweep:
    """The open, acknowledged websockets of one app, and the task that re-checks their keys.

    The task runs while any socket is registered and ends with the last one.
    """

    def __init__(self, access: AccessCache) -> None:
        self.access = access
        self.sockets: set[KeyedSocket] = set()
        self.task: asyncio.Task[None] | None = None

    def add(self, socket: KeyedSocket) -> None:
        self.sockets.add(socket)
        if self.task is None or self.task.done():
            self.task = asyncio.create_task(self._run(socket.context))

    def discard(self, socket: KeyedSocket) -> None:
        self.sockets.discard(socket)

    async def _run(self, first: Context) -> None:
        # Half the period, each sweep looking keys up afresh: a revocation closes its
        # sockets well within the period (at most 10 s, SPEC), look-up time included.
        period = first.runtime.settings.api_key_recheck_seconds / 2
        while self.sockets:
            await asyncio.sleep(period)
            try:
                await self.sweep()
            except Exception as exc:  # a database blip must not end the watch
                log.warning("websocket key re-check failed (trying again): %s", exc)

    async def sweep(self) -> None:
        """Look every open socket's key up afresh (one query), close those that stopped working."""
        sockets = list(self.sockets)
        if not sockets:
            return
        runtime = sockets[0].context.runtime
        keys = {key for s in sockets if (key := s.context.caller.api_key) is not None}
        await self.access.refresh(runtime, keys)
        for socket in sockets:
            if not await key_still_works(socket.context, self.access):
                self.sockets.discard(socket)
                await close_revoked(socket.context)
