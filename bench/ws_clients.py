"""Many graphql-transport-ws clients from one process, for the subscription benchmarks."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from typing import Any

import websockets


@dataclass
class Subscriber:
    """One websocket with one subscription; the arrival times of its `next` messages."""

    url: str
    query: str
    variables: dict[str, Any]
    arrivals: list[tuple[float, dict[str, Any]]] = field(default_factory=list)
    socket: Any = None
    reader: asyncio.Task[None] | None = None
    expect_first: bool = True  # the subscription answers at once (videoStatus does)

    async def start(self) -> None:
        """Connect, initialise, subscribe, and wait for the first event (the subscription is
        then live on the server)."""
        self.socket = await websockets.connect(
            self.url,
            subprotocols=["graphql-transport-ws"],  # type: ignore[list-item]
            max_size=None,
            open_timeout=120,
            ping_interval=None,
        )
        await self.socket.send(json.dumps({"type": "connection_init", "payload": {}}))
        assert json.loads(await self.socket.recv())["type"] == "connection_ack"
        await self.socket.send(
            json.dumps(
                {
                    "id": "1",
                    "type": "subscribe",
                    "payload": {"query": self.query, "variables": self.variables},
                }
            )
        )
        if self.expect_first:
            first = json.loads(await self.socket.recv())
            assert first["type"] == "next", first
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for raw in self.socket:
            message = json.loads(raw)
            if message["type"] == "next":
                self.arrivals.append((time.perf_counter(), message["payload"]))

    async def close(self) -> None:
        if self.reader is not None:
            self.reader.cancel()
        if self.socket is not None:
            await self.socket.close()


async def start_all(subscribers: list[Subscriber], at_once: int = 200) -> float:
    """Start every subscriber, `at_once` connecting at a time; the seconds it took."""
    slots = asyncio.Semaphore(at_once)

    async def start(subscriber: Subscriber) -> None:
        async with slots:
            await subscriber.start()

    started = time.perf_counter()
    await asyncio.gather(*(start(s) for s in subscribers))
    return time.perf_counter() - started
