"""Tests for the in-memory and Redis event brokers (shared behaviour runs against both)."""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack

import pytest
import redis
import redis.asyncio as aioredis
from redis.backoff import NoBackoff
from redis.retry import Retry

from aivideo.subscriptions import Event, EventBroker, InMemoryBroker, RedisBroker

REDIS_URL = os.environ.get("AIVIDEO_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
REQUIRE_SERVICES = os.environ.get("AIVIDEO_REQUIRE_SERVICES") == "1"
# Pub/sub channels and client names are server-wide (not per database), so every
# broker gets names unique to this run and test: parallel runs cannot collide.
RUN_ID = uuid.uuid4().hex[:10]
MAX_QUEUED = 8
TIMEOUT = 5.0

_serial = itertools.count(1)


def _names() -> tuple[str, str]:
    """A fresh (channel prefix, pub/sub client name) pair."""
    n = next(_serial)
    return f"aivideo-test:{RUN_ID}:{n}:", f"aivideo-test-{RUN_ID}-{n}"


def _event(i: int) -> Event:
    """A small JSON event with a nested payload."""
    return {"seq": i, "payload": {"tags": ["a", "b"], "ok": True, "ratio": 0.5}}


async def _take(events: AsyncIterator[Event], n: int) -> list[Event]:
    """Receive exactly `n` events, failing rather than hanging if they don't come."""
    async with asyncio.timeout(TIMEOUT):
        return [await anext(events) for _ in range(n)]


async def _drain(events: AsyncIterator[Event]) -> list[Event]:
    """Collect what is left until the iterator ends (bounded by the test timeout)."""
    async with asyncio.timeout(TIMEOUT):
        return [event async for event in events]


async def _eventually(check: Callable[[], Awaitable[bool]]) -> None:
    """Poll another client's view of Redis, which settles asynchronously, until `check`."""
    async with asyncio.timeout(TIMEOUT):
        while True:
            if await check():
                return
            await asyncio.sleep(0.01)


@pytest.fixture(scope="session")
def redis_url() -> str:
    """The test Redis URL; skips (or fails, with AIVIDEO_REQUIRE_SERVICES=1) if unreachable."""
    client = redis.Redis.from_url(
        REDIS_URL, socket_connect_timeout=1, socket_timeout=1, retry=Retry(NoBackoff(), 0)
    )
    try:
        client.ping()
    except redis.RedisError as exc:
        message = f"Redis not reachable at {REDIS_URL}: {exc}"
        if REQUIRE_SERVICES:
            pytest.fail(message)
        pytest.skip(message)
    finally:
        client.close()
    return REDIS_URL


@pytest.fixture
async def admin(redis_url: str) -> AsyncIterator[aioredis.Redis]:
    """A separate client for observing the server (PUBSUB NUMSUB, CLIENT LIST)."""
    client = aioredis.Redis.from_url(redis_url, decode_responses=True)
    yield client
    await client.aclose()


class RedisBrokers:
    """Creates started RedisBrokers with unique names and closes them after the test."""

    def __init__(self, url: str) -> None:
        """Remember the URL; brokers are made by `new()`."""
        self.url = url
        self.made: list[RedisBroker] = []
        self.names: dict[int, tuple[str, str]] = {}

    async def new(self) -> RedisBroker:
        """Start and return a broker as a separate process would own it."""
        prefix, client_name = _names()
        broker = RedisBroker(
            self.url, prefix=prefix, client_name=client_name, max_queued=MAX_QUEUED
        )
        await broker.start()
        self.made.append(broker)
        self.names[id(broker)] = (prefix, client_name)
        return broker

    def prefix(self, broker: RedisBroker) -> str:
        """The channel prefix `broker` was created with."""
        return self.names[id(broker)][0]

    def client_name(self, broker: RedisBroker) -> str:
        """The pub/sub client name `broker` was created with."""
        return self.names[id(broker)][1]

    async def close_all(self) -> None:
        """Close every broker made (closing twice is allowed)."""
        for broker in self.made:
            await broker.close()


@pytest.fixture
async def redis_brokers(redis_url: str) -> AsyncIterator[RedisBrokers]:
    """Factory for started RedisBrokers, each with its own prefix and client name."""
    brokers = RedisBrokers(redis_url)
    yield brokers
    await brokers.close_all()


@pytest.fixture(params=["memory", "redis"])
async def broker(request: pytest.FixtureRequest) -> AsyncIterator[EventBroker]:
    """Each broker implementation, started, with a small queue bound."""
    if request.param == "memory":
        memory = InMemoryBroker(max_queued=MAX_QUEUED)
        yield memory
        await memory.close()
        return
    # Not the async redis_brokers fixture: getfixturevalue() can't set those up here.
    brokers = RedisBrokers(request.getfixturevalue("redis_url"))
    yield await brokers.new()
    await brokers.close_all()


# --- Behaviour shared by both brokers -------------------------------------------------


async def test_subscribe_then_publish_delivers_in_order(broker: EventBroker) -> None:
    """Events published after entering arrive in publish order, decoded intact."""
    async with broker.subscribe("video:1") as events:
        for i in range(MAX_QUEUED):
            await broker.publish("video:1", _event(i))
        assert await _take(events, MAX_QUEUED) == [_event(i) for i in range(MAX_QUEUED)]


async def test_every_subscriber_of_a_channel_receives(broker: EventBroker) -> None:
    """Two subscribers on one channel both get every event."""
    async with broker.subscribe("video:2") as first, broker.subscribe("video:2") as second:
        await broker.publish("video:2", _event(1))
        await broker.publish("video:2", _event(2))
        assert await _take(first, 2) == [_event(1), _event(2)]
        assert await _take(second, 2) == [_event(1), _event(2)]


async def test_other_channels_are_not_received(broker: EventBroker) -> None:
    """A subscriber sees only its channel (the other event would have arrived first)."""
    async with broker.subscribe("video:a") as events:
        await broker.publish("video:b", _event(0))
        await broker.publish("video:a", _event(1))
        assert await _take(events, 1) == [_event(1)]


async def test_exiting_the_context_stops_delivery(broker: EventBroker) -> None:
    """After exit the iterator ends and gets nothing, while others keep receiving."""
    async with broker.subscribe("video:3") as staying:
        async with broker.subscribe("video:3") as leaving:
            pass
        await broker.publish("video:3", _event(1))
        # `staying` got it, so `leaving` would have too had it still been registered.
        assert await _take(staying, 1) == [_event(1)]
        assert await _drain(leaving) == []


async def test_close_ends_iteration(broker: EventBroker) -> None:
    """close() ends every open subscription's iteration, including blocked consumers."""
    async with broker.subscribe("video:4") as one, broker.subscribe("video:5") as two:
        await broker.publish("video:4", _event(1))
        assert await _take(one, 1) == [_event(1)]
        consumers = [asyncio.create_task(_drain(it)) for it in (one, two)]
        await broker.close()
        assert await asyncio.gather(*consumers) == [[], []]
    async with broker.subscribe("video:4") as late:
        assert await _drain(late) == []


async def test_slow_subscriber_is_dropped_while_others_continue(
    broker: EventBroker, caplog: pytest.LogCaptureFixture
) -> None:
    """A subscriber MAX_QUEUED events behind is ended; a keeping-up one gets everything."""
    caplog.set_level(logging.WARNING, logger="aivideo.subscriptions.fanout")
    async with broker.subscribe("video:6") as slow, broker.subscribe("video:6") as fast:
        for i in range(MAX_QUEUED + 3):
            await broker.publish("video:6", _event(i))
            assert await _take(fast, 1) == [_event(i)]
        assert await _drain(slow) == []
        await broker.publish("video:6", _event(99))
        assert await _take(fast, 1) == [_event(99)]
    assert "Dropping slow subscriber" in caplog.text


async def test_subscription_is_live_on_entry(broker: EventBroker) -> None:
    """No gap: every event whose publish starts after entering is received, in order.

    A publisher runs flat out while subscribers come and go. Reading `started` after
    entering stands in for the database replay: a caller has everything up to it.
    """
    started = -1

    async def publish_forever() -> None:
        nonlocal started
        for seq in itertools.count():
            started = seq
            await broker.publish("video:live", {"seq": seq})
            await asyncio.sleep(0)  # the in-memory publish never yields on its own

    publisher = asyncio.create_task(publish_forever())
    try:
        for _ in range(10):
            async with broker.subscribe("video:live") as events:
                replayed_up_to = started
                received = [event["seq"] async for event in _until(events, replayed_up_to + 3)]
            # Events from before entry may or may not arrive; every later one must.
            live = [seq for seq in received if seq > replayed_up_to]
            assert live == list(range(replayed_up_to + 1, replayed_up_to + 4))
    finally:
        publisher.cancel()
        await asyncio.wait([publisher])


async def _until(events: AsyncIterator[Event], last_seq: int) -> AsyncIterator[Event]:
    """Yield events up to and including the one with `last_seq` (within the timeout)."""
    async with asyncio.timeout(TIMEOUT):
        async for event in events:
            yield event
            if event["seq"] >= last_seq:
                return


async def test_non_json_event_is_rejected(broker: EventBroker) -> None:
    """Both brokers refuse events that could not cross a process boundary."""
    with pytest.raises(TypeError):
        await broker.publish("video:7", {"when": object()})


# --- Redis-specific behaviour ----------------------------------------------------------


async def _numsub(admin: aioredis.Redis, channel: str) -> int:
    """How many connections Redis has subscribed to `channel`."""
    [(_, count)] = await admin.pubsub_numsub(channel)
    return int(count)


async def _pubsub_clients(admin: aioredis.Redis, name: str) -> list[dict[str, str]]:
    """CLIENT LIST entries named `name` that are subscribed to at least one channel."""
    clients = await admin.client_list()
    return [c for c in clients if c.get("name") == name and int(c.get("sub", 0)) > 0]


async def test_two_brokers_see_each_others_events(redis_brokers: RedisBrokers) -> None:
    """Two processes' brokers sharing a prefix exchange events through Redis."""
    first = await redis_brokers.new()
    second = RedisBroker(redis_brokers.url, prefix=redis_brokers.prefix(first))
    await second.start()
    redis_brokers.made.append(second)
    async with first.subscribe("video:x") as on_first, second.subscribe("video:x") as on_second:
        await first.publish("video:x", _event(1))
        await second.publish("video:x", _event(2))
        assert await _take(on_first, 2) == [_event(1), _event(2)]
        assert await _take(on_second, 2) == [_event(1), _event(2)]


async def test_local_subscribers_share_one_pubsub_connection(
    redis_brokers: RedisBrokers, admin: aioredis.Redis
) -> None:
    """Many local subscribers on several channels use exactly one Redis pub/sub connection."""
    broker = await redis_brokers.new()
    name = redis_brokers.client_name(broker)
    channels = ["video:1", "video:1", "video:2", "video:2", "video:3", "video:3"]
    async with AsyncExitStack() as stack:
        streams = [await stack.enter_async_context(broker.subscribe(c)) for c in channels]
        clients = await _pubsub_clients(admin, name)
        assert len(clients) == 1
        assert int(clients[0]["sub"]) == 3
        await broker.publish("video:2", _event(1))
        assert await _take(streams[2], 1) == await _take(streams[3], 1) == [_event(1)]


async def test_last_local_unsubscribe_unsubscribes_from_redis(
    redis_brokers: RedisBrokers, admin: aioredis.Redis
) -> None:
    """Redis keeps the channel while any local subscriber remains, and drops it after."""
    broker = await redis_brokers.new()
    key = redis_brokers.prefix(broker) + "video:9"
    async with broker.subscribe("video:9"):
        async with broker.subscribe("video:9"):
            assert await _numsub(admin, key) == 1
        # Nothing is sent to Redis for a non-last leaver, so this is not racy.
        assert await _numsub(admin, key) == 1

    async def unsubscribed() -> bool:
        return await _numsub(admin, key) == 0

    await _eventually(unsubscribed)


async def test_racing_subscribes_and_unsubscribes_stay_consistent(
    redis_brokers: RedisBrokers, admin: aioredis.Redis
) -> None:
    """Concurrent first subscribers, and a subscribe racing the last unsubscribe, work."""
    broker = await redis_brokers.new()
    key = redis_brokers.prefix(broker) + "video:r"
    async with AsyncExitStack() as stack:
        racers = await asyncio.gather(
            *(stack.enter_async_context(broker.subscribe("video:r")) for _ in range(2))
        )
        await broker.publish("video:r", _event(0))
        for events in racers:
            assert await _take(events, 1) == [_event(0)]
        assert await _numsub(admin, key) == 1

    for i in range(1, 21):
        leaving = broker.subscribe("video:r")
        await leaving.__aenter__()
        arriving = broker.subscribe("video:r")
        _, events = await asyncio.gather(leaving.__aexit__(None, None, None), arriving.__aenter__())
        await broker.publish("video:r", _event(i))
        assert await _take(events, 1) == [_event(i)]
        assert await _numsub(admin, key) == 1
        await arriving.__aexit__(None, None, None)


async def test_cancelled_consumer_unsubscribes(
    redis_brokers: RedisBrokers, admin: aioredis.Redis
) -> None:
    """Cancelling a consumer exits its context (cancellation propagates) and unsubscribes."""
    broker = await redis_brokers.new()
    key = redis_brokers.prefix(broker) + "video:c"
    entered = asyncio.Event()

    async def consume() -> None:
        async with broker.subscribe("video:c") as events:
            entered.set()
            async for _ in events:
                pass

    task = asyncio.create_task(consume())
    async with asyncio.timeout(TIMEOUT):
        await entered.wait()
    task.cancel()
    await asyncio.wait([task])
    assert task.cancelled()

    async def unsubscribed() -> bool:
        return await _numsub(admin, key) == 0

    await _eventually(unsubscribed)


async def test_reconnects_and_resubscribes_after_connection_loss(
    redis_brokers: RedisBrokers, admin: aioredis.Redis, caplog: pytest.LogCaptureFixture
) -> None:
    """When Redis drops the pub/sub connection, the broker reconnects and re-subscribes."""
    caplog.set_level(logging.INFO, logger="aivideo.subscriptions.redis_broker")
    broker = await redis_brokers.new()
    name = redis_brokers.client_name(broker)
    async with broker.subscribe("video:k") as events, broker.subscribe("video:l") as other:
        [before] = await _pubsub_clients(admin, name)
        await admin.client_kill_filter(_id=before["id"])

        async def resubscribed() -> bool:
            clients = await _pubsub_clients(admin, name)
            return [c["sub"] for c in clients if c["id"] != before["id"]] == ["2"]

        await _eventually(resubscribed)
        await broker.publish("video:k", _event(1))
        await broker.publish("video:l", _event(2))
        assert await _take(events, 1) == [_event(1)]
        assert await _take(other, 1) == [_event(2)]
        async with broker.subscribe("video:m") as fresh:
            await broker.publish("video:m", _event(3))
            assert await _take(fresh, 1) == [_event(3)]
    assert "reconnected; re-subscribed 2 channel(s)" in caplog.text


async def test_subscribe_before_start_is_an_error(redis_url: str) -> None:
    """Using subscribe() on a broker that was never started fails loudly."""
    broker = RedisBroker(redis_url, prefix=_names()[0])
    with pytest.raises(RuntimeError, match="start"):
        async with broker.subscribe("video:z"):
            pass
    await broker.close()
