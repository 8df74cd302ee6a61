"""Event brokers that carry subscription events between publishers and subscribers."""

from __future__ import annotations

from aivideo.subscriptions.broker_base import Event, EventBroker
from aivideo.subscriptions.memory_broker import InMemoryBroker
from aivideo.subscriptions.redis_broker import RedisBroker

__all__ = ["Event", "EventBroker", "InMemoryBroker", "RedisBroker"]
