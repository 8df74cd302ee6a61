"""Single-process event broker: publishes go straight to local subscribers' queues."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager

from aivideo.subscriptions.broker_base import Event, EventBroker
from aivideo.subscriptions.fanout import DEFAULT_MAX_QUEUED, FanOut, Subscription


class InMemoryBroker(EventBroker):
    """Event broker for one process (embedded mode and tests); no external services."""

    def __init__(self, *, max_queued: int = DEFAULT_MAX_QUEUED) -> None:
        """Create a broker whose subscribers are dropped after `max_queued` unread events."""
        self._fanout = FanOut(max_queued)

    async def close(self) -> None:
        """End every open subscription."""
        self._fanout.close()

    async def publish(self, channel: str, event: Event) -> None:
        """Deliver `event` to every current subscriber of `channel`."""
        # Round-trip through JSON so events behave exactly as over Redis: a payload that
        # isn't serialisable fails here too, and subscribers never alias the caller's dict.
        self._fanout.deliver(channel, json.loads(json.dumps(event)))

    def subscribe(self, channel: str) -> AbstractAsyncContextManager[AsyncIterator[Event]]:
        """Subscribe to `channel`; live as soon as the context is entered."""
        return self._subscription(channel)

    @asynccontextmanager
    async def _subscription(self, channel: str) -> AsyncIterator[Subscription]:
        """Register a queue for the context's lifetime."""
        subscription = self._fanout.add(channel)
        try:
            yield subscription
        finally:
            self._fanout.remove(subscription)
