"""The SQLModel tables. Constraints carry the rules that must hold under concurrency."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column, ForeignKey, Index, String, UniqueConstraint
from sqlmodel import Field, SQLModel

from aivideo.models.columns import PortableJSON, UTCDateTime, utcnow


def _fk(target: str, *, nullable: bool = False, index: bool = True) -> Any:
    # Every row hangs off its video, so deleting a video cascades through its tree.
    return Field(
        sa_column=Column(
            String(40), ForeignKey(target, ondelete="CASCADE"), nullable=nullable, index=index
        )
    )


def _created() -> Any:
    return Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


def _json(default: Any) -> Any:
    return Field(default_factory=default, sa_type=PortableJSON, nullable=False)


class Video(SQLModel, table=True):
    __tablename__ = "videos"
    __table_args__ = (Index("ix_videos_owner_created", "owner", "created_at", "id"),)

    id: str = Field(primary_key=True, max_length=40)
    owner: str = Field(max_length=200)
    title: str = Field(max_length=200)
    prompt: str = Field(max_length=1000)
    duration_seconds: int
    auto_continue: bool = False
    # Model ids per phase (planner, imageModel, videoModel, musicModel), defaults filled in.
    generation: dict[str, str] = _json(dict)
    budget_usd: float | None = None
    # Paid and reserved provider calls of this video; the budget is checked against it.
    spent_usd: float = 0.0
    # Mirrors of the most recently active branch (rule 11), kept on the row so that
    # `videos(status:)` filters and pages in SQL; only domain.progress writes them.
    status: str = Field(max_length=32, index=True)
    progress: float = 0.0
    current_phase: int | None = None
    error: str | None = None
    active_branch_id: str | None = Field(default=None, max_length=40)
    # One more at every change of the video's tree (domain/locking.py takes the lock for
    # each): an answer computed at revision r is still the answer while the row says r.
    revision: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    created_at: datetime = _created()
    updated_at: datetime = _created()


class Branch(SQLModel, table=True):
    __tablename__ = "branches"
    __table_args__ = (UniqueConstraint("video_id", "name", name="uq_branches_video_name"),)

    id: str = Field(primary_key=True, max_length=40)
    video_id: str = _fk("videos.id")
    name: str = Field(max_length=64)
    parent_branch_id: str | None = _fk("branches.id", nullable=True)
    # No foreign key: checkpoints reference branches, and a cycle of FKs cannot be
    # created on SQLite without table rebuilds. Rows go with the video's cascade.
    forked_from_id: str | None = Field(default=None, max_length=40)
    status: str = Field(max_length=16)
    phase: int | None = None
    progress: float = 0.0
    error: str | None = None
    created_at: datetime = _created()
    updated_at: datetime = _created()


class Checkpoint(SQLModel, table=True):
    __tablename__ = "checkpoints"
    __table_args__ = (
        UniqueConstraint(
            "branch_id", "phase", "version", name="uq_checkpoints_branch_phase_version"
        ),
        UniqueConstraint("video_id", "seq", name="uq_checkpoints_video_seq"),
    )

    id: str = Field(primary_key=True, max_length=40)
    video_id: str = _fk("videos.id")
    branch_id: str = _fk("branches.id")
    parent_id: str | None = _fk("checkpoints.id", nullable=True)
    seq: int  # creation order within the video, for replay after a given checkpoint
    phase: int
    version: int
    status: str = Field(max_length=16)
    edit_description: str | None = None
    input_ids: list[str] = _json(list)
    created_at: datetime = _created()
    approved_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Artifact(SQLModel, table=True):
    __tablename__ = "artifacts"
    __table_args__ = (
        UniqueConstraint(
            "checkpoint_id", "key", "version", name="uq_artifacts_checkpoint_key_version"
        ),
    )

    id: str = Field(primary_key=True, max_length=40)
    video_id: str = _fk("videos.id")
    checkpoint_id: str = _fk("checkpoints.id")
    previous_version_id: str | None = Field(
        default=None,
        sa_column=Column(
            String(40), ForeignKey("artifacts.id", ondelete="SET NULL"), nullable=True
        ),
    )
    type: str = Field(max_length=20)
    key: str = Field(max_length=40)
    version: int
    sha256: str | None = Field(default=None, max_length=64, index=True)
    content_type: str | None = Field(default=None, max_length=100)
    size_bytes: int | None = None
    data: Any | None = Field(default=None, sa_type=PortableJSON)
    meta: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column("metadata", PortableJSON, nullable=False)
    )
    cost_usd: float = 0.0
    model: str | None = Field(default=None, max_length=200)  # null for uploads and edits
    created_at: datetime = _created()


class Run(SQLModel, table=True):
    """One queued or finished execution of a phase on a branch; its inputs are fixed when queued."""

    __tablename__ = "runs"

    id: str = Field(primary_key=True, max_length=40)
    video_id: str = _fk("videos.id")
    branch_id: str = _fk("branches.id")
    parent_checkpoint_id: str | None = _fk("checkpoints.id", nullable=True)
    phase: int
    status: str = Field(max_length=16)
    input_ids: list[str] = _json(list)
    progress: float = 0.0  # 0..1 within the phase
    error: str | None = None
    checkpoint_id: str | None = Field(default=None, max_length=40)
    created_at: datetime = _created()
    started_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    finished_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # Which delivery of the job owns the run, and when it last showed signs of life: a
    # worker that dies stops beating, and another delivery takes the run over.
    attempt: int = 0
    heartbeat_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class ProviderCall(SQLModel, table=True):
    """The ledger of provider calls by idempotency key: a retried job reuses a result, and a
    job taken over polls the predictions a dead one created instead of paying again."""

    __tablename__ = "provider_calls"

    idempotency_key: str = Field(primary_key=True, max_length=64)
    provider: str = Field(max_length=40)  # the service: local, openai, replicate
    model: str | None = Field(default=None, max_length=200)
    video_id: str | None = Field(default=None, max_length=40, index=True)  # who pays
    status: str = Field(default="succeeded", max_length=16)  # reserved|running|succeeded|failed
    prediction_ids: list[str] = _json(list)
    estimated_usd: float = 0.0  # reserved against the budget while the call runs
    error: str | None = None
    sha256: str | None = Field(default=None, max_length=64)
    content_type: str | None = Field(default=None, max_length=100)
    size_bytes: int | None = None
    data: Any | None = Field(default=None, sa_type=PortableJSON)
    meta: dict[str, Any] = Field(
        default_factory=dict, sa_column=Column("metadata", PortableJSON, nullable=False)
    )
    cost_usd: float = 0.0
    created_at: datetime = _created()


class ApiKey(SQLModel, table=True):
    """An API key of one owner; only its SHA-256 is stored, the key is shown once."""

    __tablename__ = "api_keys"

    id: str = Field(primary_key=True, max_length=40)
    owner: str = Field(max_length=200, index=True)
    key_hash: str = Field(max_length=64, unique=True)
    prefix: str = Field(max_length=16)  # the key's first characters, to recognise it in lists
    created_at: datetime = _created()
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
