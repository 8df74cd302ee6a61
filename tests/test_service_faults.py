"""Faults of real services under the production shape: `aivideo serve` and `aivideo worker`
processes on private Redis and PostgreSQL servers that the tests stop and start.

Work that must be in flight when a fault strikes is held open by the fake hosted models
(a held prediction stays `processing` until the test releases it), never by timing.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.conftest import postgres_database
from tests.service_process import Client, serving
from tests.test_processes import AIVIDEO
from tests.throwaway_services import throwaway_redis


@dataclass
class Worker:
    """An `aivideo worker` process group whose stderr is collected line by line."""

    process: asyncio.subprocess.Process
    lines: list[str] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    reader: asyncio.Task[None] | None = None

    async def _read(self) -> None:
        assert self.process.stderr is not None
        async for raw in self.process.stderr:
            self.lines.append(raw.decode(errors="replace").rstrip("\n"))
            self.changed.set()

    async def line_with(self, text: str) -> str:
        """The first stderr line containing `text`, once the worker has written it."""
        try:
            async with asyncio.timeout(120):  # only bounds a failing test
                while True:
                    found = next((line for line in self.lines if text in line), None)
                    if found is not None:
                        return found
                    self.changed.clear()
                    await self.changed.wait()
        except TimeoutError:
            said = "\n".join(self.lines[-40:])
            raise AssertionError(f"the worker never said {text!r}; it said:\n{said}") from None

    def signal(self, signum: int) -> None:
        with suppress(ProcessLookupError):
            os.killpg(self.process.pid, signum)

    async def stop(self) -> None:
        """SIGTERM, as an orchestrator stops it; SIGKILL if it does not end."""
        self.signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(self.process.wait(), 30)
        except TimeoutError:
            self.signal(signal.SIGKILL)
            await self.process.wait()
        if self.reader is not None:
            await self.reader


@asynccontextmanager
async def running_worker(env: dict[str, str]) -> AsyncIterator[Worker]:
    # Its own process group: taskiq runs the jobs in child processes.
    process = await asyncio.create_subprocess_exec(
        *AIVIDEO,
        "worker",
        "--workers",
        "1",
        env=env,
        start_new_session=True,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    worker = Worker(process)
    worker.reader = asyncio.create_task(worker._read())
    try:
        yield worker
    finally:
        await worker.stop()


def service_env(tmp_path: Path, database_url: str, redis_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "AIVIDEO_DATA_DIR": str(tmp_path),
        "AIVIDEO_RUN_HEARTBEAT_SECONDS": "0.5",
        "AIVIDEO_RATE_LIMIT": "",
        "PYTHONUNBUFFERED": "1",
    }


async def test_a_worker_started_before_redis_waits_for_it_then_works(tmp_path: Path) -> None:
    async with (
        throwaway_redis(password="s3cret-pw") as redis_server,
        postgres_database() as database_url,
    ):
        env = service_env(tmp_path, database_url, redis_server.url)
        # given a worker started while Redis is not there yet
        async with running_worker(env) as worker:
            waiting = await worker.line_with("waiting for Redis")

            # when Redis comes, and the API with it
            await redis_server.start()
            async with (
                serving(tmp_path, DATABASE_URL=database_url, REDIS_URL=redis_server.url) as url,
                httpx.AsyncClient(base_url=url, timeout=60) as http,
            ):
                client = Client(url, http, None)
                created = await client.create_video("A snail crosses a garden by moonlight.")

                # then the worker runs the job
                await client.wait_for(created["id"], "PAUSED_AT_PHASE1")

    # and it said once, plainly and without the password, what it waited for
    assert waiting.startswith(
        f"aivideo worker: waiting for Redis at redis://127.0.0.1:{redis_server.port}/0 ("
    ), waiting
    said = "\n".join(worker.lines)
    assert said.count("waiting for Redis") == 1
    assert "s3cret-pw" not in said
    assert "Traceback" not in said
