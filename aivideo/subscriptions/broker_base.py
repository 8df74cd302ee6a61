"""The event broker contract: publish JSON events on channels, subscribe to them."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from typing import Any

Event = dict[str, Any]


class EventBroker(ABC):
    """Fans events out to every subscriber of a channel, across processes or within one."""

    async def start(self) -> None:
        """Open connections; called once at process start."""

    async def close(self) -> None:
        """Release connections and end every open subscription."""

    @abstractmethod
    async def publish(self, channel: str, event: Event) -> None:
        """Deliver `event` to every current subscriber of `channel`."""

    @abstractmethod
    def subscribe(self, channel: str) -> AbstractAsyncContextManager[AsyncIterator[Event]]:
        """Subscribe; the subscription is live when the context is entered (no gap after)."""
