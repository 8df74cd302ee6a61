"""In-process fan-out of events to bounded per-subscriber queues, shared by both brokers."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator

from aivideo import metrics
from aivideo.subscriptions.broker_base import Event

logger = logging.getLogger(__name__)

DEFAULT_MAX_QUEUED = 1000


class _Ended:
    """Sentinel type queued to wake a consumer blocked on a subscription that has ended."""


_ENDED = _Ended()


class Subscription(AsyncIterator[Event]):
    """One subscriber's bounded queue of events on one channel; iterate it to receive them.

    Events are shared between the subscribers of a channel: treat them as read-only.
    """

    def __init__(self, channel: str, max_queued: int) -> None:
        """Create an open subscription holding at most `max_queued` undelivered events."""
        self.channel = channel
        self._queue: asyncio.Queue[Event | _Ended] = asyncio.Queue(maxsize=max_queued)
        self._ended = False

    @property
    def ended(self) -> bool:
        """Whether iteration has been ended (unsubscribed, dropped or broker closed)."""
        return self._ended

    def offer(self, event: Event) -> bool:
        """Queue `event` without waiting; return False if the queue is full."""
        try:
            self._queue.put_nowait(event)
        except asyncio.QueueFull:
            return False
        return True

    def end(self) -> None:
        """End iteration now, discarding anything still queued."""
        if self._ended:
            return
        self._ended = True
        # Emptying first guarantees room for the sentinel even when the queue overflowed.
        while not self._queue.empty():
            self._queue.get_nowait()
        self._queue.put_nowait(_ENDED)

    async def __anext__(self) -> Event:
        """Wait for the next event; raise StopAsyncIteration once the subscription has ended."""
        if self._ended and self._queue.empty():
            raise StopAsyncIteration
        item = await self._queue.get()
        if isinstance(item, _Ended):
            raise StopAsyncIteration
        return item


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
