"""The jobs: one per phase run and one per regeneration. They take IDs and are safe to retry."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Awaitable
from contextlib import suppress
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col
from taskiq import TaskiqEvents, TaskiqState

from aivideo.domain import edits, runs
from aivideo.domain.locking import lock_video_of
from aivideo.domain.tree import latest_artifacts, spec_of
from aivideo.domain.values import ArtifactRef, RunWork
from aivideo.errors import AivideoError, GenerationFailed, NotFound
from aivideo.models import Artifact, ArtifactType, Checkpoint, Phase, Video
from aivideo.pipeline.broker import broker
from aivideo.pipeline.phases import PHASES, beat_image, new_artifact, stitched_video, video_chunk
from aivideo.pipeline.provider_calls import Job
from aivideo.providers.base import ProviderError
from aivideo.runtime import Runtime, current_runtime

log = logging.getLogger(__name__)


class RunCancelled(Exception):
    """The run was cancelled while it worked; its results are dropped."""


@broker.on_event(TaskiqEvents.WORKER_STARTUP)
async def start_worker_runtime(state: TaskiqState) -> None:
    # In a worker process the runtime is built here; in the API process it already exists.
    from aivideo.bootstrap import ensure_runtime

    rt = await ensure_runtime()
    if rt.settings.redis_url:
        state.sweeper = asyncio.create_task(sweep_forever(rt))


@broker.on_event(TaskiqEvents.WORKER_SHUTDOWN)
async def stop_worker_sweeper(state: TaskiqState) -> None:
    sweeper = getattr(state, "sweeper", None)
    if sweeper is not None:
        sweeper.cancel()
        with suppress(asyncio.CancelledError):
            await sweeper


def stale_after(rt: Runtime) -> timedelta:
    # Three missed beats: one late beat is not a death.
    return timedelta(seconds=3 * rt.settings.run_heartbeat_seconds)


@broker.task(task_name="aivideo.run_phase")
async def run_phase(run_id: str) -> None:
    """Execute one phase run from start to its checkpoint."""
    rt = current_runtime()
    try:
        async with rt.transaction() as session:
            work = await runs.start_run(session, run_id=run_id, stale_after=stale_after(rt))
    except NotFound:
        work = None  # the video was deleted before the job started
    if work is None:
        return
    heart = asyncio.create_task(_beat(rt, work))
    try:
        await _execute(rt, work)
    finally:
        heart.cancel()
        with suppress(asyncio.CancelledError):
            await heart


async def _execute(rt: Runtime, work: RunWork) -> None:
    async def progress(fraction: float) -> None:
        async with rt.transaction() as session:
            if not await runs.report_progress(session, work=work, fraction=fraction):
                raise RunCancelled(work.run_id)

    try:
        outputs = await PHASES[work.phase](rt, work, progress)
        async with rt.transaction() as session:
            await runs.complete_run(session, work=work, outputs=outputs)
    except RunCancelled:
        log.info("run %s was cancelled or taken over while running", work.run_id)
    except NotFound:
        log.info("run %s vanished with its video", work.run_id)
    except Exception as exc:
        await _fail(rt, work, exc)


async def _beat(rt: Runtime, work: RunWork) -> None:
    """Show the run is alive until it ends (or another attempt owns it)."""
    while True:
        await asyncio.sleep(rt.settings.run_heartbeat_seconds)
        async with rt.transaction() as session:
            if not await runs.beat(session, work=work):
                return


async def sweep_forever(rt: Runtime) -> None:
    """Queue again the runs whose worker died, so that a live worker takes them over."""
    while True:
        await asyncio.sleep(rt.settings.run_heartbeat_seconds)
        try:
            async with rt.transaction() as session:
                lost = await runs.runs_to_requeue(
                    session, stale_after=stale_after(rt), queued_after=10 * stale_after(rt)
                )
            for run_id in lost:
                log.warning("run %s looks lost; queueing it again", run_id)
                await rt.enqueue_run(run_id)
        except (OSError, SQLAlchemyError) as exc:  # a passing outage: try on the next round
            log.warning("could not sweep for stale runs: %s", exc)


async def _fail(rt: Runtime, work: RunWork, exc: Exception) -> None:
    name = Phase.of(work.phase).value
    if isinstance(exc, ProviderError | AivideoError):
        message = f"phase {work.phase} ({name}) failed: {exc}"
    else:
        log.error("run %s failed", work.run_id, exc_info=exc)
        message = (
            f"phase {work.phase} ({name}) failed with an internal error; retryBranch retries it"
        )
    async with rt.transaction() as session:
        await runs.fail_run(session, work=work, error=message)


@dataclass(frozen=True)
class EditContext:
    """A checked regeneration: its target, the checkpoint, its video and the spec it uses."""

    target: edits.EditTarget
    checkpoint: Checkpoint
    video: Video
    spec: dict[str, Any]

    def job(self, job_id: str) -> Job:
        return Job(video_id=self.video.id, payer=job_id)


async def _edit_context(
    rt: Runtime, owner: str, checkpoint_id: str, edit: str, index: int
) -> EditContext:
    async with rt.sessions() as session:
        target = await edits.find_edit_target(
            session, owner=owner, checkpoint_id=checkpoint_id, edit=edit, index=index
        )
        checkpoint = await session.get(Checkpoint, checkpoint_id)
        video = await session.get(Video, target.video_id)
        if checkpoint is None or video is None:
            raise NotFound.of("checkpoint", checkpoint_id)
        return EditContext(target, checkpoint, video, await spec_of(session, checkpoint))


def variation_seed(job_id: str) -> int:
    """A seed of its own for each regeneration (concurrent ones differ), the same on retry."""
    return int.from_bytes(hashlib.sha256(job_id.encode()).digest()[:4], "big") % 2**31


async def _as_result(work: Awaitable[Artifact]) -> dict[str, Any]:
    """The job's result as data: a result backend need not pickle exceptions."""
    try:
        artifact = await work
    except AivideoError as exc:
        return {"error": {"code": exc.code, "message": str(exc)}}
    except ProviderError as exc:
        return {"error": {"code": GenerationFailed.code, "message": str(exc)}}
    return {"artifactId": artifact.id}


@broker.task(task_name="aivideo.regenerate_beat")
async def regenerate_beat(
    owner: str, checkpoint_id: str, beat_index: int, prompt_override: str | None, job_id: str
) -> dict[str, Any]:
    """Re-render one storyboard image as the beat's next version."""
    return await _as_result(
        _regenerate_beat(
            current_runtime(), owner, checkpoint_id, beat_index, prompt_override, job_id
        )
    )


async def _regenerate_beat(
    rt: Runtime,
    owner: str,
    checkpoint_id: str,
    index: int,
    prompt_override: str | None,
    job_id: str,
) -> Artifact:
    ctx = await _edit_context(rt, owner, checkpoint_id, "regenerateBeat", index)
    prompt = prompt_override or ctx.spec["beats"][index]["prompt"]
    seed = variation_seed(job_id)
    media = await beat_image(
        rt, job=ctx.job(job_id), model=ctx.video.generation["imageModel"], spec=ctx.spec,
        index=index, prompt=prompt, seed=seed,
    )
    detail = f" with prompt {prompt_override!r}" if prompt_override else ""
    async with rt.transaction() as session:
        return await edits.add_version(
            session,
            owner=owner,
            checkpoint_id=checkpoint_id,
            new=new_artifact(
                ArtifactType.BEAT_IMAGE,
                ctx.target.key,
                media,
                beatIndex=index,
                prompt=prompt,
                seed=seed,
            ),
            description=f"Regenerated {ctx.target.key}{detail}",
        )


@broker.task(task_name="aivideo.regenerate_chunk")
async def regenerate_chunk(
    owner: str, checkpoint_id: str, chunk_index: int, model_override: str | None, job_id: str
) -> dict[str, Any]:
    """Re-render one clip as the chunk's next version, and re-stitch the preview with it."""
    return await _as_result(
        _regenerate_chunk(
            current_runtime(), owner, checkpoint_id, chunk_index, model_override, job_id
        )
    )


async def _regenerate_chunk(
    rt: Runtime, owner: str, checkpoint_id: str, index: int, model_override: str | None, job_id: str
) -> Artifact:
    ctx = await _edit_context(rt, owner, checkpoint_id, "regenerateChunk", index)
    async with rt.sessions() as session:
        image = await _consumed_image(session, ctx.checkpoint, index)
    seed = variation_seed(job_id)
    model = model_override or ctx.video.generation["videoModel"]
    media = await video_chunk(
        rt, job=ctx.job(job_id), model=model, spec=ctx.spec, index=index, image=image, seed=seed
    )
    detail = f" with model {model_override!r}" if model_override else ""
    async with rt.transaction() as session:
        artifact = await edits.add_version(
            session,
            owner=owner,
            checkpoint_id=checkpoint_id,
            new=new_artifact(
                ArtifactType.VIDEO_CHUNK,
                ctx.target.key,
                media,
                beatIndex=index,
                sourceImage=image.id,
                seed=seed,
            ),
            description=f"Regenerated {ctx.target.key}{detail}",
        )
    await _restitch(rt, owner=owner, checkpoint_id=checkpoint_id, job=ctx.job(job_id))
    return artifact


async def _latest_chunks(session: AsyncSession, checkpoint_id: str) -> list[str]:
    latest = await latest_artifacts(session, checkpoint_id)
    return [a.sha256 or "" for a in latest if a.type == ArtifactType.VIDEO_CHUNK]


async def _restitch(rt: Runtime, *, owner: str, checkpoint_id: str, job: Job) -> None:
    """A new stitched preview from the latest chunks, stitched outside any lock.

    If another regeneration changed the chunks meanwhile, stitch again: the stored
    preview always shows the chunks that are latest when it is stored.
    """
    async with rt.sessions() as session:
        chunks = await _latest_chunks(session, checkpoint_id)
    while True:
        stitched = await stitched_video(rt, job=job, chunk_shas=chunks)
        async with rt.transaction() as session:
            await lock_video_of(
                session, model=Checkpoint, row_id=checkpoint_id, owner=owner, kind="checkpoint"
            )
            current = await _latest_chunks(session, checkpoint_id)
            if current == chunks:
                await edits.add_version(
                    session,
                    owner=owner,
                    checkpoint_id=checkpoint_id,
                    new=new_artifact(ArtifactType.STITCHED_VIDEO, "stitched", stitched),
                    description="Re-stitched after a chunk was regenerated",
                )
                return
        chunks = current


async def _consumed_image(session: AsyncSession, checkpoint: Checkpoint, index: int) -> ArtifactRef:
    """The beat image this chunk's phase consumed (one of the checkpoint's inputs)."""
    inputs = await session.scalars(
        select(Artifact).where(col(Artifact.id).in_(checkpoint.input_ids))
    )
    image = next((a for a in inputs if a.key == f"beat_{index}"), None)
    if image is None:
        raise NotFound(f"the storyboard image that chunk {index} was made from is gone")
    return ArtifactRef.of(image)
