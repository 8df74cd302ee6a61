"""Edits (SPEC rules 2–4): each adds an immutable new version of one artifact key."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from aivideo import ids
from aivideo.domain.locking import lock_video_of
from aivideo.domain.spec_rules import apply_patch
from aivideo.domain.tree import latest_artifacts
from aivideo.domain.values import ArtifactRef, NewArtifact
from aivideo.errors import BadUserInput, Conflict, NotFound, PhaseMismatch
from aivideo.models import Artifact, ArtifactType, Checkpoint, CheckpointStatus, Phase, Video

# Which phase each kind of edit belongs to, and the artifact key prefix it addresses.
EDIT_PHASES = {"editSpec": 1, "uploadBeatImage": 2, "regenerateBeat": 2, "regenerateChunk": 3}
_KEY_PREFIX = {2: "beat", 3: "chunk"}


@dataclass(frozen=True)
class EditTarget:
    """A checked edit: the checkpoint, the artifact it replaces, and what the job needs."""

    checkpoint_id: str
    video_id: str
    key: str
    current: ArtifactRef
    version: int  # the version the edit will create


async def find_edit_target(
    session: AsyncSession, *, owner: str, checkpoint_id: str, edit: str, index: int | None = None
) -> EditTarget:
    """Check that `edit` may be made on the checkpoint, and name the artifact it replaces."""
    row = await session.execute(
        select(Checkpoint, col(Video.owner))
        .join(Video, col(Video.id) == col(Checkpoint.video_id))
        .where(col(Checkpoint.id) == checkpoint_id)
    )
    found = row.first()
    if found is None or found[1] != owner:
        raise NotFound.of("checkpoint", checkpoint_id)
    checkpoint: Checkpoint = found[0]
    _check_editable(checkpoint, edit)
    latest = await latest_artifacts(session, checkpoint.id)
    key = "spec" if checkpoint.phase == 1 else f"{_KEY_PREFIX[checkpoint.phase]}_{index}"
    current = next((a for a in latest if a.key == key), None)
    if current is None:
        raise BadUserInput(_out_of_range(edit, index, latest, _KEY_PREFIX.get(checkpoint.phase)))
    return EditTarget(
        checkpoint.id, checkpoint.video_id, key, ArtifactRef.of(current), current.version + 1
    )


def _check_editable(checkpoint: Checkpoint, edit: str) -> None:
    phase = EDIT_PHASES[edit]
    if checkpoint.phase != phase:
        raise PhaseMismatch(
            f"{edit} works on phase {phase} ({Phase.of(phase).value}) checkpoints; "
            f"checkpoint {checkpoint.id} is phase {checkpoint.phase} "
            f"({Phase.of(checkpoint.phase).value})"
        )
    if checkpoint.status == CheckpointStatus.ABANDONED.value:
        raise Conflict(
            f"checkpoint {checkpoint.id} was abandoned and cannot be edited; "
            "fork it with createBranch to work on it again"
        )


def _out_of_range(edit: str, index: int | None, latest: list[Artifact], prefix: str | None) -> str:
    count = sum(1 for a in latest if prefix and a.key.startswith(f"{prefix}_"))
    field = "chunkIndex" if edit == "regenerateChunk" else "beatIndex"
    if count == 0:
        return f"{field} {index} is out of range: this checkpoint has no {prefix}s"
    return f"{field} {index} is out of range: this checkpoint has {prefix}s 0–{count - 1}"


async def add_version(
    session: AsyncSession, *, owner: str, checkpoint_id: str, new: NewArtifact, description: str
) -> Artifact:
    """Store `new` as the next version of its key (the checkpoint rechecked under the lock)."""
    await lock_video_of(
        session, model=Checkpoint, row_id=checkpoint_id, owner=owner, kind="checkpoint"
    )
    checkpoint = await session.get(Checkpoint, checkpoint_id, populate_existing=True)
    assert checkpoint is not None
    if checkpoint.status == CheckpointStatus.ABANDONED.value:
        raise Conflict(f"checkpoint {checkpoint.id} was abandoned while the edit was made")
    top = await session.scalar(
        select(func.max(col(Artifact.version))).where(
            col(Artifact.checkpoint_id) == checkpoint.id, col(Artifact.key) == new.key
        )
    )
    previous = await session.scalar(
        select(col(Artifact.id)).where(
            col(Artifact.checkpoint_id) == checkpoint.id,
            col(Artifact.key) == new.key,
            col(Artifact.version) == top,
        )
    )
    artifact = new.row(
        id=ids.new_id(ids.ARTIFACT),
        video_id=checkpoint.video_id,
        checkpoint_id=checkpoint.id,
        version=(top or 0) + 1,
        previous_version_id=previous,
    )
    artifact.meta = {**artifact.meta, "editDescription": description}
    checkpoint.edit_description = description
    session.add_all([artifact, checkpoint])
    await session.flush()
    return artifact


async def edit_spec(
    session: AsyncSession, *, owner: str, checkpoint_id: str, patch: Any, description: str | None
) -> Artifact:
    """editSpec: the patched spec, validated, as the spec's next version."""
    # Lock first: the patch applies to the latest spec, so two edits cannot lose one.
    await lock_video_of(
        session, model=Checkpoint, row_id=checkpoint_id, owner=owner, kind="checkpoint"
    )
    target = await find_edit_target(
        session, owner=owner, checkpoint_id=checkpoint_id, edit="editSpec"
    )
    video = await session.get(Video, target.video_id)
    assert video is not None  # a checkpoint never outlives its video
    spec = apply_patch(dict(target.current.data), patch, duration=video.duration_seconds)
    keys = ", ".join(sorted(patch))
    return await add_version(
        session,
        owner=owner,
        checkpoint_id=target.checkpoint_id,
        new=NewArtifact(
            type=ArtifactType.SPEC, key="spec", data=spec, content_type="application/json"
        ),
        description=description or f"Edited spec ({keys})",
    )
