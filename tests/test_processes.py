"""The production shape of docker-compose.yml: `aivideo serve` and `aivideo worker` processes
sharing PostgreSQL, Redis (jobs and events) and a media directory."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis.asyncio as redis

from tests import api
from tests.conftest import postgres_database, unavailable
from tests.service_process import Client
from tests.test_cli import free_port
from tests.ws_client import TRANSPORT_WS, Subscription

REDIS_URL = os.environ.get("AIVIDEO_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
AIVIDEO = [sys.executable, "-m", "aivideo.cli"]


@dataclass
class Deployment(Client):
    """The API as an anonymous client sees it, plus the processes behind it."""

    env: dict[str, str]
    processes: list[asyncio.subprocess.Process]

    async def start_worker(self) -> asyncio.subprocess.Process:
        # Its own process group: taskiq's worker runs its jobs in child processes.
        worker = await asyncio.create_subprocess_exec(
            *AIVIDEO, "worker", "--workers", "1", env=self.env, start_new_session=True
        )
        self.processes.append(worker)
        return worker

    async def crash(self, worker: asyncio.subprocess.Process) -> None:
        """SIGKILL the worker and its children, as a machine failure would."""
        os.killpg(worker.pid, signal.SIGKILL)
        await worker.wait()
        self.processes.remove(worker)


async def _redis_or_skip(prefix: str) -> redis.Redis:
    client = redis.Redis.from_url(REDIS_URL)
    try:
        await client.ping()
    except (OSError, redis.ConnectionError) as exc:
        unavailable("Redis", exc)
    return client


@asynccontextmanager
async def deployed(data_dir: Path, **extra_env: str) -> AsyncIterator[Deployment]:
    """An API process and one worker over a fresh PostgreSQL database and a Redis prefix."""
    prefix = f"aivideo-test-{uuid.uuid4().hex[:8]}:"
    client = await _redis_or_skip(prefix)
    async with postgres_database() as database_url:
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "REDIS_URL": REDIS_URL,
            "AIVIDEO_REDIS_PREFIX": prefix,
            "PYTHONUNBUFFERED": "1",
            "AIVIDEO_DATA_DIR": str(data_dir),
            "AIVIDEO_RUN_HEARTBEAT_SECONDS": "0.5",
            **extra_env,
        }
        port = free_port()
        api_process = await asyncio.create_subprocess_exec(
            *AIVIDEO, "serve", "--port", str(port), env=env
        )
        url = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient(base_url=url, timeout=120) as http:
            running = Deployment(url=url, http=http, key=None, env=env, processes=[api_process])
            try:
                await running.start_worker()
                await _wait_healthy(http, running.processes)
                yield running
            finally:
                for process in running.processes:
                    process.terminate()
                for process in running.processes:
                    await asyncio.wait_for(process.wait(), 30)
            keys = [key async for key in client.scan_iter(f"{prefix}*")]
            if keys:
                await client.delete(*keys)
            await client.aclose()


@pytest.fixture(scope="module")
async def deployment(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Deployment]:
    async with deployed(tmp_path_factory.mktemp("deployment")) as running:
        yield running


async def _wait_healthy(
    http: httpx.AsyncClient, processes: list[asyncio.subprocess.Process]
) -> None:
    for _ in range(300):
        assert all(p.returncode is None for p in processes), "a process exited at start"
        try:
            if (await http.get("/healthz")).status_code == 200:
                return
        except httpx.TransportError:
            pass
        await asyncio.sleep(0.05)
    raise AssertionError("the API did not start")


STATUS = "subscription($id: ID!) { videoStatus(videoId: $id) { status progress } }"
CREATED_ANY = """subscription { checkpointCreated {
  videoId phase branchName checkpoint { status artifacts { key url } } } }"""


async def wait_for_status(sub: Subscription, status: str) -> None:
    while (await sub.next(seconds=120))["data"]["videoStatus"]["status"] != status:
        pass


async def test_yolo_runs_on_the_worker_and_events_reach_the_api(deployment: Deployment) -> None:
    # given a websocket subscriber on the API, and a video whose jobs run in the worker
    async with Subscription(deployment.ws_url, TRANSPORT_WS, CREATED_ANY, {}) as sub:
        created = await deployment.create_video(api.PROMPT, autoContinue=True)
        # when the worker runs all four phases
        events: list[dict[str, Any]] = []
        while len(events) < 4:
            event = (await sub.next(seconds=120))["data"]["checkpointCreated"]
            if event["videoId"] == created["id"]:
                events.append(event)

    # then every checkpoint was announced through Redis, and the files are served by the API
    assert [(e["phase"], e["branchName"]) for e in events] == [(p, "main") for p in (1, 2, 3, 4)]
    video = (await deployment.gql(api.VIDEO, {"id": created["id"]}))["video"]
    assert video["status"] == "COMPLETE"
    final = await deployment.http.get(video["finalVideo"]["url"])
    assert final.status_code == 200 and final.headers["content-type"] == "video/mp4"


async def test_manual_steps_and_a_regeneration_through_the_worker(deployment: Deployment) -> None:
    created = await deployment.create_video(
        "Two kites argue above a windy hill until the string tangles."
    )
    paused = await deployment.wait_for(created["id"], "PAUSED_AT_PHASE1")
    phase1 = api.newest(paused["checkpoints"], phase=1)
    async with Subscription(deployment.ws_url, TRANSPORT_WS, STATUS, {"id": created["id"]}) as sub:
        await deployment.gql(api.CONTINUE, {"id": phase1["id"]})
        await wait_for_status(sub, "PAUSED_AT_PHASE2")

    phase2 = api.newest(
        (await deployment.gql(api.VIDEO, {"id": created["id"]}))["video"]["checkpoints"], phase=2
    )
    regenerated = (
        await deployment.gql(
            api.REGENERATE_BEAT,
            {
                "id": phase2["id"],
                "index": 0,
                "prompt": "A red kite alone",
            },
        )
    )["regenerateBeat"]
    assert regenerated["version"] == 2
    assert regenerated["metadata"]["prompt"] == "A red kite alone"
    assert (await deployment.http.get(regenerated["url"])).status_code == 200


def test_worker_refuses_to_start_without_redis(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "AIVIDEO_REDIS_URL")}
    result = subprocess.run(
        [*AIVIDEO, "worker"],
        env={**env, "AIVIDEO_DATA_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert "needs REDIS_URL" in result.stderr


async def test_a_dead_workers_phase_is_taken_over(deployment: Deployment) -> None:
    # given a YOLO video whose worker dies in the middle of phase 3
    created = await deployment.create_video(api.PROMPT, durationSeconds=30, autoContinue=True)
    [worker] = deployment.processes[1:]
    async with Subscription(deployment.ws_url, TRANSPORT_WS, STATUS, {"id": created["id"]}) as sub:
        while True:
            event = (await sub.next(seconds=120))["data"]["videoStatus"]
            if event["status"] == "GENERATING_CHUNKS" and event["progress"] > 40:
                break
        await deployment.crash(worker)

        # when another worker comes up
        await deployment.start_worker()
        await wait_for_status(sub, "COMPLETE")

    # then it took the phase over and finished it, each phase once
    video = (await deployment.gql(api.VIDEO, {"id": created["id"]}))["video"]
    assert [(c["phase"], c["branchName"]) for c in video["checkpoints"]] == [
        (phase, "main") for phase in (1, 2, 3, 4)
    ]


async def test_a_job_lost_from_the_queue_is_sent_again(deployment: Deployment) -> None:
    # given a video whose phase-1 job was lost (queued while no worker ran, then the
    # stream was wiped, as a Redis without persistence loses it on restart)
    for worker in deployment.processes[1:]:
        await deployment.crash(worker)
    created = await deployment.create_video(api.PROMPT)
    client = redis.Redis.from_url(REDIS_URL)
    assert await client.delete(f"{deployment.env['AIVIDEO_REDIS_PREFIX']}jobs") == 1
    await client.aclose()

    async with Subscription(deployment.ws_url, TRANSPORT_WS, STATUS, {"id": created["id"]}) as sub:
        # when a worker runs again
        await deployment.start_worker()

        # then its sweep sends the run again and phase 1 completes
        await wait_for_status(sub, "PAUSED_AT_PHASE1")
