"""Waiting for Redis: said once, plainly, and with backoff, instead of failing in a loop."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit, urlunsplit

from redis.asyncio import Redis
from redis.exceptions import AuthenticationError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    retry_if_not_exception_type,
)
from tenacity.wait import wait_exponential, wait_random

# Errors of a Redis that is not there (yet); a refused password is not one of them.
LINK_ERRORS = (RedisConnectionError, RedisTimeoutError, OSError)


def display_url(url: str) -> str:
    """The URL without its credentials, fit for a log line."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


async def wait_for_redis(url: str, *, say: Callable[[str], None], max_wait: float = 5.0) -> None:
    """Return once Redis at `url` answers PING.

    While it does not, try again with exponential backoff (up to `max_wait` seconds
    apart), and `say` once what is awaited, then once more when it answers.
    """
    waiting = False

    def announce(state: RetryCallState) -> None:
        nonlocal waiting
        if not waiting:
            waiting = True
            error = state.outcome.exception() if state.outcome else None
            say(f"waiting for Redis at {display_url(url)} ({error})")

    client = Redis.from_url(url, socket_connect_timeout=5)

    async def ping() -> None:  # redis-py's ping is not a coroutine function: tenacity must see one
        await client.ping()

    try:
        retrying = AsyncRetrying(
            retry=retry_if_exception_type(LINK_ERRORS)
            & retry_if_not_exception_type(AuthenticationError),
            wait=wait_exponential(multiplier=0.1, max=max_wait) + wait_random(0, 0.1),
            before_sleep=announce,
            reraise=True,
        )
        await retrying(ping)
    finally:
        await client.aclose()
    if waiting:
        say(f"Redis at {display_url(url)} answers; starting work")
