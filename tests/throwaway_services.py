"""Private Redis and PostgreSQL servers that a test may stop and start again.

The shared servers of the machine are never touched: these listen on free ports of their
own. A missing binary skips the test (fails it when AIVIDEO_REQUIRE_SERVICES=1).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import redis.asyncio as redis

from tests.conftest import unavailable
from tests.test_cli import free_port

PG_BIN = Path(os.environ.get("AIVIDEO_TEST_PG_BIN", "/usr/lib/postgresql/15/bin"))


class ThrowawayRedis:
    """A redis-server without persistence on its own port: a restart loses everything."""

    def __init__(self, password: str | None = None) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            unavailable("redis-server", FileNotFoundError("redis-server is not on PATH"))
        self.binary = str(binary)
        self.port = free_port()
        self.password = password
        self.process: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}127.0.0.1:{self.port}/0"

    async def start(self) -> None:
        args = [
            self.binary,
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--daemonize",
            "no",
        ]
        if self.password:
            args += ["--requirepass", self.password]
        self.process = await asyncio.create_subprocess_exec(
            *args, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL
        )
        client = redis.Redis.from_url(self.url)
        try:
            for _ in range(500):
                try:
                    await client.ping()
                    return
                except (OSError, redis.ConnectionError):
                    await asyncio.sleep(0.02)
            raise AssertionError("the throwaway redis-server did not start")
        finally:
            await client.aclose()

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.terminate()
            await self.process.wait()
        self.process = None

    async def restart(self) -> None:
        await self.stop()
        await self.start()


@asynccontextmanager
async def throwaway_redis(password: str | None = None) -> AsyncIterator[ThrowawayRedis]:
    server = ThrowawayRedis(password)
    try:
        yield server
    finally:
        await server.stop()


class ThrowawayPostgres:
    """A private PostgreSQL cluster in a temporary directory, on its own port."""

    def __init__(self) -> None:
        for tool in ("initdb", "pg_ctl"):
            if not (PG_BIN / tool).exists():
                unavailable("PostgreSQL server binaries", FileNotFoundError(PG_BIN / tool))
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="aivideo-pg-"))
        self.data = self.root / "data"
        # initdb refuses to run as root: run the cluster as the `postgres` system user then.
        self.as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self.as_user:
            shutil.chown(self.root, "postgres")

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *args: str) -> None:
        subprocess.run([*self.as_user, *args], check=True, capture_output=True, timeout=120)

    def init(self) -> None:
        self._run(str(PG_BIN / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres")

    def start(self) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run(
            str(PG_BIN / "pg_ctl"),
            "-D",
            str(self.data),
            "-o",
            options,
            "-w",
            "start",
            "-l",
            str(self.root / "log"),
        )

    def stop(self) -> None:
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")

    def restart(self) -> None:
        self.stop()
        self.start()


@asynccontextmanager
async def throwaway_postgres() -> AsyncIterator[ThrowawayPostgres]:
    server = ThrowawayPostgres()
    await asyncio.to_thread(server.init)
    await asyncio.to_thread(server.start)
    try:
        yield server
    finally:
        try:
            await asyncio.to_thread(server.stop)
        finally:
            shutil.rmtree(server.root, ignore_errors=True)
