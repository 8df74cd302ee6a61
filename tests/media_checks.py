"""Decoding helpers for asserting on the media the service produced."""

from __future__ import annotations

import io
from dataclasses import dataclass

import av
import numpy as np
from PIL import Image, ImageDraw


@dataclass(frozen=True)
class Probe:
    video_codecs: list[str]
    audio_codecs: list[str]
    duration: float
    width: int | None
    height: int | None


def probe(content: bytes) -> Probe:
    with av.open(io.BytesIO(content), "r") as container:
        videos = list(container.streams.video)
        audio = list(container.streams.audio)
        duration = float(container.duration or 0) / av.time_base
        return Probe(
            video_codecs=[s.codec_context.name for s in videos],
            audio_codecs=[s.codec_context.name for s in audio],
            duration=duration,
            width=videos[0].codec_context.width if videos else None,
            height=videos[0].codec_context.height if videos else None,
        )


def middle_frame_mean_rgb(content: bytes) -> tuple[float, float, float]:
    """The mean colour of a frame from the middle of a video."""
    with av.open(io.BytesIO(content), "r") as container:
        frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
    frame = frames[len(frames) // 2]
    r, g, b = (float(v) for v in frame.reshape(-1, 3).mean(axis=0))
    return r, g, b


def marked_image(
    color: tuple[int, int, int], fmt: str = "PNG", size: tuple[int, int] = (640, 480)
) -> bytes:
    """One colour with a few small white marks, so that camera motion shows."""
    image = Image.new("RGB", size, color)
    draw = ImageDraw.Draw(image)
    for i in range(6):
        x, y = 40 + i * 97, 30 + (i * 71) % (size[1] - 80)
        draw.rectangle((x, y, x + 24, y + 24), fill=(255, 255, 255))
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return buffer.getvalue()


def image_size(content: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(content)) as image:
        return image.size


def mean_rgb(content: bytes) -> tuple[float, float, float]:
    with Image.open(io.BytesIO(content)) as image:
        pixels = np.asarray(image.convert("RGB")).reshape(-1, 3).mean(axis=0)
    r, g, b = (float(v) for v in pixels)
    return r, g, b
