"""The taskiq broker: in-memory in the embedded default, Redis streams with REDIS_URL."""

from __future__ import annotations

from taskiq import AsyncBroker, InMemoryBroker
from taskiq_redis import RedisAsyncResultBackend, RedisStreamBroker

from aivideo.settings import Settings


def build_broker(config: Settings) -> AsyncBroker:
    if not config.redis_url:
        return InMemoryBroker(max_stored_results=1000)
    # Streams are acknowledged after the job: a job whose worker dies stays pending and is
    # claimed again. The claim lock expires, so a SIGKILLed worker cannot hold it forever
    # (taskiq-redis issue #131).
    prefix = config.redis_prefix
    jobs = RedisStreamBroker(
        config.redis_url,
        queue_name=f"{prefix}jobs",
        consumer_group_name=f"{prefix}workers",
        unacknowledged_lock_timeout=30,
    )
    return jobs.with_result_backend(
        RedisAsyncResultBackend(config.redis_url, result_ex_time=3600, prefix_str=f"{prefix}result")
    )
