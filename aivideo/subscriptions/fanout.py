"""In-process fan-out of events to bounded per-subscriber queues, shared by both brokers."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

from aivideo import metrics
from aivideo.subscriptions.broker_base import Event

logger = logging.getLogger(__name__)

DEFAULT_MAX_QUEUED = 1000


class Subscription(AsyncIterator[Event]):
    """One subscriber's bounded queue of events on one channel; iterate it to receive them.

    Events are shared between the subscribers of a channel: treat them as read-only. A list
    and one waiting future, not an asyncio.Queue: thousands of idle subscribers each hold
    one, and a queue's deques and locks were the larger part of it.
    """

    __slots__ = ("_ended", "_events", "_max_queued", "_waiter", "channel")

    def __init__(self, channel: str, max_queued: int) -> None:
        """Create an open subscription holding at most `max_queued` undelivered events."""
        self.channel = channel
        self._events: list[Event] = []
        self._max_queued = max_queued
        self._waiter: asyncio.Future[None] | None = None
        self._ended = False

    @property
    def ended(self) -> bool:
        """Whether iteration has been ended (unsubscribed, dropped or broker closed)."""
        return self._ended

    def offer(self, event: Event) -> bool:
        """Queue `event` without waiting; return False if the queue is full."""
        if len(self._events) >= self._max_queued:
            return False
        if not self._ended:
            self._events.append(event)
            self._wake()
        return True

    def end(self) -> None:
        """End iteration now, discarding anything still queued."""
        if self._ended:
            return
        self._ended = True
        self._events.clear()
        self._wake()

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    async def __anext__(self) -> Event:
        """Wait for the next event; raise StopAsyncIteration once the subscription has ended."""
        while not self._events:
            if self._ended:
                raise StopAsyncIteration
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None
        return self._events.pop(0)


class FanOut:
    """Routes each channel's events to the bounded queues of that channel's local subscribers.

    A subscriber stays registered until `remove()` (i.e. until its context exits), even
    after being dropped for falling behind, so `count()` is the number of open contexts:
    that is what decides whether the process still needs the channel upstream.
    """

    def __init__(self, max_queued: int = DEFAULT_MAX_QUEUED) -> None:
        """Create an empty fan-out whose subscribers buffer at most `max_queued` events."""
        if max_queued < 1:
            raise ValueError("max_queued must be at least 1")
        self._max_queued = max_queued
        self._subscribers: dict[str, set[Subscription]] = {}
        self._closed = False

    def add(self, channel: str) -> Subscription:
        """Register and return a new subscription (already ended if the fan-out is closed)."""
        subscription = Subscription(channel, self._max_queued)
        if self._closed:
            subscription.end()
        else:
            self._subscribers.setdefault(channel, set()).add(subscription)
        return subscription

    def remove(self, subscription: Subscription) -> None:
        """End and unregister `subscription`; removing it twice is harmless."""
        subscription.end()
        subscribers = self._subscribers.get(subscription.channel)
        if subscribers is None:
            return
        subscribers.discard(subscription)
        if not subscribers:
            del self._subscribers[subscription.channel]

    def count(self, channel: str) -> int:
        """Number of registered subscriptions on `channel`."""
        return len(self._subscribers.get(channel, ()))

    def channels(self) -> list[str]:
        """Channels that have at least one registered subscription."""
        return list(self._subscribers)

    def deliver(self, channel: str, event: Event) -> int:
        """Queue `event` for every live subscriber of `channel`; return how many got it.

        Never waits: a subscriber whose queue is full is dropped (its iteration ends)
        so one stalled client cannot grow memory without bound or hold up the others.
        """
        delivered = 0
        for subscription in self._subscribers.get(channel, ()):
            if subscription.ended:
                continue
            if subscription.offer(event):
                delivered += 1
            else:
                self._drop(subscription)
        metrics.events_delivered(delivered)
        return delivered

    def close(self) -> None:
        """End every subscription; later `add()` calls return ended subscriptions."""
        self._closed = True
        for subscribers in self._subscribers.values():
            for subscription in subscribers:
                subscription.end()
        self._subscribers.clear()

    def _drop(self, subscription: Subscription) -> None:
        """End a subscriber that fell `max_queued` events behind."""
        metrics.event_dropped()
        logger.warning(
            "Dropping slow subscriber on channel %r: %d events already queued",
            subscription.channel,
            self._max_queued,
        )
        subscription.end()
