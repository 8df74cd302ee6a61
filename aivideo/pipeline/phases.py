"""The four phases: read the run's inputs, call the provider, return the new artifacts."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from aivideo.domain.values import ArtifactRef, NewArtifact, RunWork
from aivideo.models import ArtifactType
from aivideo.pipeline.provider_calls import StoredMedia, generate_media, idempotency_key
from aivideo.runtime import Runtime

Progress = Callable[[float], Awaitable[None]]


def new_artifact(type_: ArtifactType, key: str, media: StoredMedia, **meta: Any) -> NewArtifact:
    return NewArtifact(
        type=type_,
        key=key,
        sha256=media.sha256,
        content_type=media.content_type,
        size_bytes=media.size_bytes,
        cost_usd=media.cost_usd,
        meta={k: v for k, v in {**media.meta, **meta}.items() if k != "jobId"},
    )


def _spec_of(work: RunWork) -> dict[str, Any]:
    if work.spec is None:
        raise ValueError(f"run {work.run_id} has no spec to work from")
    return work.spec


async def plan_phase(rt: Runtime, work: RunWork, progress: Progress) -> list[NewArtifact]:
    """Phase 1: the spec."""
    plan = await rt.provider.plan(
        prompt=work.prompt,
        title=work.title,
        duration_seconds=work.duration_seconds,
        idempotency_key=idempotency_key(
            rt.provider.name,
            "plan",
            {
                "prompt": work.prompt,
                "title": work.title,
                "duration": work.duration_seconds,
            },
        ),
    )
    return [
        NewArtifact(
            type=ArtifactType.SPEC,
            key="spec",
            data=plan.spec,
            content_type="application/json",
            cost_usd=plan.cost_usd,
        )
    ]


async def beat_image(
    rt: Runtime, *, job_id: str, spec: dict[str, Any], index: int, prompt: str, seed: int
) -> StoredMedia:
    """One storyboard image; shared by phase 2 and regenerateBeat."""
    return await generate_media(
        rt,
        job_id=job_id,
        method="image",
        inputs={"style": spec["style"], "beat": index, "prompt": prompt, "seed": seed},
        call=lambda key: rt.provider.image(
            spec=spec, beat_index=index, prompt=prompt, seed=seed, idempotency_key=key
        ),
    )


async def storyboard_phase(rt: Runtime, work: RunWork, progress: Progress) -> list[NewArtifact]:
    """Phase 2: one image per beat of the consumed spec."""
    spec = next(a.data for a in work.inputs if a.type == ArtifactType.SPEC)
    out = []
    for index, beat in enumerate(spec["beats"]):
        media = await beat_image(
            rt, job_id=work.run_id, spec=spec, index=index, prompt=beat["prompt"], seed=0
        )
        out.append(
            new_artifact(
                ArtifactType.BEAT_IMAGE,
                f"beat_{index}",
                media,
                beatIndex=index,
                prompt=beat["prompt"],
                seed=0,
            )
        )
        await progress((index + 1) / len(spec["beats"]))
    return out


async def video_chunk(
    rt: Runtime,
    *,
    job_id: str,
    spec: dict[str, Any],
    index: int,
    image: ArtifactRef,
    seed: int,
    model: str | None,
) -> StoredMedia:
    """One clip animating a beat image; shared by phase 3 and regenerateChunk."""
    assert image.sha256 is not None
    content = await rt.storage.get(image.sha256)
    return await generate_media(
        rt,
        job_id=job_id,
        method="clip",
        inputs={"image": image.sha256, "beat": spec["beats"][index], "seed": seed, "model": model},
        call=lambda key: rt.provider.clip(
            spec=spec, beat_index=index, image=content, seed=seed, model=model, idempotency_key=key
        ),
    )


async def stitched_video(
    rt: Runtime, *, job_id: str, chunk_shas: list[str], session: AsyncSession | None = None
) -> StoredMedia:
    """The chunks joined in order."""

    async def call(key: str) -> Any:
        clips = [await rt.storage.get(sha) for sha in chunk_shas]
        return await rt.provider.stitch(clips=clips, idempotency_key=key)

    return await generate_media(
        rt,
        job_id=job_id,
        method="stitch",
        inputs={"chunks": chunk_shas},
        call=call,
        session=session,
    )


async def chunks_phase(rt: Runtime, work: RunWork, progress: Progress) -> list[NewArtifact]:
    """Phase 3: a clip per consumed beat image, then the stitched preview."""
    spec = _spec_of(work)
    images = [a for a in work.inputs if a.type == ArtifactType.BEAT_IMAGE]
    out = []
    for index, image in enumerate(images):
        media = await video_chunk(
            rt, job_id=work.run_id, spec=spec, index=index, image=image, seed=0, model=None
        )
        out.append(
            new_artifact(
                ArtifactType.VIDEO_CHUNK,
                f"chunk_{index}",
                media,
                beatIndex=index,
                sourceImage=image.id,
            )
        )
        await progress((index + 1) / (len(images) + 1))
    stitched = await stitched_video(
        rt, job_id=work.run_id, chunk_shas=[a.sha256 or "" for a in out]
    )
    out.append(new_artifact(ArtifactType.STITCHED_VIDEO, "stitched", stitched))
    return out


async def refinement_phase(rt: Runtime, work: RunWork, progress: Progress) -> list[NewArtifact]:
    """Phase 4: music for the spec, muxed with the consumed chunks into the final MP4."""
    spec = _spec_of(work)
    chunks = [a.sha256 or "" for a in work.inputs if a.type == ArtifactType.VIDEO_CHUNK]
    video = await stitched_video(rt, job_id=work.run_id, chunk_shas=chunks)
    await progress(1 / 3)
    seconds = float(sum(beat["duration"] for beat in spec["beats"]))
    music = await generate_media(
        rt,
        job_id=work.run_id,
        method="music",
        inputs={"style": spec["style"], "title": spec["title"], "seconds": seconds},
        call=lambda key: rt.provider.music(
            spec=spec, duration_seconds=seconds, idempotency_key=key
        ),
    )
    await progress(2 / 3)

    async def mux(key: str) -> Any:
        return await rt.provider.mux(
            video=await rt.storage.get(video.sha256),
            audio=await rt.storage.get(music.sha256),
            idempotency_key=key,
        )

    final = await generate_media(
        rt,
        job_id=work.run_id,
        method="mux",
        inputs={"video": video.sha256, "audio": music.sha256},
        call=mux,
    )
    return [
        new_artifact(ArtifactType.MUSIC, "music", music),
        new_artifact(ArtifactType.FINAL_VIDEO, "final", final, durationSeconds=seconds),
    ]


PHASES: dict[int, Callable[[Runtime, RunWork, Progress], Awaitable[list[NewArtifact]]]] = {
    1: plan_phase,
    2: storyboard_phase,
    3: chunks_phase,
    4: refinement_phase,
}
