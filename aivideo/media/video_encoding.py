"""In-memory MP4 work with PyAV: animate a still, join clips, add music, probe."""

from __future__ import annotations

import heapq
import io
import random
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import av
import numpy as np
from av.audio.stream import AudioStream
from av.container import InputContainer, OutputContainer
from av.packet import Packet
from av.video.codeccontext import VideoCodecContext
from av.video.reformatter import (
    ColorPrimaries,
    ColorRange,
    Colorspace,
    ColorTrc,
    VideoReformatter,
)
from av.video.stream import VideoStream
from PIL import Image, ImageOps

from aivideo.media.images import load_image

WIDTH = 1280
HEIGHT = 720
AUDIO_RATE = 44100
MOTIONS = ("zoom_in", "zoom_out", "pan_left", "pan_right", "pan_up", "pan_down")

# The still is resized once to a YUV canvas this much larger than the frame; each
# frame is an integer crop of it, scaled down by swscale. Oversampling keeps the
# integer crop steps below a pixel of output, so the motion looks smooth.
_OVERSAMPLE = 1.25
# Camera moves crop at most ~9.6% of one side of the still (pans: 0.9 of the free
# travel at 1.12x), which keeps the storyboard's title-safe captions in view.
_MAX_ZOOM = 1.15
_PAN_ZOOM = 1.12
_H264_OPTIONS = {"preset": "superfast", "crf": "23"}
_AUDIO_FADE_SECONDS = 0.03
# Audio this close to the video's length is copied, not re-encoded (one AAC frame, 23 ms).
_COPY_TOLERANCE = 1024 / AUDIO_RATE


@dataclass(frozen=True)
class _Canvas:
    """The still as yuv420p planes: full-size luma, half-size chroma."""

    luma: np.ndarray
    blue: np.ndarray
    red: np.ndarray


@dataclass(frozen=True)
class _Camera:
    """A camera position: zoom (1 = whole canvas) and the crop centre in 0..1 of the free travel."""

    zoom: float
    x: float
    y: float


def encode_clip(
    *, image: bytes, seconds: float, fps: int = 30, seed: int, motion: str | None = None
) -> bytes:
    """Animate a PNG or JPEG still into a 1280x720 H.264 MP4 of `seconds * fps` frames."""
    frame_count = round(seconds * fps)
    if frame_count < 1:
        raise ValueError(f"seconds={seconds} gives no frames at {fps} fps: use a positive length")
    canvas = _canvas(load_image(image))
    start, end = _camera_path(motion or MOTIONS[seed % len(MOTIONS)], seed)
    # One reformatter for the clip reuses swscale's context between frames.
    scaler = VideoReformatter()
    buffer = io.BytesIO()
    with open_output(buffer) as output:
        stream = add_h264_stream(output, fps)
        for index in range(frame_count):
            progress = index / max(frame_count - 1, 1)
            frame = _frame(canvas, _lerp(start, end, progress), scaler)
            frame.pts, frame.time_base = index, Fraction(1, fps)
            output.mux(stream.encode(frame))
        output.mux(stream.encode(None))
    return buffer.getvalue()


def add_h264_stream(output: OutputContainer, fps: int) -> VideoStream:
    """A 1280x720 yuv420p H.264 stream at `fps`, set up like every clip so that they concat."""
    # concat_clips joins without re-encoding, so every clip's encoder settings (and
    # thus its SPS/PPS) must be byte-identical: all clips get their stream here.
    stream = output.add_stream("libx264", rate=fps, options=dict(_H264_OPTIONS))
    stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
    _configure_h264(stream.codec_context, fps)
    return stream


def _configure_h264(context: VideoCodecContext, fps: int) -> None:
    """Keyframes every 2 s (for seeking), BT.709 tags, and x264 on every core."""
    context.gop_size = 2 * fps
    context.thread_count = 0
    context.colorspace = Colorspace.ITU709
    context.color_primaries = ColorPrimaries.BT709
    context.color_trc = ColorTrc.BT709
    context.color_range = ColorRange.MPEG


def concat_clips(clips: Sequence[bytes]) -> bytes:
    """Join MP4 clips with identical H.264 parameters into one MP4, without re-encoding."""
    if not clips:
        raise ValueError("no clips to join: pass at least one MP4 clip")
    buffer = io.BytesIO()
    with open_output(buffer) as output:
        target: VideoStream | None = None
        reference: tuple[object, ...] | None = None
        offset = 0
        for index, clip in enumerate(clips):
            with open_input(clip, f"clip {index}") as source:
                stream = video_stream(source, f"clip {index}")
                if target is None:
                    target, reference = _copy_stream(output, stream), _params(stream)
                elif _params(stream) != reference:
                    raise ValueError(
                        f"clip {index} has other codec parameters than clip 0: "
                        "encode every clip with the same settings before joining"
                    )
                offset = _copy_packets(output, source, stream, target, offset)
    return buffer.getvalue()


def mux_audio(*, video: bytes, audio: bytes) -> bytes:
    """An MP4 of the video's H.264 stream (copied) and `audio` as AAC, cut to the video's length.

    Stereo AAC at AUDIO_RATE that already has the video's length (the phase's own music) is
    copied as it is: decoding and encoding it again was a fifth of a YOLO video's phase 4.
    """
    with open_input(video, "video") as source, open_input(audio, "audio") as sound_source:
        stream = video_stream(source, "video")
        packets = [p for p in source.demux(stream) if p.dts is not None]
        if not packets:
            raise ValueError("the video has no frames: pass a non-empty MP4")
        seconds = _end_seconds(packets, stream)
        buffer = io.BytesIO()
        with open_output(buffer) as output:
            target = _copy_stream(output, stream)
            for packet in packets:
                packet.stream = target
            copyable = _aac_of_length(sound_source, seconds)
            if copyable is not None:
                audio_packets: Iterable[Packet] = _copied_packets(output, sound_source, copyable)
            else:
                samples = fit_length(decode_audio(audio), round(seconds * AUDIO_RATE))
                sound = _add_aac_stream(output, AUDIO_RATE)
                audio_packets = _aac_packets(sound, samples, AUDIO_RATE)
            # Interleave by time so players can stream the file progressively.
            for packet in heapq.merge(packets, audio_packets, key=_packet_seconds):
                output.mux(packet)
    return buffer.getvalue()


def _aac_of_length(container: InputContainer, seconds: float) -> AudioStream | None:
    """The container's audio stream if it can be copied as the video's sound track."""
    if not container.streams.audio:
        raise ValueError("audio has no audio stream: pass an audio file such as M4A")
    stream = container.streams.audio[0]
    context = stream.codec_context
    if (context.name, context.sample_rate, context.layout.nb_channels) != ("aac", AUDIO_RATE, 2):
        return None
    return stream if abs(_container_seconds(container) - seconds) <= _COPY_TOLERANCE else None


def _copied_packets(
    output: OutputContainer, container: InputContainer, stream: AudioStream
) -> list[Packet]:
    target = output.add_stream_from_template(stream)
    packets = [p for p in container.demux(stream) if p.dts is not None]
    for packet in packets:
        packet.stream = target
    return packets


def encode_aac(*, samples: np.ndarray, sample_rate: int = AUDIO_RATE) -> bytes:
    """Encode float samples shaped (channels, n) in -1..1 as AAC in an MP4 (M4A) container."""
    buffer = io.BytesIO()
    with open_output(buffer) as output:
        stream = _add_aac_stream(output, sample_rate)
        for packet in _aac_packets(stream, _stereo(samples), sample_rate):
            output.mux(packet)
    return buffer.getvalue()


def probe(data: bytes) -> dict[str, Any]:
    """Describe a media file: duration in seconds, stream counts, frame size and codecs."""
    with open_input(data, "media") as container:
        video = container.streams.video[0] if container.streams.video else None
        return {
            "duration": _container_seconds(container),
            "video_streams": len(container.streams.video),
            "audio_streams": len(container.streams.audio),
            "width": video.codec_context.width if video else None,
            "height": video.codec_context.height if video else None,
            "codecs": [s.codec_context.name for s in container.streams if s.codec_context],
        }


def open_output(buffer: io.BytesIO) -> OutputContainer:
    """An MP4 writer into `buffer` with its index (moov) first, for progressive playback."""
    # faststart re-opens the output to shift the data behind the index; a snapshot
    # of what was written so far serves that read in memory.
    return av.open(
        buffer,
        "w",
        format="mp4",
        options={"movflags": "+faststart"},
        io_open=lambda _url, _flags, _options: io.BytesIO(buffer.getvalue()),
    )


def open_input(data: bytes, label: str) -> InputContainer:
    """Open media bytes for reading; ValueError naming `label` if they are not media."""
    try:
        return av.open(io.BytesIO(data), "r")
    except av.FFmpegError as exc:
        raise ValueError(f"{label} is not a readable media file: {exc}") from exc


def video_stream(container: InputContainer, label: str) -> VideoStream:
    """The first video stream of `container`; ValueError naming `label` if there is none."""
    if not container.streams.video:
        raise ValueError(f"{label} has no video stream: pass an MP4 with H.264 video")
    return container.streams.video[0]


def _canvas(image: Image.Image) -> _Canvas:
    """The still cover-fitted once to the oversampled canvas and split into YUV planes."""
    width, height = round(WIDTH * _OVERSAMPLE) // 2 * 2, round(HEIGHT * _OVERSAMPLE) // 2 * 2
    rgb = np.asarray(ImageOps.fit(image, (width, height), Image.Resampling.BICUBIC))
    # BT.709, limited range: what players assume for HD video (tagged on the stream too).
    planes = VideoReformatter().reformat(
        av.VideoFrame.from_ndarray(rgb, format="rgb24"),
        format="yuv420p",
        dst_colorspace=Colorspace.ITU709,
        dst_color_range=ColorRange.MPEG,
    )
    packed = planes.to_ndarray()
    quarter = width * height // 4
    chroma = packed[height:].reshape(2, quarter)
    return _Canvas(
        luma=packed[:height],
        blue=chroma[0].reshape(height // 2, width // 2),
        red=chroma[1].reshape(height // 2, width // 2),
    )


def _camera_path(motion: str, seed: int) -> tuple[_Camera, _Camera]:
    """Start and end camera for a Ken Burns `motion`, with a seeded point of interest."""
    if motion not in MOTIONS:
        raise ValueError(f"unknown motion {motion!r}: use one of {', '.join(MOTIONS)}")
    # A seeded focus keeps zooms from always heading for the exact centre.
    rng = random.Random(seed)
    focus_x, focus_y = rng.uniform(0.3, 0.7), rng.uniform(0.3, 0.7)
    paths = {
        "zoom_in": (_Camera(1.0, 0.5, 0.5), _Camera(_MAX_ZOOM, focus_x, focus_y)),
        "zoom_out": (_Camera(_MAX_ZOOM, focus_x, focus_y), _Camera(1.0, 0.5, 0.5)),
        "pan_left": (_Camera(_PAN_ZOOM, 0.9, focus_y), _Camera(_PAN_ZOOM, 0.1, focus_y)),
        "pan_right": (_Camera(_PAN_ZOOM, 0.1, focus_y), _Camera(_PAN_ZOOM, 0.9, focus_y)),
        "pan_up": (_Camera(_PAN_ZOOM, focus_x, 0.85), _Camera(_PAN_ZOOM, focus_x, 0.15)),
        "pan_down": (_Camera(_PAN_ZOOM, focus_x, 0.15), _Camera(_PAN_ZOOM, focus_x, 0.85)),
    }
    return paths[motion]


def _lerp(start: _Camera, end: _Camera, progress: float) -> _Camera:
    """The camera `progress` (0..1) of the way from `start` to `end`."""

    def mix(a: float, b: float) -> float:
        return a + (b - a) * progress

    return _Camera(mix(start.zoom, end.zoom), mix(start.x, end.x), mix(start.y, end.y))


def _frame(canvas: _Canvas, camera: _Camera, scaler: VideoReformatter) -> av.VideoFrame:
    """The canvas cropped at `camera` and scaled to the output size, in yuv420p."""
    height, width = canvas.luma.shape
    # yuv420p needs even sizes; luma offsets stay exact, chroma ones round down.
    crop_w = min(width, round(width / camera.zoom / 2) * 2)
    crop_h = min(height, round(crop_w * HEIGHT / WIDTH / 2) * 2)
    left = round((width - crop_w) * camera.x)
    top = round((height - crop_h) * camera.y)
    chroma_rows = slice(top // 2, top // 2 + crop_h // 2)
    chroma_cols = slice(left // 2, left // 2 + crop_w // 2)
    crops = (
        canvas.luma[top : top + crop_h, left : left + crop_w],
        canvas.blue[chroma_rows, chroma_cols],
        canvas.red[chroma_rows, chroma_cols],
    )
    # Each crop is copied once, straight into the frame's planes (rows may be padded).
    frame = av.VideoFrame(width=crop_w, height=crop_h, format="yuv420p")
    for plane, crop in zip(frame.planes, crops, strict=True):
        rows = np.frombuffer(memoryview(plane), dtype=np.uint8).reshape(
            plane.height, plane.line_size
        )
        rows[:, : plane.width] = crop
    # One swscale thread: per-frame thread hand-off costs more than it saves, and
    # x264 already keeps the other cores busy.
    return scaler.reformat(frame, WIDTH, HEIGHT, "yuv420p", interpolation="BILINEAR", threads=1)


def _copy_stream(output: OutputContainer, stream: VideoStream) -> VideoStream:
    """An output stream with `stream`'s codec parameters, for packets copied unchanged."""
    copy = output.add_stream_from_template(stream)
    assert isinstance(copy, VideoStream)
    return copy


def _params(stream: VideoStream) -> tuple[object, ...]:
    """What must match for H.264 packets of two clips to share one stream."""
    context = stream.codec_context
    return (
        context.name,
        context.width,
        context.height,
        context.pix_fmt,
        stream.time_base,
        bytes(context.extradata or b""),
    )


def _copy_packets(
    output: OutputContainer,
    source: InputContainer,
    stream: VideoStream,
    target: VideoStream,
    offset: int,
) -> int:
    """Mux a clip's packets shifted by `offset` (stream time base); return the clip's end."""
    end = offset
    default_duration = frame_duration(stream)
    for packet in source.demux(stream):
        if packet.dts is None or packet.pts is None:  # the demuxer's final flush packet
            continue
        packet.pts += offset
        packet.dts += offset
        end = max(end, packet.pts + (packet.duration or default_duration))
        packet.stream = target
        output.mux(packet)
    return end


def frame_duration(stream: VideoStream) -> int:
    """One frame's duration in the stream's time base, from its average rate."""
    rate = stream.average_rate or stream.guessed_rate or Fraction(30)
    time_base = stream.time_base or Fraction(1, 90000)
    return max(1, round(1 / (rate * time_base)))


def _end_seconds(packets: Sequence[Packet], stream: VideoStream) -> float:
    """Where the last of `packets` ends, in seconds."""
    default_duration = frame_duration(stream)
    return max(
        float(((p.pts or 0) + (p.duration or default_duration)) * p.time_base) for p in packets
    )


def _packet_seconds(packet: Packet) -> float:
    """A packet's decode time in seconds, for interleaving."""
    return float((packet.dts or 0) * packet.time_base)


def decode_audio(data: bytes) -> np.ndarray:
    """Decode any audio file to float32 stereo at AUDIO_RATE, shaped (2, n)."""
    with open_input(data, "audio") as container:
        if not container.streams.audio:
            raise ValueError("audio has no audio stream: pass an audio file such as M4A")
        resampler = av.AudioResampler(format="fltp", layout="stereo", rate=AUDIO_RATE)
        chunks = [
            resampled.to_ndarray()
            for frame in container.decode(container.streams.audio[0])
            for resampled in resampler.resample(frame)
        ]
        chunks += [resampled.to_ndarray() for resampled in resampler.resample(None)]
    if not chunks:
        return np.zeros((2, 0), dtype=np.float32)
    return np.concatenate(chunks, axis=1).astype(np.float32)


def fit_length(samples: np.ndarray, length: int) -> np.ndarray:
    """Trim or pad (silence) to `length` samples, fading the end to avoid a click."""
    fitted = np.zeros((samples.shape[0], length), dtype=np.float32)
    kept = min(length, samples.shape[1])
    fitted[:, :kept] = samples[:, :kept]
    fade = min(kept, round(_AUDIO_FADE_SECONDS * AUDIO_RATE))
    if fade:
        fitted[:, kept - fade : kept] *= np.linspace(1.0, 0.0, fade, dtype=np.float32)
    return fitted


def _stereo(samples: np.ndarray) -> np.ndarray:
    """Float32 samples shaped (2, n), from mono (n,) / (1, n) or stereo input."""
    array = np.asarray(samples, dtype=np.float32)
    if array.ndim == 1:
        array = array[np.newaxis, :]
    if array.ndim != 2 or array.shape[0] not in (1, 2):
        raise ValueError(f"samples of shape {array.shape} are not mono or stereo: use (2, n)")
    return np.ascontiguousarray(np.repeat(array, 2, axis=0) if array.shape[0] == 1 else array)


def _add_aac_stream(output: OutputContainer, sample_rate: int) -> AudioStream:
    """A stereo AAC stream at `sample_rate`, 160 kb/s."""
    stream = output.add_stream("aac", rate=sample_rate)
    stream.codec_context.layout = "stereo"
    stream.codec_context.format = "fltp"
    stream.codec_context.bit_rate = 160_000
    return stream


def _aac_packets(stream: AudioStream, samples: np.ndarray, sample_rate: int) -> Iterator[Packet]:
    """Encode (2, n) float samples into AAC packets for `stream`, flushing at the end."""
    frame_size = stream.codec_context.frame_size or 1024
    for start in range(0, samples.shape[1], frame_size):
        chunk = np.ascontiguousarray(samples[:, start : start + frame_size])
        frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout="stereo")
        frame.sample_rate, frame.pts = sample_rate, start
        frame.time_base = Fraction(1, sample_rate)
        yield from stream.encode(frame)
    yield from stream.encode(None)


def _container_seconds(container: InputContainer) -> float:
    """The container's duration in seconds, else the longest stream's."""
    if container.duration is not None:
        return container.duration / av.time_base
    lengths = [
        float(s.duration * s.time_base)
        for s in container.streams
        if s.duration is not None and s.time_base is not None
    ]
    return max(lengths, default=0.0)
