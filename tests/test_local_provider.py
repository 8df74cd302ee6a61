"""The local provider end to end: plan, images, clips, stitch, music and mux make real media."""

from __future__ import annotations

import asyncio
import io
import re
from itertools import pairwise
from typing import Any

import av
import numpy as np
import pytest
from PIL import Image

from aivideo.media.images import normalize_image
from aivideo.media.video_encoding import probe
from aivideo.providers.base import CallContext, ProviderError
from aivideo.providers.local import LocalProvider
from aivideo.providers.music_synth import render_music

PROMPT = (
    "A lighthouse on a rocky cliff at sunset. Waves crash below while seagulls circle. "
    "The keeper climbs the stairs and lights the lamp."
)
CALL = CallContext("test-key")
SPEC_KEYS = {"title", "duration", "fps", "resolution", "style", "beats"}
STYLE_KEYS = {"aesthetic", "color_palette", "mood", "lighting"}
BEAT_KEYS = {"beat_id", "start", "duration", "prompt", "shot_type"}


@pytest.fixture(scope="module")
def provider() -> LocalProvider:
    return LocalProvider()


@pytest.fixture(scope="module")
async def spec(provider: LocalProvider) -> dict[str, Any]:
    """A planned spec whose beats are edited to two 5-second beats, to keep clips short."""
    planned = (
        await provider.plan(
            prompt=PROMPT,
            title="Lighthouse",
            duration_seconds=10,
            call=CALL,
        )
    ).spec
    beats = [
        {
            "beat_id": f"beat_{i}",
            "start": 5 * i,
            "duration": 5,
            "prompt": f"{PROMPT} part {i}",
            "shot_type": shot,
        }
        for i, shot in enumerate(("close-up", "tracking shot"))
    ]
    return {**planned, "beats": beats}


@pytest.fixture(scope="module")
async def clips(provider: LocalProvider, spec: dict[str, Any]) -> list[bytes]:
    """Beat 0 animated from a rendered PNG, beat 1 from an uploaded-style JPEG of another size."""
    png = (
        await provider.image(
            spec=spec,
            beat_index=0,
            prompt=spec["beats"][0]["prompt"],
            seed=1,
            call=CALL,
        )
    ).content
    jpeg = _image_bytes(Image.new("RGB", (800, 800), (200, 40, 90)), "JPEG")
    first = await provider.clip(
        spec=spec,
        beat_index=0,
        image=png,
        seed=1,
        call=CALL,
    )
    second = await provider.clip(
        spec=spec,
        beat_index=1,
        image=jpeg,
        seed=2,
        call=CALL,
    )
    return [first.content, second.content]


@pytest.fixture(scope="module")
async def stitched(provider: LocalProvider, clips: list[bytes]) -> bytes:
    return (await provider.stitch(clips=clips, call=CALL)).content


def _image_bytes(image: Image.Image, image_format: str) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=image_format)
    return buffer.getvalue()


def _frames(content: bytes) -> list[np.ndarray]:
    with av.open(io.BytesIO(content), "r") as container:
        return [frame.to_ndarray(format="rgb24") for frame in container.decode(video=0)]


def _frame_count(content: bytes) -> int:
    with av.open(io.BytesIO(content), "r") as container:
        return sum(1 for _ in container.decode(video=0))


def _difference(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(a.astype(np.int16) - b.astype(np.int16)).mean())


@pytest.mark.parametrize("duration", [10, 30, 45, 120])
async def test_plan_is_a_valid_spec(provider: LocalProvider, duration: int) -> None:
    # when
    plan = await provider.plan(
        prompt=PROMPT,
        title="Lighthouse",
        duration_seconds=duration,
        call=CALL,
    )

    # then
    spec = plan.spec
    assert plan.cost_usd == 0.0
    assert set(spec) == SPEC_KEYS and set(spec["style"]) == STYLE_KEYS
    assert (spec["title"], spec["duration"], spec["fps"], spec["resolution"]) == (
        "Lighthouse",
        duration,
        30,
        "1280x720",
    )
    palette = spec["style"]["color_palette"]
    assert 3 <= len(palette) <= 5
    assert all(re.fullmatch(r"#[0-9a-f]{6}", color) for color in palette)
    beats = spec["beats"]
    assert all(set(beat) == BEAT_KEYS for beat in beats)
    assert [beat["beat_id"] for beat in beats] == [f"beat_{i}" for i in range(len(beats))]
    assert {beat["duration"] for beat in beats} <= {5, 10, 15}
    assert sum(beat["duration"] for beat in beats) == duration
    starts = [sum(beat["duration"] for beat in beats[:i]) for i in range(len(beats))]
    assert [beat["start"] for beat in beats] == starts
    assert len({beat["prompt"] for beat in beats}) == len(beats)


async def test_plan_is_deterministic_and_follows_the_prompt(provider: LocalProvider) -> None:
    # when
    first = await provider.plan(
        prompt=PROMPT,
        title="",
        duration_seconds=30,
        call=CALL,
    )
    again = await provider.plan(
        prompt=PROMPT,
        title="",
        duration_seconds=30,
        call=CallContext("another-key"),
    )
    other = await provider.plan(
        prompt="A fox runs through snow at night",
        title="",
        duration_seconds=30,
        call=CALL,
    )

    # then
    assert first.spec == again.spec
    assert other.spec["beats"] != first.spec["beats"]
    assert first.spec["title"]
    assert 2 <= len(first.spec["beats"]) <= 4
    assert "lighthouse" in first.spec["beats"][0]["prompt"]
    assert "keeper" in first.spec["beats"][-1]["prompt"]


@pytest.mark.parametrize("duration", [0, 7, 125])
async def test_plan_rejects_an_invalid_duration(provider: LocalProvider, duration: int) -> None:
    with pytest.raises(ProviderError, match="multiple of 5"):
        await provider.plan(prompt=PROMPT, title="", duration_seconds=duration, call=CALL)


async def test_images_are_pngs_that_differ_by_beat_prompt_and_seed(
    provider: LocalProvider,
    spec: dict[str, Any],
) -> None:
    async def render(beat_index: int, prompt: str, seed: int) -> bytes:
        media = await provider.image(
            spec=spec,
            beat_index=beat_index,
            prompt=prompt,
            seed=seed,
            call=CALL,
        )
        assert (media.content_type, media.cost_usd) == ("image/png", 0.0)
        return media.content

    # when
    base = await render(0, "A red balloon over the sea", 1)
    again = await render(0, "A red balloon over the sea", 1)
    variants = [
        await render(1, "A red balloon over the sea", 1),
        await render(0, "A green kite over the hills", 1),
        await render(0, "A red balloon over the sea", 2),
    ]

    # then
    assert base == again
    for content in [base, *variants]:
        with Image.open(io.BytesIO(content)) as image:
            assert (image.format, image.size, image.mode) == ("PNG", (1280, 720), "RGB")
    pixels = np.asarray(Image.open(io.BytesIO(base)))
    for content in variants:
        assert _difference(pixels, np.asarray(Image.open(io.BytesIO(content)))) > 5


@pytest.mark.parametrize(("image_format", "size"), [("JPEG", (640, 480)), ("PNG", (300, 900))])
def test_normalize_image_cover_crops_to_1280x720(
    image_format: str,
    size: tuple[int, int],
) -> None:
    # given
    source = _image_bytes(Image.new("RGB", size, (10, 120, 230)), image_format)

    # when
    normalized = normalize_image(source)

    # then
    with Image.open(io.BytesIO(normalized)) as image:
        assert (image.format, image.size) == ("PNG", (1280, 720))
        assert image.getpixel((640, 360)) == pytest.approx((10, 120, 230), abs=3)


@pytest.mark.parametrize(
    "content",
    [b"this is not an image", _image_bytes(Image.new("RGB", (64, 64)), "GIF"), b""],
)
def test_normalize_image_rejects_anything_but_png_or_jpeg(content: bytes) -> None:
    with pytest.raises(ValueError, match="PNG or JPEG"):
        normalize_image(content)


async def test_clip_is_an_animated_h264_mp4_of_the_beat_length(clips: list[bytes]) -> None:
    # when
    info = probe(clips[0])
    frames = _frames(clips[0])

    # then
    assert (info["video_streams"], info["audio_streams"], info["codecs"]) == (1, 0, ["h264"])
    assert (info["width"], info["height"]) == (1280, 720)
    assert info["duration"] == pytest.approx(5.0, abs=0.05)
    assert len(frames) == 5 * 30
    first, middle, last = frames[0], frames[75], frames[-1]
    assert _difference(first, middle) > 1 and _difference(middle, last) > 1
    # Every 4th pixel is enough to see the camera move between consecutive frames.
    moving = sum(_difference(a[::4, ::4], b[::4, ::4]) > 0 for a, b in pairwise(frames))
    assert moving > 0.9 * (len(frames) - 1)


async def test_clip_from_a_jpeg_keeps_its_colour(clips: list[bytes]) -> None:
    # then
    middle = _frames(clips[1])[75]
    assert middle.reshape(-1, 3).mean(axis=0) == pytest.approx((200, 40, 90), abs=6)


async def test_clip_rejects_bytes_that_are_not_an_image(
    provider: LocalProvider,
    spec: dict[str, Any],
) -> None:
    with pytest.raises(ProviderError, match="PNG or JPEG"):
        await provider.clip(spec=spec, beat_index=0, image=b"<html></html>", seed=1, call=CALL)


async def test_beat_index_out_of_range_is_a_provider_error(
    provider: LocalProvider,
    spec: dict[str, Any],
) -> None:
    with pytest.raises(ProviderError, match=r"beat index 2 is out of range: .* beats 0-1"):
        await provider.image(spec=spec, beat_index=2, prompt="x", seed=1, call=CALL)


async def test_stitch_joins_clips_end_to_end(stitched: bytes) -> None:
    # when
    info = probe(stitched)

    # then
    assert (info["video_streams"], info["codecs"]) == (1, ["h264"])
    assert info["duration"] == pytest.approx(10.0, abs=0.05)
    assert _frame_count(stitched) == 300


async def test_stitch_refuses_clips_of_other_sizes(
    provider: LocalProvider,
    clips: list[bytes],
) -> None:
    # given
    small = io.BytesIO()
    with av.open(small, "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=30)
        stream.width, stream.height, stream.pix_fmt = 320, 240, "yuv420p"
        frame = av.VideoFrame.from_ndarray(np.zeros((240, 320, 3), np.uint8), format="rgb24")
        container.mux(stream.encode(frame))
        container.mux(stream.encode(None))

    # then
    with pytest.raises(ProviderError, match="clip 1 has other codec parameters"):
        await provider.stitch(clips=[clips[0], small.getvalue()], call=CALL)


async def test_music_is_one_audio_stream_of_the_asked_length(
    provider: LocalProvider,
    spec: dict[str, Any],
) -> None:
    # when
    media = await provider.music(spec=spec, duration_seconds=10, call=CALL)

    # then
    info = probe(media.content)
    assert (media.content_type, media.cost_usd) == ("audio/mp4", 0.0)
    assert (info["video_streams"], info["audio_streams"], info["codecs"]) == (0, 1, ["aac"])
    assert info["duration"] == pytest.approx(10.0, abs=1024 / 44100)


def test_music_samples_are_deterministic_and_follow_the_mood() -> None:
    # when
    calm = render_music(seed_text="lighthouse", mood="calm", duration_seconds=3)
    again = render_music(seed_text="lighthouse", mood="calm", duration_seconds=3)
    tense = render_music(seed_text="lighthouse", mood="tense", duration_seconds=3)

    # then
    assert calm.shape == (2, 3 * 44100)
    assert np.array_equal(calm, again)
    assert not np.array_equal(calm, tense)
    assert 0.05 < float(np.sqrt(np.mean(calm**2))) and float(np.abs(calm).max()) <= 1.0


@pytest.mark.parametrize("music_seconds", [12.0, 4.0])
async def test_mux_adds_aac_music_at_the_videos_length(
    provider: LocalProvider,
    spec: dict[str, Any],
    stitched: bytes,
    music_seconds: float,
) -> None:
    # given: music longer (trimmed) or shorter (padded) than the 10-second video
    music = await provider.music(spec=spec, duration_seconds=music_seconds, call=CALL)

    # when
    final = await provider.mux(video=stitched, audio=music.content, call=CALL)

    # then
    info = probe(final.content)
    assert (final.content_type, final.cost_usd) == ("video/mp4", 0.0)
    assert (info["video_streams"], info["audio_streams"]) == (1, 1)
    assert info["codecs"] == ["h264", "aac"]
    assert info["duration"] == pytest.approx(10.0, abs=0.1)
    assert final.metadata["duration"] == info["duration"]
    assert _frame_count(final.content) == 300


async def test_generation_does_not_block_the_event_loop(
    provider: LocalProvider,
    spec: dict[str, Any],
) -> None:
    # given
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    ticker = asyncio.create_task(tick())

    # when
    try:
        await provider.music(spec=spec, duration_seconds=20, call=CALL)
    finally:
        ticker.cancel()

    # then
    assert ticks >= 5
