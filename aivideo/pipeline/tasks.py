"""The jobs: one per phase run and one per regeneration. They take IDs and are safe to retry."""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col
from taskiq import TaskiqEvents, TaskiqState

from aivideo.domain import edits, runs
from aivideo.domain.tree import latest_artifacts, spec_of
from aivideo.domain.values import ArtifactRef
from aivideo.errors import AivideoError, NotFound
from aivideo.models import Artifact, ArtifactType, Checkpoint, Phase
from aivideo.pipeline.broker import broker
from aivideo.pipeline.phases import PHASES, beat_image, new_artifact, stitched_video, video_chunk
from aivideo.providers.base import ProviderError
from aivideo.runtime import Runtime, current_runtime

log = logging.getLogger(__name__)


class RunCancelled(Exception):
    """The run was cancelled while it worked; its results are dropped."""


@broker.on_event(TaskiqEvents.WORKER_STARTUP)
async def start_worker_runtime(state: TaskiqState) -> None:
    # In a worker process the runtime is built here; in the API process it already exists.
    from aivideo.bootstrap import ensure_runtime

    await ensure_runtime()


@broker.task(task_name="aivideo.run_phase")
async def run_phase(run_id: str) -> None:
    """Execute one phase run from start to its checkpoint."""
    rt = current_runtime()
    async with rt.transaction() as session:
        work = await runs.start_run(session, run_id=run_id)
    if work is None:
        return

    async def progress(fraction: float) -> None:
        async with rt.transaction() as session:
            if not await runs.report_progress(session, run_id=run_id, fraction=fraction):
                raise RunCancelled(run_id)

    try:
        outputs = await PHASES[work.phase](rt, work, progress)
        async with rt.transaction() as session:
            await runs.complete_run(session, run_id=run_id, outputs=outputs)
    except RunCancelled:
        log.info("run %s was cancelled while running", run_id)
    except NotFound:
        log.info("run %s vanished with its video", run_id)
    except Exception as exc:
        await _fail(rt, run_id, work.phase, exc)


async def _fail(rt: Runtime, run_id: str, phase: int, exc: Exception) -> None:
    name = Phase.of(phase).value
    if isinstance(exc, ProviderError | AivideoError):
        message = f"phase {phase} ({name}) failed: {exc}"
    else:
        log.error("run %s failed", run_id, exc_info=exc)
        message = f"phase {phase} ({name}) failed with an internal error; continue retries it"
    async with rt.transaction() as session:
        await runs.fail_run(session, run_id=run_id, error=message)


def _error(exc: AivideoError) -> dict[str, Any]:
    # Expected errors travel as data: a result backend need not pickle exceptions.
    return {"error": {"code": exc.code, "message": str(exc)}}


@broker.task(task_name="aivideo.regenerate_beat")
async def regenerate_beat(
    owner: str, checkpoint_id: str, beat_index: int, prompt_override: str | None, job_id: str
) -> dict[str, Any]:
    """Re-render one storyboard image as the beat's next version."""
    rt = current_runtime()
    try:
        async with rt.sessions() as session:
            target = await edits.find_edit_target(
                session,
                owner=owner,
                checkpoint_id=checkpoint_id,
                edit="regenerateBeat",
                index=beat_index,
            )
            spec = await spec_of(session, await _checkpoint(session, checkpoint_id))
        prompt = prompt_override or spec["beats"][beat_index]["prompt"]
        media = await beat_image(
            rt, job_id=job_id, spec=spec, index=beat_index, prompt=prompt, seed=target.version
        )
        detail = f" with prompt {prompt_override!r}" if prompt_override else ""
        async with rt.transaction() as session:
            artifact = await edits.add_version(
                session,
                owner=owner,
                checkpoint_id=checkpoint_id,
                new=new_artifact(
                    ArtifactType.BEAT_IMAGE,
                    target.key,
                    media,
                    beatIndex=beat_index,
                    prompt=prompt,
                    seed=target.version,
                ),
                description=f"Regenerated {target.key}{detail}",
            )
        return {"artifactId": artifact.id}
    except AivideoError as exc:
        return _error(exc)


@broker.task(task_name="aivideo.regenerate_chunk")
async def regenerate_chunk(
    owner: str, checkpoint_id: str, chunk_index: int, model_override: str | None, job_id: str
) -> dict[str, Any]:
    """Re-render one clip as the chunk's next version, and re-stitch the preview with it."""
    rt = current_runtime()
    try:
        async with rt.sessions() as session:
            target = await edits.find_edit_target(
                session,
                owner=owner,
                checkpoint_id=checkpoint_id,
                edit="regenerateChunk",
                index=chunk_index,
            )
            checkpoint = await _checkpoint(session, checkpoint_id)
            spec = await spec_of(session, checkpoint)
            image = await _consumed_image(session, checkpoint, chunk_index)
        media = await video_chunk(
            rt,
            job_id=job_id,
            spec=spec,
            index=chunk_index,
            image=image,
            seed=target.version,
            model=model_override,
        )
        detail = f" with model {model_override!r}" if model_override else ""
        async with rt.transaction() as session:
            artifact = await edits.add_version(
                session,
                owner=owner,
                checkpoint_id=checkpoint_id,
                new=new_artifact(
                    ArtifactType.VIDEO_CHUNK,
                    target.key,
                    media,
                    beatIndex=chunk_index,
                    sourceImage=image.id,
                    model=model_override,
                    seed=target.version,
                ),
                description=f"Regenerated {target.key}{detail}",
            )
            await _restitch(rt, session, owner=owner, checkpoint_id=checkpoint_id, job_id=job_id)
        return {"artifactId": artifact.id}
    except AivideoError as exc:
        return _error(exc)


async def _restitch(
    rt: Runtime, session: AsyncSession, *, owner: str, checkpoint_id: str, job_id: str
) -> None:
    # Inside the edit's transaction (under the video lock): two chunk regenerations
    # cannot stitch past each other.
    latest = await latest_artifacts(session, checkpoint_id)
    chunks = [a.sha256 or "" for a in latest if a.type == ArtifactType.VIDEO_CHUNK]
    stitched = await stitched_video(rt, job_id=job_id, chunk_shas=chunks, session=session)
    await edits.add_version(
        session,
        owner=owner,
        checkpoint_id=checkpoint_id,
        new=new_artifact(ArtifactType.STITCHED_VIDEO, "stitched", stitched),
        description="Re-stitched after a chunk was regenerated",
    )


async def _checkpoint(session: AsyncSession, checkpoint_id: str) -> Checkpoint:
    checkpoint = await session.get(Checkpoint, checkpoint_id)
    if checkpoint is None:
        raise NotFound.of("checkpoint", checkpoint_id)
    return checkpoint


async def _consumed_image(session: AsyncSession, checkpoint: Checkpoint, index: int) -> ArtifactRef:
    """The beat image this chunk's phase consumed (one of the checkpoint's inputs)."""
    inputs = await session.scalars(
        select(Artifact).where(col(Artifact.id).in_(checkpoint.input_ids))
    )
    image = next((a for a in inputs if a.key == f"beat_{index}"), None)
    if image is None:
        raise NotFound(f"the storyboard image that chunk {index} was made from is gone")
    return ArtifactRef.of(image)
