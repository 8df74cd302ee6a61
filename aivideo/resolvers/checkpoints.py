"""Checkpoint mutations: edits, regenerations (as jobs), branch, continue and retry."""

from __future__ import annotations

import asyncio
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col
from strawberry.file_uploads import Upload

from aivideo import models
from aivideo.domain import budget, continuation, edits
from aivideo.domain.spec_rules import PROMPT_MAX_CHARS
from aivideo.domain.tree import spec_of
from aivideo.domain.values import NewArtifact
from aivideo.errors import (
    AivideoError,
    BadUserInput,
    BudgetExceeded,
    Conflict,
    GenerationFailed,
    NotFound,
    PhaseMismatch,
)
from aivideo.media.images import normalize_image
from aivideo.providers.estimates import estimate_usd, next_paid_call
from aivideo.runtime import Runtime
from aivideo.runtime.file_cleanup import redo_if_file_gone
from aivideo.schema.context import Info

MAX_UPLOAD_BYTES = 25 * 1024 * 1024
_ERRORS: dict[str, type[AivideoError]] = {
    cls.code: cls
    for cls in (BadUserInput, NotFound, PhaseMismatch, Conflict, BudgetExceeded, GenerationFailed)
}


async def edit_spec(
    info: Info, checkpoint_id: str, patch: Any, description: str | None
) -> models.Artifact:
    await info.context.runtime.limiter.spend(info.context.owner)
    async with info.context.runtime.transaction() as session:
        return await edits.edit_spec(
            session,
            owner=info.context.owner,
            checkpoint_id=checkpoint_id,
            patch=patch,
            description=description,
        )


async def upload_beat_image(
    info: Info, checkpoint_id: str, beat_index: int, image: Upload
) -> models.Artifact:
    """A PNG or JPEG becomes the beat's next version, fitted to 1280x720 PNG."""
    rt, owner = info.context.runtime, info.context.owner
    async with rt.sessions() as session:
        target = await edits.find_edit_target(
            session,
            owner=owner,
            checkpoint_id=checkpoint_id,
            edit="uploadBeatImage",
            index=beat_index,
        )
    content = await image.read(MAX_UPLOAD_BYTES + 1)  # type: ignore[attr-defined]
    if len(content) > MAX_UPLOAD_BYTES:
        raise BadUserInput(f"image is larger than {MAX_UPLOAD_BYTES // (1024 * 1024)} MiB")
    try:
        png = await asyncio.to_thread(normalize_image, content)
    except ValueError as exc:
        raise BadUserInput(f"the uploaded file cannot be used: {exc}") from exc
    filename = getattr(image, "filename", None) or "upload"

    async def store() -> models.Artifact:
        stored = await rt.storage.put(png, content_type="image/png")
        async with rt.transaction() as session:
            artifact = await edits.add_version(
                session,
                owner=owner,
                checkpoint_id=checkpoint_id,
                new=NewArtifact(
                    type=models.ArtifactType.BEAT_IMAGE,
                    key=target.key,
                    sha256=stored.sha256,
                    content_type="image/png",
                    size_bytes=stored.size_bytes,
                    meta={
                        "beatIndex": beat_index,
                        "uploadedFilename": filename,
                        "uploadedContentType": getattr(image, "content_type", None),
                        "uploadedBytes": len(content),
                    },
                ),
                description=f"Uploaded {target.key} image ({filename})",
            )
            await rt.files.hold(session, [stored.sha256])
            return artifact

    # An identical file being removed by a cleanup meanwhile is put back, and stored again.
    return await redo_if_file_gone(f"upload to {checkpoint_id}")(store)


async def regenerate(
    info: Info, *, edit: str, checkpoint_id: str, index: int, override: str | None
) -> models.Artifact:
    """Check the edit here for a fast answer, then run it as a job and wait for it."""
    if edit == "regenerateBeat" and override is not None and len(override) > PROMPT_MAX_CHARS:
        raise BadUserInput(
            f"promptOverride must be at most {PROMPT_MAX_CHARS:,} characters; "
            f"it has {len(override):,}"
        )
    rt, owner = info.context.runtime, info.context.owner
    await rt.limiter.spend(owner)
    if edit == "regenerateChunk" and override is not None:
        rt.catalog.check("videoModel", override)
    async with rt.sessions() as session:
        target = await edits.find_edit_target(
            session, owner=owner, checkpoint_id=checkpoint_id, edit=edit, index=index
        )
        await _require_room_to_regenerate(session, rt, target, edit=edit, override=override)
    outcome = await rt.jobs.regenerate(
        edit, owner=owner, checkpoint_id=checkpoint_id, index=index, override=override
    )
    if "error" in outcome:
        raise _ERRORS.get(outcome["error"]["code"], AivideoError)(outcome["error"]["message"])
    artifact = await info.context.refresh_loaders().artifact_by_id.load(outcome["artifactId"])
    assert artifact is not None
    return artifact


async def _require_room_to_regenerate(
    session: AsyncSession,
    rt: Runtime,
    target: edits.EditTarget,
    *,
    edit: str,
    override: str | None,
) -> None:
    """BUDGET_EXCEEDED at once, with nothing queued, when the model call cannot fit."""
    video = await session.get(models.Video, target.video_id)
    assert video is not None
    if edit == "regenerateBeat":
        model = video.generation["imageModel"]
        usd = estimate_usd(rt.catalog, model, "IMAGE")
    else:
        model = override or video.generation["videoModel"]
        checkpoint = await session.get(models.Checkpoint, target.checkpoint_id)
        assert checkpoint is not None
        spec = await spec_of(session, checkpoint)
        index = int(target.key.rsplit("_", 1)[1])
        seconds = float(spec["beats"][index]["duration"])
        usd = estimate_usd(rt.catalog, model, "VIDEO", seconds=seconds)
    budget.require_room(video, usd, what=f"{edit} with {model}")


async def create_branch(info: Info, checkpoint_id: str, name: str | None) -> models.Branch:
    await info.context.runtime.limiter.spend(info.context.owner)
    async with info.context.runtime.transaction() as session:
        return await continuation.create_branch(
            session, owner=info.context.owner, checkpoint_id=checkpoint_id, name=name
        )


async def continue_checkpoint(
    info: Info, checkpoint_id: str, branch_name: str | None
) -> continuation.ContinueOutcome:
    rt = info.context.runtime
    await rt.limiter.spend(info.context.owner)
    async with rt.sessions() as session:
        await _require_room_to_continue(
            session, rt, owner=info.context.owner, checkpoint_id=checkpoint_id
        )
    async with rt.transaction() as session:
        return await continuation.continue_checkpoint(
            session, owner=info.context.owner, checkpoint_id=checkpoint_id, branch_name=branch_name
        )


async def _require_room_to_continue(
    session: AsyncSession, rt: Runtime, *, owner: str, checkpoint_id: str
) -> None:
    """BUDGET_EXCEEDED at once, with nothing queued, when the next phase's first call cannot fit."""
    row = await info_checkpoint(session, owner=owner, checkpoint_id=checkpoint_id)
    if row is None:
        return  # continue_checkpoint answers NOT_FOUND
    checkpoint, video = row
    if checkpoint.phase >= models.FINAL_PHASE:
        return  # continue_checkpoint answers BAD_USER_INPUT
    await _require_room_for_phase(session, rt, video, checkpoint.phase + 1, checkpoint)


async def _require_room_to_retry(
    session: AsyncSession, rt: Runtime, *, owner: str, branch_id: str
) -> None:
    """BUDGET_EXCEEDED at once when the retried phase's first call cannot fit."""
    branch = await session.get(models.Branch, branch_id)
    video = await session.get(models.Video, branch.video_id) if branch else None
    if branch is None or video is None or video.owner != owner:
        return  # retry_branch answers NOT_FOUND
    last = await session.scalar(
        select(models.Run)
        .where(col(models.Run.branch_id) == branch.id)
        .order_by(col(models.Run.created_at).desc())
        .limit(1)
    )
    if last is None:
        return  # retry_branch says there is nothing to retry
    parent = (
        await session.get(models.Checkpoint, last.parent_checkpoint_id)
        if last.parent_checkpoint_id
        else None
    )
    await _require_room_for_phase(session, rt, video, last.phase, parent)


async def _require_room_for_phase(
    session: AsyncSession,
    rt: Runtime,
    video: models.Video,
    phase: int,
    parent: models.Checkpoint | None,
) -> None:
    spec = await spec_of(session, parent) if parent is not None else None
    usd, what = next_paid_call(
        rt.catalog,
        video.generation,
        phase=phase,
        spec=spec,
        duration_seconds=video.duration_seconds,
        prompt=video.prompt,
    )
    budget.require_room(video, usd, what=what)


async def info_checkpoint(
    session: AsyncSession, *, owner: str, checkpoint_id: str
) -> tuple[models.Checkpoint, models.Video] | None:
    checkpoint = await session.get(models.Checkpoint, checkpoint_id)
    video = await session.get(models.Video, checkpoint.video_id) if checkpoint else None
    if checkpoint is None or video is None or video.owner != owner:
        return None
    return checkpoint, video


async def retry_branch(info: Info, branch_id: str) -> models.Branch:
    rt = info.context.runtime
    await rt.limiter.spend(info.context.owner)
    async with rt.sessions() as session:
        await _require_room_to_retry(session, rt, owner=info.context.owner, branch_id=branch_id)
    async with rt.transaction() as session:
        return await continuation.retry_branch(
            session, owner=info.context.owner, branch_id=branch_id
        )
