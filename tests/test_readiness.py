"""`/readyz` follows the database and Redis; `/healthz` only says the process is up."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from aivideo.settings import Settings
from tests.conftest import Server, _start_server
from tests.throwaway_services import (
    ThrowawayPostgres,
    ThrowawayRedis,
    throwaway_postgres,
    throwaway_redis,
)


@pytest.fixture(scope="module")
def postgres() -> Iterator[ThrowawayPostgres]:
    with throwaway_postgres() as server:
        yield server


@pytest.fixture(scope="module")
def redis_server() -> Iterator[ThrowawayRedis]:
    with throwaway_redis() as server:
        yield server


@pytest.fixture
async def served(
    postgres: ThrowawayPostgres, redis_server: ThrowawayRedis, tmp_path: Path
) -> AsyncIterator[Server]:
    config = Settings(
        data_dir=tmp_path, database_url=postgres.url, redis_url=redis_server.url, rate_limit=""
    )
    async for server in _start_server(config, "postgres"):
        yield server


async def test_ready_when_database_and_redis_answer(served: Server) -> None:
    response = await served.http.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "checks": {"database": "ok", "redis": "ok"}}


async def test_redis_stopping_flips_readiness_and_back(
    served: Server, redis_server: ThrowawayRedis
) -> None:
    # given a ready server, when its Redis stops
    redis_server.stop()
    try:
        down = await served.http.get("/readyz")
        alive = await served.http.get("/healthz")
    finally:
        redis_server.start()
    # then it is not ready, says why, and is still alive
    assert down.status_code == 503
    body = down.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["database"] == "ok"
    assert "ConnectionError" in body["checks"]["redis"]
    assert "redis://" not in down.text
    assert alive.status_code == 200
    # and when Redis is back, so is readiness
    assert (await served.http.get("/readyz")).status_code == 200


async def test_database_stopping_flips_readiness_and_back(
    served: Server, postgres: ThrowawayPostgres
) -> None:
    assert (await served.http.get("/readyz")).status_code == 200
    postgres.stop()
    try:
        down = await served.http.get("/readyz")
    finally:
        postgres.start()
    assert down.status_code == 503
    assert down.json()["checks"]["redis"] == "ok"
    assert down.json()["checks"]["database"] != "ok"
    assert "postgresql" not in down.text
    assert (await served.http.get("/readyz")).status_code == 200


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that takes connections and never says a word: a hung database."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)
        yield int(listener.getsockname()[1])


async def test_a_hung_database_does_not_hang_the_probe(
    silent_port: int, redis_server: ThrowawayRedis, tmp_path: Path
) -> None:
    # With Redis configured the app does not touch the database at startup.
    config = Settings(
        data_dir=tmp_path,
        database_url=f"postgresql://aivideo:hunter2@127.0.0.1:{silent_port}/aivideo",
        redis_url=redis_server.url,
        rate_limit="",
    )
    async for server in _start_server(config, "postgres"):
        response = await server.http.get("/readyz")
        assert response.status_code == 503
        assert response.json() == {
            "status": "unavailable",
            "checks": {"database": "no answer within 2 s", "redis": "ok"},
        }
