"""Reading a video's tree inside a transaction: latest versions, inputs, numbering."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from aivideo import ids
from aivideo.errors import BadUserInput
from aivideo.models import Artifact, ArtifactType, Checkpoint, CheckpointStatus

# What the next phase reads from a checkpoint of phase N (SPEC "Phases and artifacts").
CONSUMED_BY_NEXT = {1: ArtifactType.SPEC, 2: ArtifactType.BEAT_IMAGE, 3: ArtifactType.VIDEO_CHUNK}


def latest_by_key(artifacts: Iterable[Artifact]) -> list[Artifact]:
    """The newest version of each key, ordered by key (beat_2 before beat_10)."""
    newest: dict[str, Artifact] = {}
    for artifact in artifacts:
        if artifact.key not in newest or artifact.version > newest[artifact.key].version:
            newest[artifact.key] = artifact
    return sorted(newest.values(), key=lambda a: artifact_sort_key(a.key))


def artifact_sort_key(key: str) -> tuple[str, int]:
    stem, _, number = key.rpartition("_")
    return (stem, int(number)) if number.isdigit() else (key, -1)


async def latest_artifacts(session: AsyncSession, checkpoint_id: str) -> list[Artifact]:
    rows = await session.scalars(
        select(Artifact).where(col(Artifact.checkpoint_id) == checkpoint_id)
    )
    return latest_by_key(rows)


async def consumable_inputs(session: AsyncSession, checkpoint: Checkpoint) -> list[Artifact]:
    """The latest artifacts of `checkpoint` that the next phase would consume."""
    wanted = CONSUMED_BY_NEXT.get(checkpoint.phase)
    return [a for a in await latest_artifacts(session, checkpoint.id) if a.type == wanted]


async def spec_of(session: AsyncSession, checkpoint: Checkpoint) -> dict[str, Any]:
    """The spec a checkpoint's lineage works from: phase 1's latest, or what phase 2 consumed."""
    node: Checkpoint | None = checkpoint
    while node is not None and node.phase > 2:
        node = await session.get(Checkpoint, node.parent_id) if node.parent_id else None
    if node is None:
        raise BadUserInput(f"checkpoint {checkpoint.id} has no spec in its lineage")
    if node.phase == 1:
        specs = [a for a in await latest_artifacts(session, node.id) if a.type == ArtifactType.SPEC]
    else:
        specs = [
            a
            for a in await session.scalars(
                select(Artifact).where(col(Artifact.id).in_(node.input_ids))
            )
            if a.type == ArtifactType.SPEC
        ]
    if not specs:
        raise BadUserInput(f"checkpoint {checkpoint.id} has no spec in its lineage")
    spec: dict[str, Any] = dict(specs[0].data or {})
    return spec


async def add_checkpoint(
    session: AsyncSession,
    *,
    video_id: str,
    branch_id: str,
    parent_id: str | None,
    phase: int,
    input_ids: list[str],
    edit_description: str | None = None,
) -> Checkpoint:
    """A new PENDING checkpoint, numbered (seq, version) under the caller's video lock."""
    checkpoint = Checkpoint(
        id=ids.new_id(ids.CHECKPOINT),
        video_id=video_id,
        branch_id=branch_id,
        parent_id=parent_id,
        seq=await next_checkpoint_seq(session, video_id),
        phase=phase,
        version=await next_checkpoint_version(session, branch_id, phase),
        status=CheckpointStatus.PENDING.value,
        input_ids=list(input_ids),
        edit_description=edit_description,
    )
    session.add(checkpoint)
    await session.flush()
    return checkpoint


async def next_checkpoint_seq(session: AsyncSession, video_id: str) -> int:
    current = await session.scalar(
        select(func.max(col(Checkpoint.seq))).where(col(Checkpoint.video_id) == video_id)
    )
    return (current or 0) + 1


async def next_checkpoint_version(session: AsyncSession, branch_id: str, phase: int) -> int:
    current = await session.scalar(
        select(func.max(col(Checkpoint.version))).where(
            col(Checkpoint.branch_id) == branch_id, col(Checkpoint.phase) == phase
        )
    )
    return (current or 0) + 1
