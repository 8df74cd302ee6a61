"""Hosted model outputs normalised to the phases' formats: clips, last frames, music."""

from __future__ import annotations

import io
import math
import random
import wave
from fractions import Fraction
from typing import cast

import av
import numpy as np
import pytest
from av.video.stream import VideoStream
from PIL import Image

from aivideo.media.audio import fit_audio
from aivideo.media.clips import clip_seconds, fit_clip, last_frame_png
from aivideo.media.video_encoding import (
    concat_clips,
    encode_clip,
    mux_audio,
    open_input,
    open_output,
    probe,
)
from tests.media_checks import marked_image


def make_video(
    *,
    width: int = 320,
    height: int = 240,
    fps: int = 24,
    seconds: float = 4.0,
    codec: str = "mpeg4",
    color: tuple[int, int, int] = (200, 40, 40),
    last_color: tuple[int, int, int] | None = None,
    faststart: bool = True,
) -> bytes:
    """A small clip of one colour (the last frame `last_color` if given), built with PyAV."""
    frames = round(seconds * fps)
    buffer = io.BytesIO()
    # faststart puts the index first (as model CDNs serve it); without it, the index ends the file.
    with open_output(buffer) if faststart else av.open(buffer, "w", format="mp4") as output:
        stream = cast(VideoStream, output.add_stream(codec, rate=fps))
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for index in range(frames):
            rgb = last_color if last_color and index == frames - 1 else color
            pixels = np.full((height, width, 3), rgb, dtype=np.uint8)
            frame = av.VideoFrame.from_ndarray(pixels, format="rgb24")
            frame.pts, frame.time_base = index, Fraction(1, fps)
            output.mux(stream.encode(frame))
        output.mux(stream.encode(None))
    return buffer.getvalue()


def make_wav(*, seconds: float = 1.5, rate: int = 22050) -> bytes:
    """A mono 16-bit 440 Hz tone."""
    samples = np.sin(2 * math.pi * 440 * np.arange(round(seconds * rate)) / rate)
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as wav:
        wav.setnchannels(1)
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes((samples * 12000).astype("<i2").tobytes())
    return buffer.getvalue()


def make_mp3(*, seconds: float = 2.5, rate: int = 44100) -> bytes:
    """A stereo tone encoded by libmp3lame."""
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mp3") as output:
        stream = output.add_stream("libmp3lame", rate=rate)
        stream.codec_context.layout = "stereo"
        total = round(seconds * rate)
        for start in range(0, total, 1152):
            count = min(1152, total - start)
            tone = 0.3 * np.sin(2 * math.pi * 330 * (start + np.arange(count)) / rate)
            chunk = np.ascontiguousarray(np.vstack([tone, tone]).astype(np.float32))
            frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout="stereo")
            frame.sample_rate, frame.pts = rate, start
            output.mux(stream.encode(frame))
        output.mux(stream.encode(None))
    return buffer.getvalue()


def video_facts(data: bytes) -> tuple[int, int, int, Fraction | None, str, str]:
    """(decoded frame count, width, height, average rate, codec, pixel format) of a video."""
    with av.open(io.BytesIO(data), "r") as container:
        stream = container.streams.video[0]
        count = len(list(container.decode(stream)))
        context = stream.codec_context
        return (
            count,
            context.width,
            context.height,
            stream.average_rate,
            context.name,
            context.pix_fmt or "",
        )


def frame_colors(data: bytes) -> list[tuple[int, int, int]]:
    """The centre pixel of every decoded frame, as RGB."""
    with av.open(io.BytesIO(data), "r") as container:
        return [
            tuple(int(v) for v in frame.to_ndarray(format="rgb24")[360, 640])  # type: ignore[misc]
            for frame in container.decode(video=0)
        ]


def close(color: tuple[int, ...], expected: tuple[int, int, int], tolerance: int = 24) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(color, expected, strict=True))


@pytest.mark.parametrize("codec", ["mpeg4", "libx264"])
def test_a_longer_clip_is_trimmed_to_exact_frames_at_1280x720_30fps(codec: str) -> None:
    # given a 320x240 24 fps 4 s clip
    source = make_video(codec=codec, seconds=4.0)

    # when it is fitted to 3 s
    fitted = fit_clip([source], seconds=3.0)

    # then it has exactly 90 H.264 frames of 1280x720 at 30 fps
    assert video_facts(fitted) == (90, 1280, 720, Fraction(30), "h264", "yuv420p")
    assert abs(clip_seconds(fitted) - 3.0) < 1 / 30
    assert probe(fitted)["width"] == 1280


def test_a_short_clip_holds_its_last_frame() -> None:
    # given a 2 s red clip whose last frame is blue
    source = make_video(seconds=2.0, last_color=(30, 60, 220))

    # when it is fitted to 5 s
    fitted = fit_clip([source], seconds=5.0)

    # then 150 frames: red until the last source frame's time, blue to the end
    colors = frame_colors(fitted)
    assert len(colors) == 150
    # the last source frame (47 of 48 at 24 fps) starts at 47/24 s: output frame 59 (59/30 s)
    assert close(colors[58], (200, 40, 40))
    assert all(close(color, (30, 60, 220)) for color in colors[59:])


def test_two_parts_play_as_one_timeline() -> None:
    # given a 2 s red part and a 2 s green part at another size and rate
    red = make_video(seconds=2.0, fps=24)
    green = make_video(seconds=2.0, fps=25, width=480, height=270, color=(40, 200, 40))

    # when they are fitted to 4 s
    fitted = fit_clip([red, green], seconds=4.0)

    # then frames 0..59 (before 2 s) are red and 60..119 are green
    colors = frame_colors(fitted)
    assert len(colors) == 120
    assert all(close(color, (200, 40, 40)) for color in colors[:60])
    assert all(close(color, (40, 200, 40)) for color in colors[60:])
    assert abs(clip_seconds(fitted) - 4.0) < 1 / 30


def test_a_tall_frame_is_centre_cropped_not_squashed() -> None:
    # given a 4:3 frame whose left and right quarters are black
    width, height = 320, 240
    pixels = np.zeros((height, width, 3), dtype=np.uint8)
    pixels[:, 80:240] = (220, 220, 220)
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mp4") as output:
        stream = output.add_stream("libx264", rate=24)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        frame = av.VideoFrame.from_ndarray(pixels, format="rgb24")
        frame.pts, frame.time_base = 0, Fraction(1, 24)
        output.mux(stream.encode(frame))
        output.mux(stream.encode(None))

    # when it is fitted
    fitted = fit_clip([buffer.getvalue()], seconds=1 / 30)

    # then the 16:9 centre keeps full height: black edges stay 1/6 of the width each
    with av.open(io.BytesIO(fitted), "r") as container:
        rgb = next(container.decode(video=0)).to_ndarray(format="rgb24")
    row = rgb[360, :, 0]
    # 320x240 cropped to 320x180 then scaled 4x: black up to x = 320, light from 320 to 960
    assert row[300] < 40 and row[340] > 180 and row[940] > 180 and row[980] < 40
    assert rgb[5, 640, 0] > 180 and rgb[715, 640, 0] > 180


def test_a_fitted_clip_joins_local_clips_and_takes_music() -> None:
    # given a local clip and a fitted hosted clip
    local = encode_clip(image=marked_image((20, 90, 160)), seconds=2.0, seed=3)
    hosted = fit_clip([make_video(seconds=3.0)], seconds=2.0)

    # when they are joined and the music is added
    joined = concat_clips([local, hosted, local])
    final = mux_audio(video=joined, audio=fit_audio(make_wav(), seconds=6.0))

    # then the result plays: 180 frames, 6 s, H.264 and AAC
    assert video_facts(joined)[:3] == (180, 1280, 720)
    facts = probe(final)
    assert facts["codecs"] == ["h264", "aac"]
    assert abs(facts["duration"] - 6.0) < 0.05


def test_last_frame_png_is_the_clips_last_frame_at_1280x720() -> None:
    # given a red clip whose last frame is blue
    source = make_video(seconds=1.0, last_color=(30, 60, 220))

    # when its last frame is taken
    png = last_frame_png(source)

    # then it is a blue 1280x720 PNG
    with Image.open(io.BytesIO(png)) as image:
        assert (image.format, image.size) == ("PNG", (1280, 720))
        assert close(image.convert("RGB").getpixel((640, 360)), (30, 60, 220))  # type: ignore[arg-type]


def test_clip_seconds_of_audio_only_media_is_zero() -> None:
    assert clip_seconds(fit_audio(make_wav(), seconds=1.0)) == 0.0
    assert abs(clip_seconds(make_video(seconds=2.5, fps=24)) - 2.5) < 1 / 24


def corrupt_inputs() -> list[bytes]:
    clip = make_video(seconds=2.0, faststart=False)
    faststart_clip = make_video(seconds=2.0, codec="libx264")
    return [
        random.Random(7).randbytes(50_000),
        b"",
        clip[: len(clip) // 2],  # index at the end: cut off
        faststart_clip[: len(faststart_clip) * 2 // 3],  # index first, frames cut off
    ]


@pytest.mark.parametrize("index", range(4))
def test_video_that_does_not_decode_is_a_value_error(index: int) -> None:
    data = corrupt_inputs()[index]
    with pytest.raises(ValueError):
        fit_clip([data], seconds=1.0)
    with pytest.raises(ValueError):
        fit_clip([make_video(seconds=1.0), data], seconds=3.0)
    with pytest.raises(ValueError):
        last_frame_png(data)
    with pytest.raises(ValueError):
        clip_seconds(data)


def test_audio_is_fitted_to_stereo_44100_aac_of_the_asked_length() -> None:
    # given a 1.5 s mono 22050 Hz WAV
    wav = make_wav(seconds=1.5, rate=22050)

    # when it is fitted to 4 s (padded) and to 1 s (trimmed)
    for seconds in (4.0, 1.0):
        fitted = fit_audio(wav, seconds=seconds)

        # then it is AAC in M4A, stereo 44.1 kHz, within 30 ms of the length
        assert_audio(fitted, seconds)


def test_mp3_audio_is_fitted() -> None:
    if "libmp3lame" not in av.codecs_available:
        pytest.skip("this PyAV build has no MP3 encoder to make the input")
    assert_audio(fit_audio(make_mp3(seconds=2.5), seconds=3.0), 3.0)


def assert_audio(data: bytes, seconds: float) -> None:
    with av.open(io.BytesIO(data), "r") as container:
        assert container.format.name.startswith("mov,mp4,m4a")
        stream = container.streams.audio[0]
        assert (stream.codec_context.name, stream.channels, stream.rate) == ("aac", 2, 44100)
        samples = sum(frame.samples for frame in container.decode(stream))
    assert abs(samples / 44100 - seconds) < 0.03
    assert abs(probe(data)["duration"] - seconds) < 0.03


@pytest.mark.parametrize("data", [b"", b"RIFF\x00\x00\x00\x00WAVEjunk", b"\x00" * 4096])
def test_audio_that_does_not_decode_is_a_value_error(data: bytes) -> None:
    with pytest.raises(ValueError):
        fit_audio(data, seconds=2.0)


def audio_packets(data: bytes) -> list[bytes]:
    with open_input(data, "audio") as container:
        return [bytes(p) for p in container.demux(container.streams.audio[0]) if p.size]


def test_music_of_the_videos_length_is_copied_and_other_audio_is_fitted() -> None:
    # given a 2 s video, AAC music of exactly its length, and a 1.5 s WAV
    video = encode_clip(image=marked_image((20, 90, 160)), seconds=2.0, seed=3)
    music = fit_audio(make_wav(seconds=3.0), seconds=2.0)

    # when each is muxed with the video
    with_music = mux_audio(video=video, audio=music)
    with_wav = mux_audio(video=video, audio=make_wav())

    # then the music's AAC packets are the final's, unchanged; the WAV is padded to 2 s
    assert audio_packets(with_music) == audio_packets(music)
    assert probe(with_wav)["codecs"] == ["h264", "aac"]
    assert abs(probe(with_wav)["duration"] - 2.0) < 0.05
    assert abs(probe(with_music)["duration"] - 2.0) < 0.05
