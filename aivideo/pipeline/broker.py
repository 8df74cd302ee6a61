"""The taskiq broker: in-memory in the embedded default, Redis streams with REDIS_URL."""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import ResponseError
from taskiq import AckableMessage, AsyncBroker, InMemoryBroker
from taskiq_redis import RedisAsyncResultBackend, RedisStreamBroker
from tenacity import AsyncRetrying, retry_if_exception_type
from tenacity.wait import wait_exponential, wait_random

from aivideo.pipeline.redis_wait import LINK_ERRORS, display_url, wait_for_redis
from aivideo.settings import Settings

log = logging.getLogger(__name__)


class PatientRedisStreamBroker(RedisStreamBroker):
    """A Redis stream broker whose listener waits out a Redis outage.

    taskiq-redis's listener raises on a lost connection, which ends the worker process
    (and taskiq restarts it, in a loop of tracebacks while Redis is away). Here the
    listener waits for Redis, declares the consumer group again (a Redis restarted
    without persistence has lost it) and goes on.
    """

    def __init__(self, url: str, **kwargs: Any) -> None:
        super().__init__(url, **kwargs)
        self.url = url

    async def listen(self) -> AsyncGenerator[AckableMessage, None]:
        while True:
            try:
                async for message in super().listen():
                    yield message
            except (*LINK_ERRORS, ResponseError) as exc:
                if isinstance(exc, ResponseError) and "NOGROUP" not in str(exc):
                    raise
                log.warning(
                    "job queue: lost Redis at %s (%s: %s)",
                    display_url(self.url),
                    type(exc).__name__,
                    exc,
                )
                # Redis may answer PING yet still refuse writes (paused, loading): the whole
                # recovery is retried until the group can be declared.
                await AsyncRetrying(
                    retry=retry_if_exception_type(LINK_ERRORS),
                    wait=wait_exponential(multiplier=0.1, max=5.0) + wait_random(0, 0.1),
                )(self._recover)

    async def _recover(self) -> None:
        await wait_for_redis(self.url, say=log.warning)
        await self._declare_group_again()

    async def _declare_group_again(self) -> None:
        """The consumer group, from the start of the stream: jobs queued while it was
        missing are still delivered. An existing group is left as it is."""
        async with Redis(connection_pool=self.connection_pool) as redis:
            try:
                await redis.xgroup_create(
                    self.queue_name, self.consumer_group_name, id="0", mkstream=True
                )
            except ResponseError as exc:
                if "BUSYGROUP" not in str(exc):
                    raise


def build_broker(config: Settings) -> AsyncBroker:
    if not config.redis_url:
        return InMemoryBroker(max_stored_results=1000)
    # Streams are acknowledged after the job: a job whose worker dies stays pending and is
    # claimed again. The claim lock expires, so a SIGKILLed worker cannot hold it forever
    # (taskiq-redis issue #131).
    prefix = config.redis_prefix
    jobs = PatientRedisStreamBroker(
        config.redis_url,
        queue_name=f"{prefix}jobs",
        consumer_group_name=f"{prefix}workers",
        unacknowledged_lock_timeout=30,
    )
    return jobs.with_result_backend(
        RedisAsyncResultBackend(config.redis_url, result_ex_time=3600, prefix_str=f"{prefix}result")
    )
