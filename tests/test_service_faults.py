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
from contextlib import AsyncExitStack, asynccontextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import httpx
import redis.asyncio as redis
from moto.server import ThreadedMotoServer

from tests import api
from tests.conftest import postgres_database
from tests.fake_hosted import FakeHosted, running_fake_hosted
from tests.service_process import Client, serving
from tests.test_cli import free_port
from tests.test_hosted_models import (
    IMAGES,
    OPENAI_KEY,
    TOKEN,
    _first_polled_prediction,
    hosted_env,
)
from tests.test_processes import AIVIDEO
from tests.test_s3_storage import BUCKET, CREDENTIALS
from tests.throwaway_services import throwaway_postgres, throwaway_redis
from tests.ws_client import TRANSPORT_WS, Subscription


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


CREATED_AFTER = """subscription($id: ID!, $after: ID) {
  checkpointCreated(videoId: $id, after: $after) { checkpointId phase branchName } }"""
CHECKPOINTS = """query($id: ID!) {
  video(id: $id) { status error checkpoints { id phase branchName } } }"""
IMAGES_HOSTED = {
    "planner": "local",
    "imageModel": IMAGES,
    "videoModel": "local",
    "musicModel": "local",
}


class CheckpointFollower:
    """A client of `checkpointCreated` that keeps what it saw live, then catches up.

    It subscribes with `after` (the last checkpoint it knew), reads live events in the
    background, and at the end re-subscribes with `after` = the last event it saw, as a
    reconnecting client does: the replay must bring exactly what it did not see.
    """

    def __init__(self, ws_url: str, video_id: str, after: str) -> None:
        self.ws_url, self.video_id, self.after = ws_url, video_id, after
        self.seen: list[dict[str, Any]] = []
        self.errors: list[dict[str, Any]] = []
        self._live: Subscription | None = None
        self._reader: asyncio.Task[None] | None = None

    async def __aenter__(self) -> CheckpointFollower:
        self._live = Subscription(
            self.ws_url, TRANSPORT_WS, CREATED_AFTER, {"id": self.video_id, "after": self.after}
        )
        await self._live.__aenter__()
        self._reader = asyncio.create_task(self._read())
        return self

    async def _read(self) -> None:
        assert self._live is not None
        while True:
            payload = await self._live.next(seconds=3600)
            if payload.get("errors"):
                # e.g. the database was away as it set up: the catch-up covers the rest
                self.errors.extend(payload["errors"])
                return
            self.seen.append(payload["data"]["checkpointCreated"])

    async def __aexit__(self, *exc: object) -> None:
        await self._stop()

    async def _stop(self) -> None:
        if self._reader is not None:
            self._reader.cancel()
            with suppress(asyncio.CancelledError):
                await self._reader
            self._reader = None
        if self._live is not None:
            await self._live.__aexit__()
            self._live = None

    async def all_events(self, expected: list[str]) -> list[dict[str, Any]]:
        """What it saw live, then the rest by replay, as a client that reconnects with
        `after` = the last checkpoint it saw before the first one it missed (it finds the
        gap from the video's checkpoints; live events can be lost, never duplicated)."""
        await self._stop()
        live = [event["checkpointId"] for event in self.seen]
        assert len(set(live)) == len(live) and set(live) <= set(expected), (live, expected)
        kept = 0
        while kept < len(live) and live[kept] == expected[kept]:
            kept += 1
        events = self.seen[:kept]
        after = expected[kept - 1] if kept else self.after
        async with Subscription(
            self.ws_url, TRANSPORT_WS, CREATED_AFTER, {"id": self.video_id, "after": after}
        ) as replay:
            while len(events) < len(expected):
                events.append((await replay.next())["data"]["checkpointCreated"])
        return events


async def settled(client: Client, video_id: str, *statuses: str) -> dict[str, Any]:
    """Poll the API until the video shows one of `statuses`."""
    for _ in range(4000):
        video = (await client.gql(CHECKPOINTS, {"id": video_id}))["video"]
        if video["status"] in statuses:
            return dict(video)
        await asyncio.sleep(0.05)
    raise AssertionError(f"video {video_id} never reached {statuses}: {video}")


async def with_checkpoint(client: Client, video_id: str, phase: int) -> dict[str, Any]:
    """Poll the API (the database) until the video has a checkpoint of `phase`."""
    for _ in range(4000):
        video = (await client.gql(CHECKPOINTS, {"id": video_id}))["video"]
        if any(c["phase"] == phase for c in video["checkpoints"]):
            return dict(video)
        await asyncio.sleep(0.05)
    raise AssertionError(f"video {video_id} never had a phase {phase} checkpoint")


async def assert_each_once(
    video: dict[str, Any], phases: list[int], follower: CheckpointFollower
) -> None:
    """Each phase's checkpoint stored once on main, and each announced once after phase 1."""
    assert [(c["phase"], c["branchName"]) for c in video["checkpoints"]] == [
        (phase, "main") for phase in phases
    ]
    expected = [c["id"] for c in video["checkpoints"][1:]]
    events = await follower.all_events(expected)
    assert [e["checkpointId"] for e in events] == expected


async def start_api(stack: AsyncExitStack, tmp_path: Path, env: dict[str, str]) -> Client:
    extra = {k: v for k, v in env.items() if k not in os.environ or os.environ[k] != v}
    url = await stack.enter_async_context(serving(tmp_path, env=extra))
    http = await stack.enter_async_context(httpx.AsyncClient(base_url=url, timeout=60))
    return Client(url, http, None)


async def phase_2_in_flight(
    stack: AsyncExitStack, client: Client, fake: FakeHosted, prompt: str
) -> tuple[str, CheckpointFollower]:
    """A YOLO video whose phase 2 is in flight (its storyboard prediction held), and a
    follower of its checkpoints from phase 1 on."""
    fake.replicate.hold()
    created = await client.create_video(prompt, autoContinue=True, generation=IMAGES_HOSTED)
    await _first_polled_prediction(fake, 0)
    phase1 = (await with_checkpoint(client, created["id"], 1))["checkpoints"][0]
    follower = await stack.enter_async_context(
        CheckpointFollower(client.ws_url, created["id"], phase1["id"])
    )
    return str(created["id"]), follower


async def test_redis_restarted_during_a_yolo_run(tmp_path: Path) -> None:
    async with AsyncExitStack() as stack:
        fake = await stack.enter_async_context(
            running_fake_hosted(token=TOKEN, openai_key=OPENAI_KEY)
        )
        redis_server = await stack.enter_async_context(throwaway_redis())
        await redis_server.start()
        database_url = await stack.enter_async_context(postgres_database())
        env = {**service_env(tmp_path, database_url, redis_server.url), **hosted_env(fake)}
        client = await start_api(stack, tmp_path, env)
        await stack.enter_async_context(running_worker(env))

        # given a YOLO video whose phase 2 is in flight (its storyboard prediction held)
        video_id, follower = await phase_2_in_flight(
            stack, client, fake, "A kite pulls a small boat across a lake."
        )

        # when Redis restarts (losing every stream, group and subscription) mid-phase
        await redis_server.restart()
        fake.replicate.release()

        # then the video completes, each phase once, and every checkpoint is announced
        video = await settled(client, video_id, "COMPLETE", "FAILED")
        assert video["status"] == "COMPLETE", video["error"]
        await assert_each_once(video, [1, 2, 3, 4], follower)


async def test_postgres_restarted_during_a_phase(tmp_path: Path) -> None:
    async with AsyncExitStack() as stack:
        fake = await stack.enter_async_context(
            running_fake_hosted(token=TOKEN, openai_key=OPENAI_KEY)
        )
        redis_server = await stack.enter_async_context(throwaway_redis())
        await redis_server.start()
        postgres = await stack.enter_async_context(throwaway_postgres())
        env = {**service_env(tmp_path, postgres.url, redis_server.url), **hosted_env(fake)}
        await migrate_database(env)
        client = await start_api(stack, tmp_path, env)
        await stack.enter_async_context(running_worker(env))

        # given a YOLO video whose phase 2 is in flight (its storyboard prediction held)
        video_id, follower = await phase_2_in_flight(
            stack, client, fake, "A heron fishes in a flooded library."
        )

        # when PostgreSQL restarts while the phase works (beats and progress reports fail)
        await asyncio.to_thread(postgres.restart)
        fake.replicate.release()

        # then the video completes, each phase once, and every checkpoint is announced
        video = await settled(client, video_id, "COMPLETE", "FAILED")
        assert video["status"] == "COMPLETE", video["error"]
        await assert_each_once(video, [1, 2, 3, 4], follower)


async def test_a_worker_killed_while_it_publishes_an_event(tmp_path: Path) -> None:
    async with AsyncExitStack() as stack:
        fake = await stack.enter_async_context(
            running_fake_hosted(token=TOKEN, openai_key=OPENAI_KEY)
        )
        redis_server = await stack.enter_async_context(throwaway_redis())
        await redis_server.start()
        database_url = await stack.enter_async_context(postgres_database())
        env = {**service_env(tmp_path, database_url, redis_server.url), **hosted_env(fake)}
        client = await start_api(stack, tmp_path, env)
        worker = await stack.enter_async_context(running_worker(env))
        admin = redis.Redis.from_url(redis_server.url)
        stack.push_async_callback(admin.aclose)

        # given a video whose phase 2 works in the worker, its storyboard prediction held
        created = await client.create_video(
            "A fox teaches owls to read the stars.", generation=IMAGES_HOSTED
        )
        phase1 = (await settled(client, created["id"], "PAUSED_AT_PHASE1"))["checkpoints"][0]
        follower = await stack.enter_async_context(
            CheckpointFollower(client.ws_url, created["id"], phase1["id"])
        )
        fake.replicate.hold()
        await client.gql(api.CONTINUE, {"id": phase1["id"]})
        await _first_polled_prediction(fake, 0)

        # when Redis holds every publish, the phase commits its checkpoint, and the worker
        # is SIGKILLed while it waits to publish the checkpoint's events
        await admin.execute_command("CLIENT", "PAUSE", "600000", "WRITE")
        fake.replicate.release()
        await with_checkpoint(client, created["id"], 2)
        worker.signal(signal.SIGKILL)
        await worker.process.wait()
        await admin.execute_command("CLIENT", "UNPAUSE")

        # then the video is resumable: a new worker runs the next phase
        await stack.enter_async_context(running_worker(env))
        paused = await settled(client, created["id"], "PAUSED_AT_PHASE2")
        await client.gql(api.CONTINUE, {"id": api.newest(paused["checkpoints"], phase=2)["id"]})
        video = await settled(client, created["id"], "PAUSED_AT_PHASE3", "FAILED")
        assert video["status"] == "PAUSED_AT_PHASE3", video["error"]

        # and each checkpoint is stored once, and announced (by replay, the lost one)
        await assert_each_once(video, [1, 2, 3], follower)


async def test_s3_unreachable_during_cleanup(tmp_path: Path) -> None:
    port = free_port()
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    moto.start()
    try:
        endpoint = f"http://127.0.0.1:{port}"
        s3 = boto3.client(
            "s3",
            endpoint_url=endpoint,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
            region_name="us-east-1",
        )
        s3.create_bucket(Bucket=BUCKET)
        env = {**CREDENTIALS, "AIVIDEO_S3_BUCKET": BUCKET, "AIVIDEO_S3_ENDPOINT_URL": endpoint}
        async with (
            serving(tmp_path, env=env) as url,
            httpx.AsyncClient(base_url=url, timeout=120) as http,
        ):
            client = Client(url, http, None)
            # given two complete videos of one prompt, so sharing every file
            prompt = "A stone bridge hums when the river rises."
            first = await client.create_video(prompt, autoContinue=True)
            await settled(client, first["id"], "COMPLETE")
            second = await client.create_video(prompt, autoContinue=True)
            before = await settled(client, second["id"], "COMPLETE")
            follower = CheckpointFollower(
                client.ws_url, second["id"], before["checkpoints"][0]["id"]
            )

            # when the bucket is unreachable while the first is deleted
            moto.stop()
            deleted = await client.raw(api.DELETE, {"id": first["id"]})
            moto = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
            moto.start()

            # then the committed delete was answered, and the other video lost nothing
            assert deleted == {"data": {"deleteVideo": True}}
            video = await client.gql(STORED, {"id": second["id"]})
            files = [
                a for c in video["video"]["checkpoints"] for a in c["artifacts"] if a["sha256"]
            ]
            assert files
            for artifact in files:
                fetched = await http.get(artifact["url"], follow_redirects=True)
                assert fetched.status_code == 200, artifact["key"]
            after = await settled(client, second["id"], "COMPLETE")
            async with follower:
                await assert_each_once(after, [1, 2, 3, 4], follower)
    finally:
        moto.stop()


STORED = """query($id: ID!) { video(id: $id) {
  checkpoints { artifacts { key sha256 url } } } }"""


async def migrate_database(env: dict[str, str]) -> None:
    process = await asyncio.create_subprocess_exec(
        *AIVIDEO,
        "migrate",
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await process.communicate()
    assert process.returncode == 0, err.decode()
