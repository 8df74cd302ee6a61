"""The default provider: offline, deterministic, free, and it makes real playable media.

Each call runs its CPU-heavy work in a worker thread (`asyncio.to_thread`) so that
the API's event loop keeps serving while media is generated.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import Any, ClassVar, TypeVar

from aivideo.media.video_encoding import concat_clips, encode_clip, mux_audio, probe
from aivideo.providers.base import CallContext, Media, Plan, Provider, ProviderError
from aivideo.providers.local_render import render_beat_image
from aivideo.providers.music_synth import synthesize_music
from aivideo.providers.spec_planner import FPS, plan_spec

T = TypeVar("T")

PNG = "image/png"
MP4 = "video/mp4"
M4A = "audio/mp4"

# Camera moves that suit each shot type; the seed picks among them.
_MOTIONS_BY_SHOT: dict[str, tuple[str, ...]] = {
    "wide establishing shot": ("zoom_out", "pan_right", "pan_left"),
    "wide shot": ("zoom_out", "pan_right", "pan_left"),
    "aerial shot": ("pan_down", "zoom_out", "pan_right"),
    "close-up": ("zoom_in",),
    "medium shot": ("zoom_in", "pan_left", "pan_right"),
    "tracking shot": ("pan_left", "pan_right"),
    "slow dolly shot": ("zoom_in", "pan_right"),
    "low-angle shot": ("pan_up", "zoom_in"),
    "over-the-shoulder shot": ("pan_left", "pan_right", "zoom_in"),
}


class LocalProvider(Provider):
    """Makes every artifact on this machine at no cost; the call context is not needed."""

    name: ClassVar[str] = "local"

    async def plan(
        self, *, prompt: str, title: str, duration_seconds: int, call: CallContext
    ) -> Plan:
        """Phase 1: a spec planned from the prompt's text."""
        spec = await _run(plan_spec, prompt=prompt, title=title, duration_seconds=duration_seconds)
        return Plan(spec=spec, cost_usd=0.0)

    async def image(
        self, *, spec: dict[str, Any], beat_index: int, prompt: str, seed: int, call: CallContext
    ) -> Media:
        """Phase 2: a 1280x720 PNG illustrating `prompt` in the spec's palette."""
        _beat(spec, beat_index)
        palette = list(spec.get("style", {}).get("color_palette", []))
        content = await _run(
            render_beat_image, prompt=prompt, palette=palette, beat_index=beat_index, seed=seed
        )
        metadata = {"width": 1280, "height": 720, "beat_index": beat_index, "seed": seed}
        return Media(content=content, content_type=PNG, cost_usd=0.0, metadata=metadata)

    async def clip(
        self, *, spec: dict[str, Any], beat_index: int, image: bytes, seed: int, call: CallContext
    ) -> Media:
        """Phase 3: the beat's image animated with a camera move fitting its shot type."""
        beat = _beat(spec, beat_index)
        content = await _run(
            encode_clip,
            image=image,
            seconds=beat["duration"],
            fps=int(spec.get("fps", FPS)),
            seed=seed,
            motion=_motion(beat.get("shot_type"), seed),
        )
        return await _video_media(content, beat_index=beat_index, seed=seed)

    async def stitch(self, *, clips: Sequence[bytes], call: CallContext) -> Media:
        """Phase 3: the clips joined in order, without re-encoding."""
        content = await _run(concat_clips, list(clips))
        return await _video_media(content, clips=len(clips))

    async def music(
        self, *, spec: dict[str, Any], duration_seconds: float, call: CallContext
    ) -> Media:
        """Phase 4: a track in the spec's mood, seeded by its title and beat prompts."""
        style = spec.get("style", {})
        content = await _run(
            synthesize_music,
            seed_text=_music_seed(spec),
            mood=str(style.get("mood", "")),
            duration_seconds=duration_seconds,
        )
        metadata = await _run(probe, content)
        return Media(content=content, content_type=M4A, cost_usd=0.0, metadata=metadata)

    async def mux(self, *, video: bytes, audio: bytes, call: CallContext) -> Media:
        """Phase 4: the video's H.264 stream with the music as AAC, at the video's length."""
        content = await _run(mux_audio, video=video, audio=audio)
        return await _video_media(content)


async def _run(function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run `function` in a worker thread; its ValueError becomes a ProviderError."""
    try:
        return await asyncio.to_thread(function, *args, **kwargs)
    except ValueError as exc:
        raise ProviderError(str(exc)) from exc


async def _video_media(content: bytes, **extra: Any) -> Media:
    """An MP4 Media whose metadata is its probe (duration, size, codecs) plus `extra`."""
    metadata = {**await _run(probe, content), **extra}
    return Media(content=content, content_type=MP4, cost_usd=0.0, metadata=metadata)


def _beat(spec: dict[str, Any], beat_index: int) -> dict[str, Any]:
    """The spec's beat at `beat_index`; ProviderError naming the valid range otherwise."""
    beats = spec.get("beats") or []
    if not 0 <= beat_index < len(beats):
        valid = f"beats 0-{len(beats) - 1}" if beats else "no beats"
        raise ProviderError(f"beat index {beat_index} is out of range: this spec has {valid}")
    beat: dict[str, Any] = beats[beat_index]
    return beat


def _motion(shot_type: object, seed: int) -> str | None:
    """A camera move suiting `shot_type`, picked by seed; None lets the encoder choose."""
    choices = _MOTIONS_BY_SHOT.get(str(shot_type).lower())
    return choices[seed % len(choices)] if choices else None


def _music_seed(spec: dict[str, Any]) -> str:
    """Text that identifies the video's content, so that each video gets its own tune."""
    prompts = [str(beat.get("prompt", "")) for beat in spec.get("beats", [])]
    return "\n".join([str(spec.get("title", "")), *prompts])
