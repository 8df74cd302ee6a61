"""Regeneration jobs: a storyboard image or a clip re-made as its key's next version."""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from aivideo.domain import edits
from aivideo.domain.locking import lock_video_of
from aivideo.domain.tree import latest_artifacts, spec_of
from aivideo.domain.values import ArtifactRef
from aivideo.errors import AivideoError, GenerationFailed, NotFound
from aivideo.models import Artifact, ArtifactType, Checkpoint, Video
from aivideo.pipeline.phases import beat_image, new_artifact, stitched_video, video_chunk
from aivideo.pipeline.provider_calls import Job
from aivideo.providers.base import ProviderError
from aivideo.runtime import Runtime


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


async def regenerate_beat(
    rt: Runtime,
    owner: str,
    checkpoint_id: str,
    beat_index: int,
    prompt_override: str | None,
    job_id: str,
) -> dict[str, Any]:
    """Re-render one storyboard image as the beat's next version."""
    return await _as_result(
        _regenerate_beat(rt, owner, checkpoint_id, beat_index, prompt_override, job_id)
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


async def regenerate_chunk(
    rt: Runtime,
    owner: str,
    checkpoint_id: str,
    chunk_index: int,
    model_override: str | None,
    job_id: str,
) -> dict[str, Any]:
    """Re-render one clip as the chunk's next version, and re-stitch the preview with it."""
    return await _as_result(
        _regenerate_chunk(rt, owner, checkpoint_id, chunk_index, model_override, job_id)
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
