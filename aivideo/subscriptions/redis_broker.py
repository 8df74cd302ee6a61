"""Redis pub/sub event broker: one subscriber connection per process, fanned out in memory.

How a subscription becomes live without a gap: entering `subscribe()` registers the
local queue, then writes ``SUBSCRIBE <channel>`` (only for the channel's first local
subscriber) and ``PING <token>`` on the process's single pub/sub connection in one
write. Redis answers a connection's commands in order, so when the reader task sees
the pong for that token the channel is subscribed, and anything published from then
on reaches the queue. If the connection drops first, the reconnect re-subscribes every
channel and confirms all waiting subscribers with a fresh PING of its own.

All SUBSCRIBE/UNSUBSCRIBE decisions are made and written under one lock, in the order
local subscribers come and go, so the Redis state always converges to "subscribed
exactly to the channels with a local subscriber", however subscribe and unsubscribe
calls race.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import math
from collections.abc import AsyncIterator, Iterable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.client import PubSub
from redis.asyncio.connection import AbstractConnection
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialWithJitterBackoff, NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from aivideo.subscriptions.broker_base import Event, EventBroker
from aivideo.subscriptions.fanout import DEFAULT_MAX_QUEUED, FanOut, Subscription

logger = logging.getLogger(__name__)

Command = tuple[str | bytes, ...]

# OSError covers the builtin TimeoutError raised by our own asyncio.timeout() blocks.
_LINK_ERRORS = (RedisConnectionError, RedisTimeoutError, OSError)
# Bound on a publish, a subscription write, and one reconnect attempt (incl. handshake).
_IO_TIMEOUT = 5.0
# With a socket_timeout, redis-py writes through asyncio.wait_for(), which on Python
# 3.11 can swallow a cancellation (CPython gh-86296), so our clients set none and bound
# each operation with asyncio.timeout() instead.
_CLIENT_OPTIONS: dict[str, Any] = {"socket_timeout": None}


class RedisBroker(EventBroker):
    """Cross-process event broker over Redis pub/sub.

    Publishing uses an ordinary pooled client. Receiving uses ONE pub/sub connection
    for the whole process, read by a single task that fans messages out to local
    subscribers' bounded queues; channels are SUBSCRIBEd on Redis while they have at
    least one local subscriber.
    """

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "aivideo:",
        client_name: str = "aivideo-events",
        max_queued: int = DEFAULT_MAX_QUEUED,
    ) -> None:
        """Configure the broker; nothing connects until `start()`.

        `prefix` namespaces channel names on Redis, `client_name` is set on the pub/sub
        connection (visible in CLIENT LIST), and a subscriber is dropped once it has
        `max_queued` unread events.
        """
        self._url = url
        self._prefix = prefix
        self._client_name = client_name
        self._fanout = FanOut(max_queued)
        self._publisher: Redis = Redis.from_url(url, **_CLIENT_OPTIONS)
        self._subscriber_client: Redis | None = None
        self._pubsub: PubSub | None = None
        self._connection: AbstractConnection | None = None
        self._reader: asyncio.Task[None] | None = None
        # Serialises subscription decisions together with their writes (see module doc).
        self._lock = asyncio.Lock()
        # Channels we have asked Redis to subscribe on the current connection.
        self._redis_channels: set[str] = set()
        # PING token -> subscribers waiting for it, i.e. for their channel to be live.
        self._barriers: dict[bytes, list[asyncio.Future[None]]] = {}
        self._tokens = itertools.count(1)
        # False while the connection is down or mid-handshake: writes then wait for the
        # reconnect, which re-sends the whole subscription state.
        self._ready = False
        self._ended = False
        # redis-py's Retry drives reconnection: exponential backoff with jitter, forever.
        # It retries redis-py's ConnectionError and TimeoutError.
        self._reconnect_retry = Retry(ExponentialWithJitterBackoff(cap=2.0, base=0.1), -1)

    async def start(self) -> None:
        """Open the pub/sub connection and start the reader task; fails fast if unreachable."""
        if self._pubsub is not None or self._ended:
            return
        # RESP2 keeps pub/sub replies plain arrays for the reader. The connection's own
        # retry is off so that only the reader task ever reconnects it.
        client = Redis.from_url(
            self._url,
            client_name=self._client_name,
            protocol=2,
            retry=Retry(NoBackoff(), 0),
            socket_keepalive=True,
            **_CLIENT_OPTIONS,
        )
        pubsub = client.pubsub()
        try:
            async with asyncio.timeout(_IO_TIMEOUT):
                await pubsub.connect()
        except BaseException:
            await pubsub.aclose()
            await client.aclose()
            raise
        connection = pubsub.connection
        assert connection is not None
        connection.register_connect_callback(self._on_reconnect)
        self._subscriber_client, self._pubsub, self._connection = client, pubsub, connection
        self._ready = True
        self._reader = asyncio.create_task(self._run_reader(), name="aivideo-redis-events")

    async def close(self) -> None:
        """End every open subscription and close both Redis clients."""
        self._end_subscriptions()
        reader, self._reader = self._reader, None
        if reader is not None:
            reader.cancel()
            # wait() rather than await: the reader's own CancelledError is expected and
            # must not be confused with (or swallow) a cancellation of close() itself.
            await asyncio.wait([reader])
        pubsub, self._pubsub = self._pubsub, None
        if pubsub is not None:
            async with self._lock:
                if self._connection is not None:
                    self._connection.deregister_connect_callback(self._on_reconnect)
                await pubsub.aclose()
        client, self._subscriber_client = self._subscriber_client, None
        if client is not None:
            await client.aclose()
        await self._publisher.aclose()

    async def publish(self, channel: str, event: Event) -> None:
        """JSON-encode `event` and publish it to every process subscribed to `channel`."""
        payload = json.dumps(event, separators=(",", ":"))
        async with asyncio.timeout(_IO_TIMEOUT):
            await self._publisher.publish(self._key(channel), payload)

    def subscribe(self, channel: str) -> AbstractAsyncContextManager[AsyncIterator[Event]]:
        """Subscribe to `channel`; entering waits until Redis has confirmed it is live.

        While Redis is unreachable, entering waits for the reconnect (cancel to give up).
        """
        return self._subscription(channel)

    @asynccontextmanager
    async def _subscription(self, channel: str) -> AsyncIterator[Subscription]:
        """Register a local queue, make sure Redis delivers the channel, clean up on exit."""
        if self._connection is None and not self._ended:
            raise RuntimeError("RedisBroker.start() must be awaited before subscribe()")
        subscription = self._fanout.add(channel)
        try:
            # Shielded so a cancellation cannot split a decision from its write.
            waiter = await asyncio.shield(self._apply(channel, confirm=True))
            if waiter is not None:
                await waiter
            yield subscription
        finally:
            self._fanout.remove(subscription)
            await asyncio.shield(self._apply(channel))

    async def _apply(self, channel: str, *, confirm: bool = False) -> asyncio.Future[None] | None:
        """Bring Redis in line with the local subscribers of `channel`.

        With `confirm`, also return a future that completes once Redis has processed
        everything written so far, i.e. once the channel is live.
        """
        async with self._lock:
            waiter = asyncio.get_running_loop().create_future() if confirm else None
            if self._ended:
                # Nothing will ever confirm it; the subscription itself is already ended.
                if waiter is not None:
                    waiter.set_result(None)
                return waiter
            commands = self._reconcile(channel)
            if waiter is not None:
                commands.append(("PING", self._add_barrier([waiter])))
            await self._send(commands)
            return waiter

    def _reconcile(self, channel: str) -> list[Command]:
        """Return the SUBSCRIBE/UNSUBSCRIBE (if any) that `channel` needs, and record it."""
        wanted = self._fanout.count(channel) > 0
        if wanted and channel not in self._redis_channels:
            self._redis_channels.add(channel)
            return [("SUBSCRIBE", self._key(channel))]
        if not wanted and channel in self._redis_channels:
            self._redis_channels.discard(channel)
            return [("UNSUBSCRIBE", self._key(channel))]
        return []

    async def _send(self, commands: list[Command]) -> None:
        """Write `commands` in one go, or leave them to the reconnect if the link is down."""
        connection = self._connection
        if not commands or not self._ready or connection is None or not connection.is_connected:
            return
        try:
            async with asyncio.timeout(_IO_TIMEOUT):
                packed = connection.pack_commands(commands)
                await connection.send_packed_command(packed, check_health=False)
        except _LINK_ERRORS as exc:
            # The reader hits the same broken link and reconnects; re-subscribing then
            # covers these commands and confirms any waiter they carried.
            self._ready = False
            logger.debug("Redis pub/sub write failed (%s); deferring to reconnect", exc)

    def _add_barrier(self, waiters: list[asyncio.Future[None]]) -> bytes:
        """Allocate a PING token whose pong will release `waiters`."""
        token = b"aivideo-barrier-%d" % next(self._tokens)
        self._barriers[token] = waiters
        return token

    async def _on_reconnect(self, connection: AbstractConnection) -> None:
        """Re-subscribe every channel with local subscribers on a freshly opened connection."""
        async with self._lock:
            channels = self._fanout.channels()
            self._redis_channels = set(channels)
            commands: list[Command] = []
            if channels:
                commands.append(("SUBSCRIBE", *(self._key(channel) for channel in channels)))
            # Pongs for PINGs written on the dead connection will never come: this
            # connection's own PING confirms those subscribers instead.
            waiters = _flatten(self._barriers.values())
            self._barriers.clear()
            if waiters:
                commands.append(("PING", self._add_barrier(waiters)))
            if commands:
                await connection.send_packed_command(
                    connection.pack_commands(commands), check_health=False
                )
            self._ready = True
        logger.info("Redis pub/sub reconnected; re-subscribed %d channel(s)", len(channels))

    async def _run_reader(self) -> None:
        """Read and dispatch pub/sub replies for the broker's lifetime, reconnecting as needed."""
        try:
            while True:
                # One outage per pass, so the backoff starts small again after each recovery.
                await self._reconnect_retry.call_with_retry(self._reconnect, self._reconnect_failed)
                await self._read_until_lost()
        except Exception:
            # Not a link problem (those are retried forever): end subscriptions rather
            # than leave their consumers waiting for events that can no longer arrive.
            logger.exception("Redis pub/sub reader failed; ending all subscriptions")
            self._end_subscriptions()

    async def _reconnect(self) -> None:
        """Reconnect if needed; the connection then calls `_on_reconnect` to re-subscribe."""
        connection = self._connection
        assert connection is not None
        if connection.is_connected:
            return
        try:
            async with asyncio.timeout(_IO_TIMEOUT):
                await connection.connect()
        except TimeoutError as exc:  # the builtin one, from asyncio.timeout()
            raise RedisTimeoutError("Timed out reconnecting to Redis") from exc

    async def _reconnect_failed(self, error: Exception) -> None:
        """Reset after a failed reconnection attempt (the Retry then backs off)."""
        logger.info("Redis pub/sub reconnect failed (%s); retrying", error)
        # A handshake or re-subscribe cut short can leave the socket open: it must not
        # pass for a usable connection on the next attempt.
        assert self._connection is not None
        await self._connection.disconnect(nowait=True)

    async def _read_until_lost(self) -> None:
        """Dispatch replies until the connection fails, then return to reconnect."""
        connection = self._connection
        assert connection is not None
        while True:
            try:
                response = await connection.read_response(timeout=math.inf, push_request=True)
            except Exception as exc:
                # Whatever went wrong, the link's state is unknown: rebuild it from scratch.
                self._ready = False
                logger.warning("Redis pub/sub connection lost (%s); reconnecting", exc)
                await connection.disconnect(nowait=True)
                return
            await self._dispatch(response)

    async def _dispatch(self, response: Any) -> None:
        """Route one pub/sub reply: messages to subscribers, pongs to waiting subscribers."""
        assert self._pubsub is not None
        message = await self._pubsub.handle_message(response)
        if message is None:
            return
        if message["type"] == "message":
            self._deliver(message["channel"], message["data"])
        elif message["type"] == "pong":
            self._release(message["data"])

    def _deliver(self, raw_channel: bytes, data: bytes) -> None:
        """Decode a published event and hand it to the channel's local subscribers."""
        name = raw_channel.decode()
        if not name.startswith(self._prefix):
            return
        try:
            event = json.loads(data)
        except ValueError:
            logger.warning("Ignoring non-JSON message on Redis channel %r", name)
            return
        if not isinstance(event, dict):
            logger.warning("Ignoring non-object event on Redis channel %r", name)
            return
        self._fanout.deliver(name[len(self._prefix) :], event)

    def _release(self, token: bytes) -> None:
        """Complete the waiters of the barrier `token` (unknown tokens are stale: ignore)."""
        for waiter in self._barriers.pop(token, ()):
            if not waiter.done():
                waiter.set_result(None)

    def _end_subscriptions(self) -> None:
        """End every local subscription and release anyone still waiting to enter."""
        self._ended = True
        self._ready = False
        for waiter in _flatten(self._barriers.values()):
            if not waiter.done():
                waiter.set_result(None)
        self._barriers.clear()
        self._fanout.close()

    def _key(self, channel: str) -> str:
        """The Redis channel name for local `channel`."""
        return self._prefix + channel


def _flatten(batches: Iterable[list[asyncio.Future[None]]]) -> list[asyncio.Future[None]]:
    """Concatenate lists of waiters."""
    return [waiter for batch in batches for waiter in batch]
