"""A small GraphQL websocket client speaking both subscription protocols."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import websockets
from websockets.typing import Subprotocol

TRANSPORT_WS = Subprotocol("graphql-transport-ws")
LEGACY_WS = Subprotocol("graphql-ws")


class Subscription:
    """One subscription on its own connection; `next()` returns each event's payload."""

    def __init__(
        self,
        url: str,
        protocol: str,
        query: str,
        variables: dict[str, Any],
        init_payload: dict[str, Any] | None = None,
    ) -> None:
        self.url, self.protocol, self.query, self.variables = url, protocol, query, variables
        self.init_payload = init_payload or {}
        self.connection: Any = None

    async def __aenter__(self) -> Subscription:
        self.connection = await websockets.connect(
            self.url, subprotocols=[Subprotocol(self.protocol)]
        )
        await self._send({"type": "connection_init", "payload": self.init_payload})
        ack = await self._receive()
        assert ack["type"] == "connection_ack", ack
        start = "subscribe" if self.protocol == TRANSPORT_WS else "start"
        await self._send(
            {
                "id": "1",
                "type": start,
                "payload": {"query": self.query, "variables": self.variables},
            }
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.connection.close()

    async def _send(self, message: dict[str, Any]) -> None:
        await self.connection.send(json.dumps(message))

    async def _receive(self, seconds: float = 60) -> dict[str, Any]:
        while True:
            message = json.loads(await asyncio.wait_for(self.connection.recv(), seconds))
            if message["type"] not in ("ping", "pong", "ka"):
                return message

    async def next(self, seconds: float = 60) -> dict[str, Any]:
        """The next result payload ({"data": …} or {"errors": …})."""
        message = await self._receive(seconds)
        if message["type"] in ("next", "data"):
            return message["payload"]
        if message["type"] == "error":
            payload = message["payload"]
            return {"errors": payload if isinstance(payload, list) else [payload]}
        raise AssertionError(f"unexpected message {message}")

    async def nothing_within(self, seconds: float) -> bool:
        try:
            message = await asyncio.wait_for(self.connection.recv(), seconds)
        except TimeoutError:
            return True
        raise AssertionError(f"unexpected message {message}")
