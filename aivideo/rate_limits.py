"""Per-owner limits on the requests that generate (and cost money) or copy and edit work."""

from __future__ import annotations

import math
import time

from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage, RedisStorage, Storage
from limits.aio.strategies import SlidingWindowCounterRateLimiter

from aivideo import metrics
from aivideo.errors import RateLimited
from aivideo.settings import Settings


class GenerationLimiter:
    """A sliding-window limit per owner, shared through Redis when there is one."""

    def __init__(self, config: Settings) -> None:
        self.item: RateLimitItem | None = parse(config.rate_limit) if config.rate_limit else None
        storage: Storage = (
            RedisStorage(
                config.redis_url.replace("redis://", "async+redis://", 1),
                implementation="redispy",
                key_prefix=f"{config.redis_prefix}limits",
            )
            if config.redis_url
            else MemoryStorage()
        )
        self.limiter = SlidingWindowCounterRateLimiter(storage)

    async def spend(self, owner: str) -> None:
        """Count one generation or edit request of `owner`; RATE_LIMITED past the limit."""
        if self.item is None or await self.limiter.hit(self.item, "generate", owner):
            return
        stats = await self.limiter.get_window_stats(self.item, "generate", owner)
        wait = max(1, math.ceil(stats.reset_time - time.time()))
        metrics.rate_limit_refused()
        raise RateLimited(
            f"too many generation requests: the limit is {self.item} per owner; "
            f"try again in {wait} s"
        )
