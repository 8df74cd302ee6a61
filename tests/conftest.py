"""Fixtures: a real aivideo server (uvicorn, in this event loop) on SQLite and on PostgreSQL.

The session-scoped `server` is parametrised by database; pytest runs every test on the
embedded SQLite default first, then on a fresh PostgreSQL database (skipped when no
server is reachable, failed instead when AIVIDEO_REQUIRE_SERVICES=1).
"""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from aivideo.app import create_app
from aivideo.cli import WEBSOCKETS
from aivideo.db import create_engine
from aivideo.migrate import migrate
from aivideo.runtime import Runtime
from aivideo.settings import Settings

pytest_plugins = ["tests.browser"]  # the headless chromium fixtures

REQUIRE_SERVICES = os.environ.get("AIVIDEO_REQUIRE_SERVICES") == "1"
TEST_DATABASE_URL = os.environ.get(
    "AIVIDEO_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)


def unavailable(what: str, error: Exception) -> None:
    """Skip a test that needs a service, or fail it when CI says services are required."""
    message = f"{what} is not reachable ({error!r})"
    if REQUIRE_SERVICES:
        pytest.fail(message + " and AIVIDEO_REQUIRE_SERVICES=1", pytrace=False)
    pytest.skip(message)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _asyncpg_dsn(url: str) -> str:
    return url.replace("postgresql+asyncpg://", "postgresql://").replace(
        "postgres://", "postgresql://"
    )


@asynccontextmanager
async def postgres_database() -> AsyncIterator[str]:
    """A fresh, migrated PostgreSQL database for this run, dropped at the end."""
    import asyncpg

    admin_dsn = _asyncpg_dsn(TEST_DATABASE_URL)
    try:
        admin = await asyncpg.connect(admin_dsn, timeout=5)
    except (OSError, asyncpg.PostgresError) as exc:
        unavailable("PostgreSQL", exc)
    name = f"aivideo_test_{uuid.uuid4().hex[:10]}"
    await admin.execute(f'CREATE DATABASE "{name}"')
    base, _, _ = admin_dsn.rpartition("/")
    url = f"{base}/{name}".replace("postgresql://", "postgresql+asyncpg://", 1)
    try:
        engine = create_engine(url)
        await migrate(engine)
        await engine.dispose()
        yield url
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@dataclass
class Server:
    """A running aivideo service and a client for its public API."""

    url: str
    app: FastAPI
    http: httpx.AsyncClient
    backend: str

    @property
    def runtime(self) -> Runtime:
        return self.app.state.runtime

    @property
    def ws_url(self) -> str:
        return self.url.replace("http://", "ws://") + "/graphql"

    async def gql(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """Run an operation that must succeed; return its data."""
        body = await self.gql_raw(query, variables)
        assert not body.get("errors"), body["errors"]
        return body["data"]

    async def gql_raw(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        response = await self.http.post("/graphql", json={"query": query, "variables": variables})
        assert response.status_code in (200, 400), response.text
        return response.json()

    async def gql_error(
        self, query: str, variables: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Run an operation that must fail; return its one error."""
        body = await self.gql_raw(query, variables)
        assert body.get("errors"), body
        assert len(body["errors"]) == 1, body["errors"]
        return body["errors"][0]

    async def settle(self) -> None:
        """Wait until every queued job (and every job those queue) has finished."""
        broker = self.app.state.jobs.broker
        while True:
            await broker.wait_all()  # type: ignore[attr-defined]
            if not broker._running_tasks:  # type: ignore[attr-defined]
                return


async def _start_server(config: Settings, backend: str) -> AsyncIterator[Server]:
    app = create_app(config)
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            app, host="127.0.0.1", port=port, log_level="warning", lifespan="on", **WEBSOCKETS
        )
    )
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    url = f"http://127.0.0.1:{port}"
    async with httpx.AsyncClient(base_url=url, timeout=120) as http:
        yield Server(url=url, app=app, http=http, backend=backend)
    server.should_exit = True
    await task


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
async def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Server]:
    data_dir: Path = tmp_path_factory.mktemp(f"aivideo-{request.param}")
    if request.param == "sqlite":
        config = Settings(data_dir=data_dir, database_url="", redis_url="", rate_limit="")
        async for running in _start_server(config, "sqlite"):
            yield running
        return
    async with postgres_database() as database_url:
        config = Settings(data_dir=data_dir, database_url=database_url, redis_url="", rate_limit="")
        async for running in _start_server(config, "postgres"):
            yield running
