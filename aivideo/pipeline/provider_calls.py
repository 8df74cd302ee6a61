"""Provider calls keyed by an idempotency key: a retried job reuses what was paid for."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from aivideo.models import ProviderCall
from aivideo.providers.base import Media
from aivideo.runtime import Runtime


@dataclass(frozen=True)
class StoredMedia:
    """A provider result, stored; `cost_usd` is what this job is charged for it."""

    sha256: str
    content_type: str
    size_bytes: int
    cost_usd: float
    meta: dict[str, Any] = field(default_factory=dict)


def idempotency_key(provider: str, method: str, inputs: dict[str, Any]) -> str:
    """A stable digest of everything the call depends on."""
    canonical = json.dumps([provider, method, inputs], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


async def generate_media(
    rt: Runtime,
    *,
    job_id: str,
    method: str,
    inputs: dict[str, Any],
    call: Callable[[str], Awaitable[Media]],
    session: AsyncSession | None = None,
) -> StoredMedia:
    """Call the provider once per key; later calls with the same key reuse the stored file.

    A reused result is charged again only to the job that paid for it (its retry).
    Inside an open write transaction pass its `session`: a second one would wait on its lock.
    """
    key = idempotency_key(rt.provider.name, method, inputs)
    async with rt.sessions() as reader:
        known = await reader.get(ProviderCall, key)
    if known is not None and known.sha256 and await rt.storage.exists(known.sha256):
        return StoredMedia(
            known.sha256,
            known.content_type or "application/octet-stream",
            known.size_bytes or 0,
            known.cost_usd if known.meta.get("jobId") == job_id else 0.0,
            dict(known.meta),
        )
    media = await call(key)
    stored = await rt.storage.put(media.content, content_type=media.content_type)
    meta = {**media.metadata, "jobId": job_id}
    await _remember(
        rt,
        session,
        ProviderCall(
            idempotency_key=key,
            provider=rt.provider.name,
            sha256=stored.sha256,
            content_type=media.content_type,
            size_bytes=stored.size_bytes,
            meta=meta,
            cost_usd=media.cost_usd,
        ),
    )
    return StoredMedia(stored.sha256, media.content_type, stored.size_bytes, media.cost_usd, meta)


async def _remember(rt: Runtime, session: AsyncSession | None, call: ProviderCall) -> None:
    if session is not None:
        await session.merge(call)
        return
    try:
        async with rt.transaction() as session:
            await session.merge(call)
    except IntegrityError:
        pass  # a concurrent job recorded the same key first; either row is right
