"""Hosted music model outputs fitted to the music format: stereo 44.1 kHz AAC in M4A."""

from __future__ import annotations

import av

from aivideo.media.video_encoding import AUDIO_RATE, decode_audio, encode_aac, fit_length


def fit_audio(data: bytes, *, seconds: float) -> bytes:
    """Decode any audio file and return exactly `seconds` of it as stereo 44.1 kHz AAC in M4A.

    Longer audio is trimmed (with a short fade), shorter audio padded with silence.
    """
    length = round(seconds * AUDIO_RATE)
    if length < 1:
        raise ValueError(f"seconds={seconds} gives no audio: use a positive length")
    try:
        samples = decode_audio(data)
    except (av.FFmpegError, OSError, EOFError) as exc:
        raise ValueError(f"the audio does not decode: {exc}") from exc
    if samples.shape[1] == 0:
        raise ValueError("the audio has no decodable samples: pass a playable audio file")
    return encode_aac(samples=fit_length(samples, length))
