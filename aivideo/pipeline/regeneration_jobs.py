"""Regeneration jobs: a storyboard image or a clip re-made as its key's next version."""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Coroutine
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from aivideo.domain import edits
from aivideo.domain.locking import lock_video_of
from aivideo.domain.tree import latest_artifacts, spec_of
from aivideo.domain.values import ArtifactRef, NewArtifact
from aivideo.errors import AivideoError, Conflict, GenerationFailed, NotFound
from aivideo.models import Artifact, ArtifactType, Checkpoint, Video, VideoStatus
from aivideo.pipeline.phases import (
    Progress,
    beat_image,
    new_artifact,
    stitched_video,
    video_chunk,
)
from aivideo.pipeline.provider_calls import Job, StoredMedia
from aivideo.providers.base import ProviderError
from aivideo.runtime import Runtime
from aivideo.runtime.file_cleanup import StoredFileGone, redo_if_file_gone


@dataclass(frozen=True)
class EditContext:
    """A checked regeneration: its target, the checkpoint, its video and the spec it uses."""

    edit: str
    target: edits.EditTarget
    checkpoint: Checkpoint
    video: Video
    spec: dict[str, Any]

    def job(self, job_id: str) -> Job:
        return Job(video_id=self.video.id, payer=job_id)

    def stop_if_cancelled(self, now: Video | None) -> None:
        """CONFLICT when the video was cancelled since this regeneration started.

        cancelVideo stops a regeneration in flight as it stops runs; one started on an
        already cancelled video (an approved checkpoint stays editable) goes ahead.
        """
        if now is None:
            raise NotFound.of("video", self.video.id)
        cancelled = VideoStatus.CANCELLED.value
        if now.status == cancelled and self.video.status != cancelled:
            raise Conflict(
                f"video {self.video.id} was cancelled while {self.edit} ran; nothing was stored"
            )

    async def check_still_wanted(self, rt: Runtime) -> None:
        """Stop here if the video was cancelled meanwhile (before a provider call, on progress)."""
        async with rt.sessions() as session:
            self.stop_if_cancelled(await session.get(Video, self.video.id))

    async def lock_for_storing(self, session: AsyncSession) -> None:
        """Take the video's lock, and stop if it was cancelled: the store then decides."""
        self.stop_if_cancelled(
            await lock_video_of(
                session,
                model=Checkpoint,
                row_id=self.checkpoint.id,
                owner=self.video.owner,
                kind="checkpoint",
            )
        )

    async def on_progress(self, rt: Runtime) -> Progress:
        async def report(_: float) -> None:
            await self.check_still_wanted(rt)

        return report


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
        return EditContext(edit, target, checkpoint, video, await spec_of(session, checkpoint))


def variation_seed(job_id: str) -> int:
    """A seed of its own for each regeneration (concurrent ones differ), the same on retry."""
    return int.from_bytes(hashlib.sha256(job_id.encode()).digest()[:4], "big") % 2**31


async def _unless_cancelled(
    rt: Runtime, ctx: EditContext, call: Coroutine[Any, Any, StoredMedia]
) -> StoredMedia:
    """The provider call's result; stopped before it starts if the video was cancelled, and a
    failure caused by the cancel (it stops hosted predictions) is reported as the cancel."""
    try:
        await ctx.check_still_wanted(rt)
    except BaseException:
        call.close()  # never started: no "never awaited" warning
        raise
    try:
        return await call
    except ProviderError:
        await ctx.check_still_wanted(rt)
        raise


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
        redo_if_file_gone(f"regeneration {job_id}")(
            _regenerate_beat, rt, owner, checkpoint_id, beat_index, prompt_override, job_id
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
    media = await _unless_cancelled(
        rt,
        ctx,
        beat_image(
            rt,
            job=ctx.job(job_id),
            model=ctx.video.generation["imageModel"],
            spec=ctx.spec,
            index=index,
            prompt=prompt,
            seed=seed,
            progress=await ctx.on_progress(rt),
        ),
    )
    detail = f" with prompt {prompt_override!r}" if prompt_override else ""
    new = new_artifact(
        ArtifactType.BEAT_IMAGE, ctx.target.key, media, beatIndex=index, prompt=prompt, seed=seed
    )
    return await _store_version(rt, ctx, new, f"Regenerated {ctx.target.key}{detail}")


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
        redo_if_file_gone(f"regeneration {job_id}")(
            _regenerate_chunk, rt, owner, checkpoint_id, chunk_index, model_override, job_id
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
    media = await _unless_cancelled(
        rt,
        ctx,
        video_chunk(
            rt,
            job=ctx.job(job_id),
            model=model,
            spec=ctx.spec,
            index=index,
            image=image,
            seed=seed,
            progress=await ctx.on_progress(rt),
        ),
    )
    detail = f" with model {model_override!r}" if model_override else ""
    new = new_artifact(
        ArtifactType.VIDEO_CHUNK,
        ctx.target.key,
        media,
        beatIndex=index,
        sourceImage=image.id,
        seed=seed,
    )
    artifact = await _store_version(rt, ctx, new, f"Regenerated {ctx.target.key}{detail}")
    await _restitch(rt, ctx, job=ctx.job(job_id))
    return artifact


async def _store_version(
    rt: Runtime, ctx: EditContext, new: NewArtifact, description: str
) -> Artifact:
    """The regenerated file as its key's next version (unless the video was cancelled)."""
    assert new.sha256 is not None
    async with rt.transaction() as session:
        await ctx.lock_for_storing(session)
        artifact = await edits.add_version(
            session,
            owner=ctx.video.owner,
            checkpoint_id=ctx.checkpoint.id,
            new=new,
            description=description,
        )
        await rt.files.hold(session, [new.sha256])
    return artifact


async def _latest_chunks(session: AsyncSession, checkpoint_id: str) -> list[str]:
    latest = await latest_artifacts(session, checkpoint_id)
    return [a.sha256 or "" for a in latest if a.type == ArtifactType.VIDEO_CHUNK]


async def _restitch(rt: Runtime, ctx: EditContext, *, job: Job) -> None:
    """A new stitched preview from the latest chunks, stitched outside any lock.

    If another regeneration changed the chunks meanwhile, stitch again: the stored
    preview always shows the chunks that are latest when it is stored. If the video was
    cancelled since the chunk was stored, no new preview is made.
    """
    owner, checkpoint_id = ctx.video.owner, ctx.checkpoint.id
    async with rt.sessions() as session:
        chunks = await _latest_chunks(session, checkpoint_id)
    while True:
        stitched = await stitched_video(rt, job=job, chunk_shas=chunks)
        try:
            async with rt.transaction() as session:
                try:
                    await ctx.lock_for_storing(session)
                except Conflict:
                    return
                current = await _latest_chunks(session, checkpoint_id)
                if current == chunks:
                    await edits.add_version(
                        session,
                        owner=owner,
                        checkpoint_id=checkpoint_id,
                        new=new_artifact(ArtifactType.STITCHED_VIDEO, "stitched", stitched),
                        description="Re-stitched after a chunk was regenerated",
                    )
                    await rt.files.hold(session, [stitched.sha256])
                    return
        except StoredFileGone:
            continue  # the preview file was removed meanwhile: stitch it again
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
