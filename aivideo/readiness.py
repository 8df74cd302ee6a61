"""Readiness: whether the services a process needs (the database, Redis) answer right now."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from dataclasses import dataclass
from urllib.parse import urlsplit

import redis.asyncio as redis
from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import AsyncEngine

# A probe answers within this, whatever a hung service does (an orchestrator's probe
# timeout is typically a few seconds).
CHECK_TIMEOUT_SECONDS = 2.0
OK = "ok"


@dataclass(frozen=True)
class Readiness:
    """Each check's answer: "ok", or what went wrong (no URL, no password)."""

    checks: dict[str, str]

    @property
    def ready(self) -> bool:
        return all(answer == OK for answer in self.checks.values())

    def body(self) -> dict[str, object]:
        return {"status": "ok" if self.ready else "unavailable", "checks": self.checks}


def redis_client(url: str) -> redis.Redis:
    """A client for probes only: short timeouts, never retried, so a probe stays bounded."""
    return redis.Redis.from_url(
        url,
        socket_timeout=CHECK_TIMEOUT_SECONDS,
        socket_connect_timeout=CHECK_TIMEOUT_SECONDS,
        retry_on_timeout=False,
    )


async def _ping_database(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        await connection.execute(text("SELECT 1"))


async def _ping_redis(client: redis.Redis) -> None:
    await client.ping()


async def _answer(probe: Awaitable[None], secrets: tuple[str | None, ...]) -> str:
    try:
        await asyncio.wait_for(probe, CHECK_TIMEOUT_SECONDS)
    except TimeoutError:
        return f"no answer within {CHECK_TIMEOUT_SECONDS:g} s"
    except Exception as exc:  # any failure is an answer: the body names it
        return _masked(f"{type(exc).__name__}: {exc}"[:300], secrets)
    return OK


def _masked(message: str, secrets: tuple[str | None, ...]) -> str:
    for secret in secrets:
        if secret:
            message = message.replace(secret, "***")
    return message


def _password(url: str) -> str | None:
    try:
        return urlsplit(url).password
    except ValueError:
        return None


async def check(
    *, engine: AsyncEngine, database_url: str, redis: redis.Redis | None, redis_url: str
) -> Readiness:
    """Ask the database and, when configured, Redis at once; each bounded in time."""
    probes = {"database": _answer(_ping_database(engine), (make_url(database_url).password,))}
    if redis is not None:
        probes["redis"] = _answer(_ping_redis(redis), (_password(redis_url),))
    answers = await asyncio.gather(*probes.values())
    return Readiness(dict(zip(probes, answers, strict=True)))
