"""Provider calls through the ledger: never paid twice, checked against the budget.

Every call is keyed by a digest of its model and inputs. A finished call's result is
reused by any later call with the same key. A hosted call first reserves its estimated
cost against the video's budget (refused when it would not fit), records each prediction
the moment the provider creates it, and settles the real cost when it ends; a job that
takes over after a crash finds the reservation and polls the same predictions.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from aivideo import metrics
from aivideo.domain.budget import require_room
from aivideo.domain.locking import lock_video
from aivideo.errors import NotFound
from aivideo.models import ProviderCall
from aivideo.providers.base import CallContext, Media, Plan
from aivideo.providers.model_ids import ModelId
from aivideo.runtime import Runtime

log = logging.getLogger(__name__)

RESERVED, RUNNING, SUCCEEDED, FAILED = "reserved", "running", "succeeded", "failed"
Progress = Callable[[float], Awaitable[None]]


@dataclass(frozen=True)
class Job:
    """Whom a call works for: the video that pays, and the job a reused result is charged to.

    A phase's payer is its branch and phase, so the retry of a failed phase is charged for
    what the failed attempt paid and left behind; a regeneration is its own payer.
    """

    video_id: str
    payer: str


@dataclass(frozen=True)
class StoredMedia:
    """A provider result, stored; `cost_usd` is what this job is charged for it."""

    sha256: str
    content_type: str
    size_bytes: int
    cost_usd: float
    model: str
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PlannedSpec:
    spec: dict[str, Any]
    cost_usd: float
    model: str
    meta: dict[str, Any] = field(default_factory=dict)


def idempotency_key(model: str, method: str, inputs: dict[str, Any]) -> str:
    """A stable digest of everything the call depends on."""
    canonical = json.dumps([model, method, inputs], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


async def generate_media(
    rt: Runtime,
    *,
    job: Job,
    model: str,
    method: str,
    inputs: dict[str, Any],
    call: Callable[[CallContext], Awaitable[Media]],
    estimate_usd: float = 0.0,
    progress: Progress | None = None,
    session: AsyncSession | None = None,
) -> StoredMedia:
    """Call the provider once per key and store the file; later calls reuse it.

    Inside an open write transaction pass its `session` (local calls only): a second
    transaction would wait on its lock.
    """
    key = idempotency_key(model, method, inputs)
    known = await _reusable(rt, key, needs_file=True)
    if known is not None:
        assert known.sha256 is not None
        metrics.provider_call(model, "reused")
        return StoredMedia(
            known.sha256,
            known.content_type or "application/octet-stream",
            known.size_bytes or 0,
            _charge(known, job),
            model,
            dict(known.meta),
        )

    async def produce(context: CallContext) -> ProviderCall:
        media = await call(context)
        stored = await rt.storage.put(media.content, content_type=media.content_type)
        return ProviderCall(
            idempotency_key=key,
            provider=_service(model),
            sha256=stored.sha256,
            content_type=media.content_type,
            size_bytes=stored.size_bytes,
            meta=dict(media.metadata),
            cost_usd=media.cost_usd,
        )

    row = await _through_ledger(rt, job, model, key, estimate_usd, produce, progress, session)
    assert row.sha256 is not None
    return StoredMedia(
        row.sha256,
        row.content_type or "application/octet-stream",
        row.size_bytes or 0,
        row.cost_usd,
        model,
        dict(row.meta),
    )


async def generate_plan(
    rt: Runtime,
    *,
    job: Job,
    model: str,
    inputs: dict[str, Any],
    call: Callable[[CallContext], Awaitable[Plan]],
    estimate_usd: float = 0.0,
) -> PlannedSpec:
    """Plan once per key: a retried planner call with the same inputs is answered from here."""
    key = idempotency_key(model, "plan", inputs)
    known = await _reusable(rt, key, needs_file=False)
    if known is not None:
        metrics.provider_call(model, "reused")
        return PlannedSpec(dict(known.data or {}), _charge(known, job), model, dict(known.meta))

    async def produce(context: CallContext) -> ProviderCall:
        plan = await call(context)
        return ProviderCall(
            idempotency_key=key,
            provider=_service(model),
            data=plan.spec,
            content_type="application/json",
            meta=dict(plan.metadata),
            cost_usd=plan.cost_usd,
        )

    row = await _through_ledger(rt, job, model, key, estimate_usd, produce, None, None)
    return PlannedSpec(dict(row.data or {}), row.cost_usd, model, dict(row.meta))


def _service(model: str) -> str:
    return ModelId.parse(model).service


def _charge(known: ProviderCall, job: Job) -> float:
    # A reused result is charged only to the job that paid for it (its retry), never twice.
    return known.cost_usd if known.meta.get("jobId") == job.payer else 0.0


async def _reusable(rt: Runtime, key: str, *, needs_file: bool) -> ProviderCall | None:
    async with rt.sessions() as reader:
        known = await reader.get(ProviderCall, key)
    if known is None or known.status != SUCCEEDED:
        return None
    if needs_file:
        return known if known.sha256 and await rt.storage.exists(known.sha256) else None
    return known if known.data is not None else None


async def _through_ledger(
    rt: Runtime,
    job: Job,
    model: str,
    key: str,
    estimate: float,
    produce: Callable[[CallContext], Awaitable[ProviderCall]],
    progress: Progress | None,
    session: AsyncSession | None,
) -> ProviderCall:
    hosted = _service(model) != "local"
    resumed = await _reserve(rt, key, job, model, estimate) if hosted else ()
    context = CallContext(
        idempotency_key=key,
        prediction_ids=resumed,
        remember_prediction=lambda prediction_id: _remember_prediction(rt, key, prediction_id),
        progress=progress or CallContext.progress,
    )
    try:
        row = await produce(context)
    except Exception as exc:
        metrics.provider_call(model, "failed")
        if hosted:
            await _release(rt, key, exc)
        raise
    row.model, row.video_id, row.status = model, job.video_id, SUCCEEDED
    row.meta = {**row.meta, "jobId": job.payer}
    if hosted:
        await _settle(rt, row)
    else:
        await _record(rt, session, row)
    metrics.provider_call(model, "made", row.cost_usd)
    return row


async def _reserve(rt: Runtime, key: str, job: Job, model: str, estimate: float) -> tuple[str, ...]:
    """Hold the call's estimated cost against the budget; the predictions of a dead attempt."""
    async with rt.transaction() as session:
        video = await lock_video(session, video_id=job.video_id, owner=None)
        row = await session.get(ProviderCall, key, populate_existing=True)
        if row is not None and row.status in (RESERVED, RUNNING):
            return tuple(row.prediction_ids)  # reserved by an attempt that died: resume it
        require_room(video, estimate, what=f"a call to {model}")
        video.spent_usd = round(video.spent_usd + estimate, 6)
        if row is None:
            row = ProviderCall(idempotency_key=key, provider=_service(model))
            session.add(row)
        row.model, row.video_id, row.status, row.error = model, job.video_id, RESERVED, None
        row.prediction_ids, row.estimated_usd, row.meta = [], estimate, {"jobId": job.payer}
        session.add(video)
    return ()


async def _remember_prediction(rt: Runtime, key: str, prediction_id: str) -> None:
    """Committed at once: whoever takes the job over must find this prediction."""
    async with rt.transaction() as session:
        row = await session.get(ProviderCall, key, populate_existing=True, with_for_update=True)
        if row is not None:
            row.prediction_ids = [*row.prediction_ids, prediction_id]
            row.status = RUNNING


async def _settle(rt: Runtime, done: ProviderCall) -> None:
    """Record the result and turn the reservation into the real cost."""
    async with rt.transaction() as session:
        try:
            video = await lock_video(session, video_id=done.video_id or "", owner=None)
        except NotFound:
            video = None  # deleted while the call ran; the result may still serve others
        row = await session.get(ProviderCall, done.idempotency_key, populate_existing=True)
        reserved = row.estimated_usd if row is not None and row.status != SUCCEEDED else 0.0
        if video is not None:
            video.spent_usd = round(max(0.0, video.spent_usd + done.cost_usd - reserved), 6)
        done.prediction_ids = list(row.prediction_ids) if row is not None else []
        done.estimated_usd = reserved
        await session.merge(done)


async def _release(rt: Runtime, key: str, error: Exception) -> None:
    """A failed call pays nothing: its reservation goes back to the budget, and predictions
    it leaves behind (a cancelled run stops polling) are stopped at the provider."""
    async with rt.transaction() as session:
        row = await session.get(ProviderCall, key, populate_existing=True)
        if row is None or row.status not in (RESERVED, RUNNING):
            return
        try:
            video = await lock_video(session, video_id=row.video_id or "", owner=None)
            video.spent_usd = round(max(0.0, video.spent_usd - row.estimated_usd), 6)
        except NotFound:
            pass
        row.status, row.error = FAILED, str(error)[:500]
        model, left, video_id = row.model or "", list(row.prediction_ids), row.video_id
    try:
        await rt.hosted.cancel(model, left)
    except Exception as exc:  # best effort: the provider ends them on its own in the end
        log.warning(
            "predictions %s of %s not cancelled: %s", left, model, exc, extra={"video_id": video_id}
        )


async def _record(rt: Runtime, session: AsyncSession | None, call: ProviderCall) -> None:
    if session is not None:
        await session.merge(call)
        return
    try:
        async with rt.transaction() as session:
            await session.merge(call)
    except IntegrityError:
        pass  # a concurrent job recorded the same key first; either row is right
