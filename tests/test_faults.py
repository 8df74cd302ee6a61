"""Backend faults inside one process: what is committed stands, work goes on, files stay safe.

Faults are injected where the services meet (the event broker, the job queue, storage,
the database calls of a job), with the exceptions the real clients raise.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from typing import Any

import pytest
from botocore.exceptions import EndpointConnectionError
from redis.exceptions import ConnectionError as RedisConnectionError
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncSession

from aivideo.domain import runs
from aivideo.domain.values import RunWork
from aivideo.pipeline.run_watch import keep_beating, sweep_forever, watched
from aivideo.providers.base import Media, Provider
from aivideo.runtime import Runtime
from tests import api
from tests.conftest import Server
from tests.test_branching import FailingProvider


def redis_is_down(*args: object, **kwargs: object) -> None:
    raise RedisConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")


async def redis_down(*args: object, **kwargs: object) -> None:
    redis_is_down()


async def test_an_event_broker_outage_does_not_fail_a_committed_create(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given an event broker failing as redis-py does when Redis is gone
    monkeypatch.setattr(server.runtime.events, "publish", redis_down)

    # when a video is created
    body = await server.gql_raw(
        api.CREATE_VIDEO,
        {"input": {"prompt": "A kettle sings to a sleeping cat.", "durationSeconds": 10}},
    )

    # then the committed create is answered, and the effects after the events still ran
    assert not body.get("errors"), body["errors"]
    await server.settle()
    video = await api.video(server, body["data"]["createVideo"]["id"])
    assert video["status"] == "PAUSED_AT_PHASE1"
    assert [c["phase"] for c in video["checkpoints"]] == [1]


async def test_a_job_queue_outage_does_not_fail_a_committed_create(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a job queue failing as redis-py does when Redis is gone
    monkeypatch.setattr(server.runtime.jobs, "enqueue_run", redis_down)

    # when a video is created
    body = await server.gql_raw(
        api.CREATE_VIDEO,
        {"input": {"prompt": "A ferry of lanterns leaves at night.", "durationSeconds": 10}},
    )

    # then it is answered once, as created and queued (the sweep sends its job again)
    assert not body.get("errors"), body["errors"]
    video = await api.video(server, body["data"]["createVideo"]["id"])
    assert (video["status"], video["checkpoints"]) == ("QUEUED", [])


async def test_an_s3_outage_during_cleanup_does_not_fail_a_committed_delete(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a video whose files are in a bucket that cannot be reached (botocore's error)
    video = await api.paused_video(server, prompt="A clockmaker repairs the moon at noon.")
    await api.continue_and_settle(server, api.newest(video["checkpoints"], phase=1)["id"])

    async def unreachable(sha256: str) -> None:
        raise EndpointConnectionError(endpoint_url="http://127.0.0.1:9/bucket")

    monkeypatch.setattr(server.runtime.storage, "delete", unreachable)

    # when it is deleted, then the committed delete is answered as done
    assert (await server.gql(api.DELETE, {"id": video["id"]}))["deleteVideo"] is True
    error = await server.gql_error(api.VIDEO, {"id": video["id"]})
    assert error["extensions"]["code"] == "NOT_FOUND"


def quick(server: Server) -> Runtime:
    """The server's runtime with a heartbeat of 10 ms, for the run watch's own loops."""
    settings = server.runtime.settings.model_copy(update={"run_heartbeat_seconds": 0.01})
    return dataclasses.replace(server.runtime, settings=settings)


def database_blip() -> OperationalError:
    return OperationalError("SELECT 1", {}, ConnectionResetError("connection was closed"))


async def test_a_database_blip_during_a_progress_report_does_not_fail_the_phase(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given phase 2 of a video whose first progress report meets a database blip
    video = await api.paused_video(server, prompt="A lantern festival drifts down a river.")
    real = runs.report_progress
    blips: list[float] = []

    async def blip_once(session: AsyncSession, *, work: RunWork, fraction: float) -> bool:
        if work.video_id == video["id"] and not blips:
            blips.append(fraction)
            raise database_blip()
        return await real(session, work=work, fraction=fraction)

    monkeypatch.setattr(runs, "report_progress", blip_once)

    # when the phase runs
    await api.continue_and_settle(server, api.newest(video["checkpoints"], phase=1)["id"])

    # then the report was skipped and the phase finished
    assert len(blips) == 1
    done = await api.video(server, video["id"])
    assert (done["status"], done["error"]) == ("PAUSED_AT_PHASE2", None)


def some_work() -> RunWork:
    return RunWork(
        run_id="run_watched",
        attempt=1,
        video_id="vid_watched",
        branch_id="br_watched",
        phase=2,
        generation={},
        prompt="p",
        title="t",
        duration_seconds=10,
        spec=None,
        inputs=[],
    )


async def test_the_heartbeat_outlives_a_database_blip(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given beats that meet a database blip, then succeed, then find the run taken over
    answers: list[bool | Exception] = [database_blip(), True, False]
    calls = 0

    async def beat(session: AsyncSession, *, work: RunWork) -> bool:
        nonlocal calls
        calls += 1
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    monkeypatch.setattr(runs, "beat", beat)

    # when the heartbeat runs, then it beats on past the blip and ends with the run
    await asyncio.wait_for(keep_beating(quick(server), some_work()), 30)
    assert calls == 3


class FlakyJobs:
    """A job queue that fails as redis-py does, then records what it is sent."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.sent: list[str] = []
        self.delivered = asyncio.Event()

    async def enqueue_run(self, run_id: str) -> None:
        if self.failures:
            self.failures -= 1
            redis_is_down()
        self.sent.append(run_id)
        self.delivered.set()

    async def regenerate(self, *args: object, **kwargs: object) -> dict[str, object]:
        raise AssertionError("not used")


async def test_the_sweep_outlives_a_redis_outage(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a lost run, and a job queue that is down for the first two sends
    async def lost(session: AsyncSession, **kwargs: object) -> list[str]:
        return ["run_lost"]

    monkeypatch.setattr(runs, "runs_to_requeue", lost)
    jobs = FlakyJobs(failures=2)
    rt = dataclasses.replace(quick(server), jobs=jobs)

    # when the sweep runs
    sweeper = asyncio.create_task(sweep_forever(rt))
    try:
        await asyncio.wait_for(jobs.delivered.wait(), 30)
    finally:
        sweeper.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sweeper

    # then it went on sweeping and sent the run once Redis was back
    assert jobs.sent[0] == "run_lost" and jobs.failures == 0


async def test_a_watched_task_that_ends_is_started_again() -> None:
    # given a task that fails once, then returns, then runs on
    starts = 0
    running = asyncio.Event()

    async def flaky() -> None:
        nonlocal starts
        starts += 1
        if starts == 1:
            raise RuntimeError("a bug, not an outage")
        if starts == 3:
            running.set()
            await asyncio.Event().wait()

    # when it runs watched for the life of the process
    watch = asyncio.create_task(watched("flaky", flaky, pause=0.01, forever=True))
    try:
        await asyncio.wait_for(running.wait(), 30)
    finally:
        watch.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watch

    # then both its failure and its return were followed by a fresh start
    assert starts == 3


class HeldImages(FailingProvider):
    """The real provider, except that regenerated images (seed > 0) wait for `release`."""

    name = "local"  # same idempotency keys as the real provider

    def __init__(self, real: Provider) -> None:
        super().__init__(real)
        self.entered = asyncio.Event()
        self.release = asyncio.Event()

    async def image(self, **kwargs: Any) -> Media:
        if kwargs["seed"]:
            self.entered.set()
            await self.release.wait()
        return await self.real.image(**kwargs)


async def test_a_regeneration_in_flight_stops_when_its_video_is_cancelled(server: Server) -> None:
    # given a video paused at phase 3, and a regeneration of an approved phase-2 image
    # held inside its provider call
    video = await api.paused_video(server, prompt="A paper crane learns to swim upstream.")
    await api.continue_and_settle(server, api.newest(video["checkpoints"], phase=1)["id"])
    phase2 = api.newest((await api.video(server, video["id"]))["checkpoints"], phase=2)
    await api.continue_and_settle(server, phase2["id"])
    real = server.runtime.provider
    held = HeldImages(real)
    server.runtime.provider = held
    try:
        regeneration = asyncio.create_task(
            server.gql_raw(api.REGENERATE_BEAT, {"id": phase2["id"], "index": 0})
        )
        await held.entered.wait()

        # when the video is cancelled while the image is made
        cancelled = await server.gql(api.CANCEL, {"id": video["id"]})
        held.release.set()
        body = await regeneration
    finally:
        server.runtime.provider = real

    # then the waiting mutation is told so, and nothing was stored
    assert cancelled["cancelVideo"]["status"] == "CANCELLED"
    [error] = body["errors"]
    assert error["extensions"]["code"] == "CONFLICT"
    assert error["message"] == (
        f"video {video['id']} was cancelled while regenerateBeat ran; nothing was stored"
    )
    after = api.newest((await api.video(server, video["id"]))["checkpoints"], phase=2)
    assert api.artifact(after, "beat_0")["version"] == 1
    assert after["editDescription"] is None


async def test_a_cleanup_never_removes_a_file_that_a_running_phase_is_about_to_store(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given two videos of one prompt (so identical storyboard files), the first at phase 2,
    # and the second's phase 2 held after making its images, before it stores them
    prompt = "Twin lighthouses blink at each other across a bay."
    first = await api.paused_video(server, prompt=prompt)
    await api.continue_and_settle(server, api.newest(first["checkpoints"], phase=1)["id"])
    second = await api.paused_video(server, prompt=prompt)
    real = runs.report_progress
    held, release = asyncio.Event(), asyncio.Event()

    async def hold_before_storing(session: AsyncSession, *, work: RunWork, fraction: float) -> bool:
        if work.video_id == second["id"] and fraction >= 1 and not release.is_set():
            held.set()
            await release.wait()
        return await real(session, work=work, fraction=fraction)

    monkeypatch.setattr(runs, "report_progress", hold_before_storing)
    await server.gql(api.CONTINUE, {"id": api.newest(second["checkpoints"], phase=1)["id"]})
    await held.wait()

    # when the first video is deleted (its files are unreferenced now) and the phase goes on
    assert (await server.gql(api.DELETE, {"id": first["id"]}))["deleteVideo"] is True
    release.set()
    await server.settle()

    # then every file the second video's storyboard references is stored and served
    done = await api.video(server, second["id"])
    assert done["status"] == "PAUSED_AT_PHASE2", done["error"]
    phase2 = api.newest(done["checkpoints"], phase=2)
    images = [a for a in phase2["artifacts"] if a["key"].startswith("beat_")]
    assert images
    for image in images:
        assert await server.runtime.storage.exists(image["sha256"]), image["key"]
        assert (await server.http.get(image["url"])).status_code == 200
