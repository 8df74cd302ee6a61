"""Hosted video model outputs fitted to the clip format: 1280x720 H.264 at a fixed rate."""

from __future__ import annotations

import io
from collections.abc import Iterator, Sequence
from fractions import Fraction

import av
import numpy as np
from av.container import InputContainer
from av.video.reformatter import ColorRange, Colorspace, VideoReformatter
from av.video.stream import VideoStream
from PIL import Image, ImageOps

from aivideo.media.images import png_bytes
from aivideo.media.video_encoding import (
    HEIGHT,
    WIDTH,
    add_h264_stream,
    frame_duration,
    open_input,
    open_output,
    video_stream,
)

# What a decoder or demuxer raises on bad input; callers only ever see ValueError.
_DECODE_ERRORS = (av.FFmpegError, OSError, EOFError, RuntimeError)
_KNOWN_SPACES = {int(space): space for space in Colorspace}


def fit_clip(parts: Sequence[bytes], *, seconds: float, fps: int = 30) -> bytes:
    """Re-encode video `parts`, played in order, as exactly `round(seconds * fps)` clip frames.

    Each frame is centre-cropped to 16:9 and scaled to 1280x720 yuv420p; frame i shows
    the newest source frame at or before i/fps. A longer timeline is trimmed, a shorter
    one holds its last frame. The stream is set up like `encode_clip`'s, so that
    `concat_clips` joins fitted and local clips without re-encoding.
    """
    frame_count = round(seconds * fps)
    if frame_count < 1:
        raise ValueError(f"seconds={seconds} gives no frames at {fps} fps: use a positive length")
    if not parts:
        raise ValueError("no video parts to fit: pass at least one video")
    try:
        return _fit(parts, frame_count, fps)
    except _DECODE_ERRORS as exc:
        raise ValueError(f"the video does not decode: {exc}") from exc


def last_frame_png(clip: bytes) -> bytes:
    """The clip's last decodable frame as a 1280x720 PNG (to chain a second clip from it)."""
    try:
        last: av.VideoFrame | None = None
        with open_input(clip, "clip") as source:
            for frame in source.decode(video_stream(source, "clip")):
                last = frame
        if last is None:
            raise ValueError("the clip has no decodable frame: pass a playable video")
        image = last.to_image()
    except _DECODE_ERRORS as exc:
        raise ValueError(f"the clip does not decode: {exc}") from exc
    return png_bytes(ImageOps.fit(image, (WIDTH, HEIGHT), Image.Resampling.LANCZOS))


def clip_seconds(clip: bytes) -> float:
    """Duration of a video's video stream in seconds (0 if none); ValueError if not media."""
    try:
        with open_input(clip, "clip") as source:
            if not source.streams.video:
                return 0.0
            stream = source.streams.video[0]
            step = frame_duration(stream)
            # The packets' own span: the container's duration may count an audio stream.
            starts, ends = [], []
            for packet in source.demux(stream):
                if packet.pts is not None and packet.time_base is not None:
                    starts.append(packet.pts * packet.time_base)
                    ends.append((packet.pts + (packet.duration or step)) * packet.time_base)
            if stream.frames and len(ends) < stream.frames:
                raise ValueError(
                    f"the clip is truncated: its index lists {stream.frames} frames, "
                    f"only {len(ends)} are present"
                )
            return float(max(ends) - min(starts)) if ends else 0.0
    except _DECODE_ERRORS as exc:
        raise ValueError(f"the clip does not decode: {exc}") from exc


def _fit(parts: Sequence[bytes], frame_count: int, fps: int) -> bytes:
    """Stream every part's frames through the cropper into one encoder, `frame_count` frames."""
    scaler = VideoReformatter()
    buffer = io.BytesIO()
    with open_output(buffer) as output:
        stream = add_h264_stream(output, fps)
        written = 0
        latest: av.VideoFrame | None = None
        shown: av.VideoFrame | None = None
        for time, frame in _timeline(parts):
            # Frames due before this source frame's time still show the previous one.
            while written < frame_count and latest is not None and Fraction(written, fps) < time:
                # Scaled only once shown: a faster source skips frames for free.
                shown = shown if shown is not None else _to_clip_frame(latest, scaler)
                output.mux(stream.encode(_stamp(shown, written, fps)))
                written += 1
            if written == frame_count:
                break
            latest, shown = frame, None
        if latest is None:
            raise ValueError("the video has no decodable frame: pass a playable video")
        # Hold the last frame when the parts end early.
        shown = shown if shown is not None else _to_clip_frame(latest, scaler)
        for index in range(written, frame_count):
            output.mux(stream.encode(_stamp(shown, index, fps)))
        output.mux(stream.encode(None))
    return buffer.getvalue()


def _timeline(parts: Sequence[bytes]) -> Iterator[tuple[Fraction, av.VideoFrame]]:
    """Every decoded frame of `parts` with its time on one timeline (each part after the last)."""
    offset = Fraction(0)
    for index, part in enumerate(parts):
        label = f"video part {index}"
        with open_input(part, label) as source:
            end = Fraction(0)
            for time, frame in _timed_frames(source, label):
                end = time + _frame_seconds(source.streams.video[0])
                yield offset + time, frame
        offset += end


def _timed_frames(source: InputContainer, label: str) -> Iterator[tuple[Fraction, av.VideoFrame]]:
    """The first video stream's frames with their time from its first frame, checked complete."""
    stream = video_stream(source, label)
    stream.thread_type = "AUTO"
    step = _frame_seconds(stream)
    first: Fraction | None = None
    previous = Fraction(0)
    decoded = 0
    for frame in source.decode(stream):
        if frame.pts is None or frame.time_base is None:
            time = previous + step if decoded else Fraction(0)
        else:
            time = frame.pts * frame.time_base
            first = time if first is None else first
            time -= first
        previous, decoded = time, decoded + 1
        yield time, frame
    # An MP4's index counts its frames: fewer decoded means a cut-off download.
    if stream.frames and decoded < stream.frames:
        raise ValueError(
            f"{label} is truncated: its index lists {stream.frames} frames, only {decoded} decode"
        )


def _frame_seconds(stream: VideoStream) -> Fraction:
    """One frame's duration in seconds, from the stream's average rate."""
    return frame_duration(stream) * (stream.time_base or Fraction(1, 90000))


def _to_clip_frame(frame: av.VideoFrame, scaler: VideoReformatter) -> av.VideoFrame:
    """`frame` centre-cropped to 16:9 and scaled to 1280x720 yuv420p, BT.709 limited range."""
    # Untagged video (or a matrix swscale lacks): what players assume, BT.709 for HD.
    source_space = _KNOWN_SPACES.get(frame.colorspace) or (
        Colorspace.ITU709 if frame.height >= HEIGHT else Colorspace.ITU601
    )
    source_range = ColorRange.JPEG if frame.color_range == ColorRange.JPEG else ColorRange.MPEG
    cropped = _crop_16_9(frame)
    return scaler.reformat(
        cropped,
        WIDTH,
        HEIGHT,
        "yuv420p",
        src_colorspace=source_space,
        dst_colorspace=Colorspace.ITU709,
        src_color_range=source_range,
        dst_color_range=ColorRange.MPEG,
        interpolation="BICUBIC",
        threads=1,
    )


def _crop_16_9(frame: av.VideoFrame) -> av.VideoFrame:
    """The centre 16:9 part of `frame` as a yuv420p frame (even sizes, for 4:2:0 chroma)."""
    width, height = frame.width // 2 * 2, frame.height // 2 * 2
    if (width, height) != (frame.width, frame.height) or frame.format.name != "yuv420p":
        # Planar 4:2:0 at even sizes lets the crop slice the planes directly.
        frame = frame.reformat(width, height, "yuv420p")
    crop_w = min(width, round(height * WIDTH / HEIGHT / 2) * 2)
    crop_h = min(height, round(crop_w * HEIGHT / WIDTH / 2) * 2)
    if (crop_w, crop_h) == (width, height):
        return frame
    left, top = (width - crop_w) // 4 * 2, (height - crop_h) // 4 * 2
    packed = frame.to_ndarray()
    luma = packed[:height]
    chroma = packed[height:].reshape(2, height // 2, width // 2)
    rows, cols = slice(top // 2, (top + crop_h) // 2), slice(left // 2, (left + crop_w) // 2)
    planes = (
        luma[top : top + crop_h, left : left + crop_w],
        chroma[0][rows, cols],
        chroma[1][rows, cols],
    )
    stacked = np.concatenate([plane.ravel() for plane in planes]).reshape(crop_h * 3 // 2, crop_w)
    return av.VideoFrame.from_ndarray(stacked, format="yuv420p")


def _stamp(frame: av.VideoFrame, index: int, fps: int) -> av.VideoFrame:
    """`frame` timed as output frame `index` (the same picture may be shown several times)."""
    frame.pts, frame.time_base = index, Fraction(1, fps)
    return frame
