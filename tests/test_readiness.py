"""`/readyz` follows the database and Redis; `/healthz` only says the process is up."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from aivideo.settings import Settings
from aivideo.worker_health import start_health_server
from tests.conftest import Server, _start_server, postgres_database
from tests.test_cli import AIVIDEO, free_port
from tests.test_processes import REDIS_URL
from tests.throwaway_services import (
    ThrowawayPostgres,
    ThrowawayRedis,
    throwaway_postgres,
    throwaway_redis,
)


@pytest.fixture(scope="module")
async def postgres() -> AsyncIterator[ThrowawayPostgres]:
    async with throwaway_postgres() as server:
        yield server


@pytest.fixture(scope="module")
async def redis_server() -> AsyncIterator[ThrowawayRedis]:
    async with throwaway_redis() as server:
        await server.start()
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
    await redis_server.stop()
    try:
        down = await served.http.get("/readyz")
        alive = await served.http.get("/healthz")
    finally:
        await redis_server.start()
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


@pytest.fixture
def worker_probes(
    postgres: ThrowawayPostgres, redis_server: ThrowawayRedis, tmp_path: Path
) -> Iterator[str]:
    config = Settings(data_dir=tmp_path, database_url=postgres.url, redis_url=redis_server.url)
    server = start_health_server(config, 0, host="127.0.0.1")
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


async def test_worker_probes_follow_the_database_and_redis(
    worker_probes: str, postgres: ThrowawayPostgres, redis_server: ThrowawayRedis
) -> None:
    async with httpx.AsyncClient(base_url=worker_probes, timeout=10) as probe:
        ready = await probe.get("/readyz")
        assert ready.status_code == 200
        assert ready.json() == {"status": "ok", "checks": {"database": "ok", "redis": "ok"}}
        postgres.stop()
        await redis_server.stop()
        try:
            down = await probe.get("/readyz")
            alive = await probe.get("/healthz")
        finally:
            postgres.start()
            await redis_server.start()
        assert down.status_code == 503
        assert set(down.json()["checks"]) == {"database", "redis"}
        assert "ok" not in down.json()["checks"].values()
        assert alive.status_code == 200
        assert (await probe.get("/readyz")).status_code == 200


async def test_aivideo_worker_serves_its_probes(tmp_path: Path) -> None:
    # given `aivideo worker --health-port P` on the shared PostgreSQL and Redis
    port = free_port()
    async with postgres_database() as database_url:
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "REDIS_URL": REDIS_URL,
            "AIVIDEO_REDIS_PREFIX": f"aivideo-test-{uuid.uuid4().hex[:8]}:",
            "AIVIDEO_DATA_DIR": str(tmp_path),
        }
        worker = await asyncio.create_subprocess_exec(
            *AIVIDEO, "worker", "--health-port", str(port), env=env, start_new_session=True
        )
        try:
            async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
                for _ in range(400):
                    assert worker.returncode is None, "the worker exited"
                    try:
                        alive = await http.get("/healthz")
                        break
                    except httpx.TransportError:
                        await asyncio.sleep(0.05)
                ready = await http.get("/readyz")
        finally:
            os.killpg(worker.pid, signal.SIGTERM)
            await asyncio.wait_for(worker.wait(), 30)
    # then both answer
    assert alive.json() == {"status": "ok"}
    assert ready.status_code == 200, ready.text
