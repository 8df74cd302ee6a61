"""The four phases: read the run's inputs, call each phase's model, return the new artifacts."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, cast

from sqlalchemy.ext.asyncio import AsyncSession

from aivideo.domain.values import ArtifactRef, NewArtifact, RunWork
from aivideo.models import ArtifactType
from aivideo.pipeline.provider_calls import (
    Job,
    StoredMedia,
    generate_media,
    generate_plan,
)
from aivideo.providers.base import CallContext, Media
from aivideo.providers.estimates import estimate_usd
from aivideo.runtime import Runtime

Progress = Callable[[float], Awaitable[None]]
T = TypeVar("T")
LOCAL = "local"


def new_artifact(type_: ArtifactType, key: str, media: StoredMedia, **meta: Any) -> NewArtifact:
    return NewArtifact(
        type=type_,
        key=key,
        sha256=media.sha256,
        content_type=media.content_type,
        size_bytes=media.size_bytes,
        cost_usd=media.cost_usd,
        model=media.model,
        meta={k: v for k, v in {**media.meta, **meta}.items() if k != "jobId"},
    )


def job_of(work: RunWork) -> Job:
    return Job(video_id=work.video_id, payer=f"{work.branch_id}:phase{work.phase}")


def _spec_of(work: RunWork) -> dict[str, Any]:
    if work.spec is None:
        raise ValueError(f"run {work.run_id} has no spec to work from")
    return work.spec


def _within(progress: Progress, done: int, total: int) -> Progress:
    """Progress of one item (0..1) as progress of the phase, after `done` of `total` items."""

    async def report(fraction: float) -> None:
        await progress((done + min(max(fraction, 0.0), 1.0)) / total)

    return report


async def _each_beat(
    rt: Runtime,
    count: int,
    make: Callable[[int, Progress], Awaitable[T]],
    progress: Progress,
    *,
    total: int,
) -> list[T]:
    """`make(index, progress)` for each of `count` beats, a few at once, results in order.

    Beats are independent, so they overlap (`AIVIDEO_ITEM_CONCURRENCY`): hosted predictions
    wait side by side and local encodes share the cores. A beat that fails does not stop the
    others: what they make is kept in the ledger, so the retry pays only for what is missing.
    The phase's progress is the sum of the beats' own, out of `total` items.
    """
    share = [0.0] * count
    slots = asyncio.Semaphore(max(1, rt.settings.item_concurrency))
    # One report at a time, each stored and announced before the next: progress never
    # goes back, neither in the database nor in the order subscribers see it.
    reporting = asyncio.Lock()

    async def one(index: int) -> T:
        async def report(fraction: float) -> None:
            share[index] = max(share[index], min(fraction, 1.0))
            async with reporting:
                await progress(sum(share) / total)

        async with slots:
            made = await make(index, report)
        await report(1.0)
        return made

    outcomes = await asyncio.gather(*(one(i) for i in range(count)), return_exceptions=True)
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            raise outcome
    return cast(list[T], outcomes)


async def plan_phase(rt: Runtime, work: RunWork, progress: Progress) -> list[NewArtifact]:
    """Phase 1: the spec."""
    model = work.generation["planner"]
    plan = await generate_plan(
        rt,
        job=job_of(work),
        model=model,
        inputs={"prompt": work.prompt, "title": work.title, "duration": work.duration_seconds},
        estimate_usd=estimate_usd(
            rt.catalog, model, "PLANNER", seconds=work.duration_seconds, prompt=work.prompt
        ),
        call=lambda call: rt.planner(model).plan(
            prompt=work.prompt,
            title=work.title,
            duration_seconds=work.duration_seconds,
            call=call,
        ),
    )
    return [
        NewArtifact(
            type=ArtifactType.SPEC,
            key="spec",
            data=plan.spec,
            content_type="application/json",
            cost_usd=plan.cost_usd,
            model=model,
            meta={k: v for k, v in plan.meta.items() if k != "jobId"},
        )
    ]


async def beat_image(
    rt: Runtime,
    *,
    job: Job,
    model: str,
    spec: dict[str, Any],
    index: int,
    prompt: str,
    seed: int,
    progress: Progress | None = None,
) -> StoredMedia:
    """One storyboard image; shared by phase 2 and regenerateBeat."""
    return await generate_media(
        rt,
        job=job,
        model=model,
        method="image",
        inputs={"style": spec["style"], "beat": index, "prompt": prompt, "seed": seed},
        estimate_usd=estimate_usd(rt.catalog, model, "IMAGE"),
        progress=progress,
        call=lambda call: rt.images(model).image(
            spec=spec, beat_index=index, prompt=prompt, seed=seed, call=call
        ),
    )


async def storyboard_phase(rt: Runtime, work: RunWork, progress: Progress) -> list[NewArtifact]:
    """Phase 2: one image per beat of the consumed spec."""
    spec = next(a.data for a in work.inputs if a.type == ArtifactType.SPEC)
    beats = spec["beats"]

    async def draw(index: int, report: Progress) -> NewArtifact:
        prompt = beats[index]["prompt"]
        media = await beat_image(
            rt,
            job=job_of(work),
            model=work.generation["imageModel"],
            spec=spec,
            index=index,
            prompt=prompt,
            seed=0,
            progress=report,
        )
        return new_artifact(
            ArtifactType.BEAT_IMAGE,
            f"beat_{index}",
            media,
            beatIndex=index,
            prompt=prompt,
            seed=0,
        )

    return await _each_beat(rt, len(beats), draw, progress, total=len(beats))


async def video_chunk(
    rt: Runtime,
    *,
    job: Job,
    model: str,
    spec: dict[str, Any],
    index: int,
    image: ArtifactRef,
    seed: int,
    progress: Progress | None = None,
) -> StoredMedia:
    """One clip animating a beat image; shared by phase 3 and regenerateChunk."""
    assert image.sha256 is not None
    content = await rt.storage.get(image.sha256)
    beat = spec["beats"][index]
    return await generate_media(
        rt,
        job=job,
        model=model,
        method="clip",
        inputs={"image": image.sha256, "beat": beat, "seed": seed},
        estimate_usd=estimate_usd(rt.catalog, model, "VIDEO", seconds=float(beat["duration"])),
        progress=progress,
        call=lambda call: rt.clips(model).clip(
            spec=spec, beat_index=index, image=content, seed=seed, call=call
        ),
    )


async def stitched_video(
    rt: Runtime, *, job: Job, chunk_shas: list[str], session: AsyncSession | None = None
) -> StoredMedia:
    """The chunks joined in order (always on this machine)."""

    async def call(context: CallContext) -> Media:
        clips = [await rt.storage.get(sha) for sha in chunk_shas]
        return await rt.provider.stitch(clips=clips, call=context)

    return await generate_media(
        rt,
        job=job,
        model=LOCAL,
        method="stitch",
        inputs={"chunks": chunk_shas},
        call=call,
        session=session,
    )


async def chunks_phase(rt: Runtime, work: RunWork, progress: Progress) -> list[NewArtifact]:
    """Phase 3: a clip per consumed beat image, then the stitched preview."""
    spec = _spec_of(work)
    images = [a for a in work.inputs if a.type == ArtifactType.BEAT_IMAGE]

    async def animate(index: int, report: Progress) -> NewArtifact:
        media = await video_chunk(
            rt,
            job=job_of(work),
            model=work.generation["videoModel"],
            spec=spec,
            index=index,
            image=images[index],
            seed=0,
            progress=report,
        )
        return new_artifact(
            ArtifactType.VIDEO_CHUNK,
            f"chunk_{index}",
            media,
            beatIndex=index,
            sourceImage=images[index].id,
        )

    # The stitch is the last of len(images) + 1 items of progress.
    out = await _each_beat(rt, len(images), animate, progress, total=len(images) + 1)
    stitched = await stitched_video(rt, job=job_of(work), chunk_shas=[a.sha256 or "" for a in out])
    out.append(new_artifact(ArtifactType.STITCHED_VIDEO, "stitched", stitched))
    return out


async def refinement_phase(rt: Runtime, work: RunWork, progress: Progress) -> list[NewArtifact]:
    """Phase 4: music for the spec, muxed with the consumed chunks into the final MP4."""
    spec = _spec_of(work)
    job = job_of(work)
    chunks = [a.sha256 or "" for a in work.inputs if a.type == ArtifactType.VIDEO_CHUNK]
    video = await stitched_video(rt, job=job, chunk_shas=chunks)
    await progress(1 / 3)
    seconds = float(sum(beat["duration"] for beat in spec["beats"]))
    model = work.generation["musicModel"]
    music = await generate_media(
        rt,
        job=job,
        model=model,
        method="music",
        inputs={"style": spec["style"], "title": spec["title"], "seconds": seconds},
        estimate_usd=estimate_usd(rt.catalog, model, "MUSIC", seconds=seconds),
        progress=_within(progress, 1, 3),
        call=lambda call: rt.music(model).music(spec=spec, duration_seconds=seconds, call=call),
    )
    await progress(2 / 3)

    async def mux(call: CallContext) -> Media:
        return await rt.provider.mux(
            video=await rt.storage.get(video.sha256),
            audio=await rt.storage.get(music.sha256),
            call=call,
        )

    final = await generate_media(
        rt,
        job=job,
        model=LOCAL,
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
