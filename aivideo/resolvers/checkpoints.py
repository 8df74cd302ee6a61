"""Checkpoint mutations: edits, regenerations (as jobs), branch and continue."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from strawberry.file_uploads import Upload

from aivideo import models
from aivideo.domain import continuation, edits
from aivideo.domain.spec_rules import PROMPT_MAX_CHARS
from aivideo.domain.values import NewArtifact
from aivideo.errors import AivideoError, BadUserInput, Conflict, NotFound, PhaseMismatch
from aivideo.media.images import normalize_image
from aivideo.schema.context import Info

MAX_UPLOAD_BYTES = 25 * 1024 * 1024
_ERRORS: dict[str, type[AivideoError]] = {
    cls.code: cls for cls in (BadUserInput, NotFound, PhaseMismatch, Conflict)
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
    stored = await rt.storage.put(png, content_type="image/png")
    filename = getattr(image, "filename", None) or "upload"
    async with rt.transaction() as session:
        return await edits.add_version(
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


async def regenerate(
    info: Info, *, edit: str, checkpoint_id: str, index: int, override: str | None
) -> models.Artifact:
    """Check the edit here for a fast answer, then run it as a job and wait for it."""
    from aivideo.pipeline.tasks import regenerate_beat, regenerate_chunk

    if edit == "regenerateBeat" and override is not None and len(override) > PROMPT_MAX_CHARS:
        raise BadUserInput(
            f"promptOverride must be at most {PROMPT_MAX_CHARS:,} characters; "
            f"it has {len(override):,}"
        )
    rt, owner = info.context.runtime, info.context.owner
    await rt.limiter.spend(owner)
    async with rt.sessions() as session:
        await edits.find_edit_target(
            session, owner=owner, checkpoint_id=checkpoint_id, edit=edit, index=index
        )
    task = regenerate_beat if edit == "regenerateBeat" else regenerate_chunk
    job = await task.kiq(owner, checkpoint_id, index, override, f"regen-{uuid.uuid4().hex}")
    result = await job.wait_result(timeout=rt.settings.regenerate_timeout_seconds)
    if result.is_err:
        raise RuntimeError(f"{edit} job failed: {result.error!r}")
    outcome: dict[str, Any] = result.return_value
    if "error" in outcome:
        raise _ERRORS.get(outcome["error"]["code"], AivideoError)(outcome["error"]["message"])
    artifact = await info.context.refresh_loaders().artifact_by_id.load(outcome["artifactId"])
    assert artifact is not None
    return artifact


async def create_branch(info: Info, checkpoint_id: str, name: str | None) -> models.Branch:
    await info.context.runtime.limiter.spend(info.context.owner)
    async with info.context.runtime.transaction() as session:
        return await continuation.create_branch(
            session, owner=info.context.owner, checkpoint_id=checkpoint_id, name=name
        )


async def continue_checkpoint(
    info: Info, checkpoint_id: str, branch_name: str | None
) -> continuation.ContinueOutcome:
    await info.context.runtime.limiter.spend(info.context.owner)
    async with info.context.runtime.transaction() as session:
        return await continuation.continue_checkpoint(
            session, owner=info.context.owner, checkpoint_id=checkpoint_id, branch_name=branch_name
        )
