"""Many graphql-transport-ws clients from one process, for the subscription benchmarks.

Each client is a bare asyncio protocol over websockets' sans-I/O client (handshake, frame
parsing, answering the server's keepalive pings), not a task per socket: thousands of
clients share the benchmark's two cores with the server, and an arrival is stamped when
its bytes reach the client's event loop, before anything else is done with them.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from typing import Any, cast
from urllib.parse import urlsplit

from websockets.client import ClientProtocol
from websockets.frames import Frame, Opcode
from websockets.http11 import Response
from websockets.typing import Subprotocol
from websockets.uri import parse_uri

PROTOCOL = Subprotocol("graphql-transport-ws")


class _Link(asyncio.Protocol):
    """One websocket: parses what arrives and hands each text message over with its time."""

    def __init__(self, url: str, on_message: Any) -> None:
        self.websocket = ClientProtocol(parse_uri(url), subprotocols=[PROTOCOL], max_size=None)
        self.on_message = on_message
        self.open: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is no subclass of it
        self.websocket.send_request(self.websocket.connect())
        self._flush()

    def data_received(self, data: bytes) -> None:
        arrived = time.perf_counter()  # first: the client's own work must not count
        self.websocket.receive_data(data)
        for event in self.websocket.events_received():
            if isinstance(event, Response):
                self._opened(event)
            elif isinstance(event, Frame) and event.opcode is Opcode.TEXT:
                assert event.fin, "the server does not fragment these small messages"
                self.on_message(arrived, json.loads(bytes(event.data)))
        self._flush()  # pongs to the server's keepalive pings, close frames

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.open.done():
            self.open.set_exception(exc or ConnectionError("closed during the handshake"))

    def send(self, message: dict[str, Any]) -> None:
        self.websocket.send_text(json.dumps(message).encode())
        self._flush()

    def close(self) -> None:
        if self.transport is None or self.transport.is_closing():
            return
        self.websocket.send_close()
        self._flush()
        self.transport.close()

    def _opened(self, response: Response) -> None:
        if self.websocket.handshake_exc is not None:
            self.open.set_exception(self.websocket.handshake_exc)
        elif response.headers.get("Sec-WebSocket-Protocol") != PROTOCOL:
            self.open.set_exception(ConnectionError(f"no {PROTOCOL} from the server"))
        else:
            self.open.set_result(None)

    def _flush(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(b"".join(self.websocket.data_to_send()))


@dataclass
class Subscriber:
    """One websocket with one subscription; the arrival times of its `next` messages."""

    url: str
    query: str
    variables: dict[str, Any]
    arrivals: list[tuple[float, dict[str, Any]]] = field(default_factory=list)
    expect_first: bool = True  # the subscription answers at once (videoStatus does)
    link: _Link | None = None
    _waiter: asyncio.Future[dict[str, Any]] | None = None

    async def start(self) -> None:
        """Connect, initialise, subscribe, and (with `expect_first`) wait for the first event:
        the subscription is then live on the server."""
        address = urlsplit(self.url)
        assert address.hostname is not None and address.port is not None
        link = self.link = _Link(self.url, self._received)
        await asyncio.get_running_loop().create_connection(
            lambda: link, address.hostname, address.port
        )
        await link.open
        ack = await self._exchange({"type": "connection_init", "payload": {}})
        assert ack["type"] == "connection_ack", ack
        subscribe = {"query": self.query, "variables": self.variables}
        if self.expect_first:
            first = await self._exchange({"id": "1", "type": "subscribe", "payload": subscribe})
            assert first["type"] == "next", first
        else:
            self.link.send({"id": "1", "type": "subscribe", "payload": subscribe})

    async def _exchange(self, message: dict[str, Any]) -> dict[str, Any]:
        assert self.link is not None
        self._waiter = asyncio.get_running_loop().create_future()
        self.link.send(message)
        try:
            return await self._waiter
        finally:
            self._waiter = None

    def _received(self, arrived: float, message: dict[str, Any]) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(message)
        elif message["type"] == "next":
            self.arrivals.append((arrived, message["payload"]))

    async def close(self) -> None:
        if self.link is not None:
            self.link.close()


async def start_all(subscribers: list[Subscriber], at_once: int = 200) -> float:
    """Start every subscriber, `at_once` connecting at a time; the seconds it took."""
    slots = asyncio.Semaphore(at_once)

    async def start(subscriber: Subscriber) -> None:
        async with slots:
            await subscriber.start()

    started = time.perf_counter()
    await asyncio.gather(*(start(s) for s in subscribers))
    return time.perf_counter() - started
