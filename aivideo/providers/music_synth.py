"""Offline background music: a seeded chord progression with pad, bass and arpeggio."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from aivideo.media.video_encoding import encode_aac


@dataclass(frozen=True)
class _Feel:
    """How a mood sounds: tempo, chords (semitones above the key, quality), brightness."""

    bpm: int
    progression: tuple[tuple[int, str], ...]
    brightness: float


_CHORDS: dict[str, tuple[int, ...]] = {
    "maj": (0, 4, 7),
    "min": (0, 3, 7),
    "maj7": (0, 4, 7, 11),
    "min7": (0, 3, 7, 10),
    "sus2": (0, 2, 7),
    "sus4": (0, 5, 7),
}
_FEELS: dict[str, _Feel] = {
    "uplifting": _Feel(104, ((0, "maj"), (7, "maj"), (9, "min"), (5, "maj")), 0.35),
    "joyful": _Feel(116, ((0, "maj"), (9, "min"), (5, "maj"), (7, "maj")), 0.4),
    "energetic": _Feel(126, ((0, "min"), (8, "maj"), (3, "maj"), (10, "maj")), 0.45),
    "calm": _Feel(76, ((0, "maj7"), (5, "maj7"), (2, "min7"), (7, "sus2")), 0.15),
    "dreamy": _Feel(80, ((0, "maj7"), (4, "min7"), (9, "min7"), (5, "maj7")), 0.2),
    "melancholic": _Feel(68, ((0, "min7"), (5, "min7"), (8, "maj7"), (7, "min")), 0.15),
    "mysterious": _Feel(72, ((0, "min7"), (10, "maj"), (8, "maj7"), (7, "sus4")), 0.2),
    "tense": _Feel(96, ((0, "min"), (1, "maj"), (5, "min"), (7, "maj")), 0.3),
}
_ARP_PATTERNS = ((0, 1, 2, 3), (3, 2, 1, 0), (0, 2, 1, 3), (0, 1, 2, 3, 2, 1), (0, 2, 3, 1))
_PEAK = 0.89  # about -1 dBFS, leaving room for the AAC encoder's overshoot


def synthesize_music(
    *, seed_text: str, mood: str, duration_seconds: float, sample_rate: int = 44100
) -> bytes:
    """A deterministic music track of `duration_seconds`, as AAC in an MP4 (audio/mp4)."""
    samples = render_music(
        seed_text=seed_text, mood=mood, duration_seconds=duration_seconds, sample_rate=sample_rate
    )
    return encode_aac(samples=samples, sample_rate=sample_rate)


def render_music(
    *, seed_text: str, mood: str, duration_seconds: float, sample_rate: int = 44100
) -> np.ndarray:
    """The music as float32 stereo samples shaped (2, n), n = duration * sample_rate."""
    if not duration_seconds > 0:
        raise ValueError(f"duration_seconds {duration_seconds} must be positive")
    length = round(duration_seconds * sample_rate)
    rng = np.random.default_rng(_seed(f"{seed_text}\x00{mood}"))
    feel = _feel(mood)
    key = int(rng.integers(0, 12))
    pattern = _ARP_PATTERNS[int(rng.integers(0, len(_ARP_PATTERNS)))]
    beat = 60.0 / feel.bpm
    mix = np.zeros((2, length), dtype=np.float64)
    bar_count = int(np.ceil(length / (4 * beat * sample_rate)))
    for bar in range(bar_count):
        offset, quality = feel.progression[bar % len(feel.progression)]
        chord = [key + offset + interval for interval in _CHORDS[quality]]
        start = bar * 4 * beat
        _add_pad(mix, chord, start, 4 * beat, sample_rate)
        _add_bass(mix, chord[0], start, beat, sample_rate)
        _add_arpeggio(mix, chord, pattern, start, beat, feel.brightness, sample_rate)
    return _master(mix, sample_rate)


def _seed(text: str) -> int:
    """A stable integer seed from text."""
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")


def _feel(mood: str) -> _Feel:
    """The feel named by `mood`, or a stable pick for a mood we do not know."""
    name = mood.strip().lower()
    if name in _FEELS:
        return _FEELS[name]
    names = sorted(_FEELS)
    return _FEELS[names[_seed(name) % len(names)]]


def _frequency(midi_note: float) -> float:
    """The frequency in Hz of a MIDI note number (69 = A4 = 440 Hz)."""
    return 440.0 * 2.0 ** ((midi_note - 69) / 12)


def _add(
    mix: np.ndarray, start_seconds: float, wave: np.ndarray, pan: float, sample_rate: int
) -> None:
    """Add a mono `wave` into the stereo mix at a time, panned 0 (left) .. 1 (right)."""
    start = round(start_seconds * sample_rate)
    end = min(mix.shape[1], start + wave.shape[0])
    if end <= start:
        return
    part = wave[: end - start]
    # Equal-power panning keeps loudness steady across the stereo field.
    mix[0, start:end] += part * np.cos(pan * np.pi / 2)
    mix[1, start:end] += part * np.sin(pan * np.pi / 2)


def _add_pad(
    mix: np.ndarray, chord: list[int], start: float, length: float, sample_rate: int
) -> None:
    """A soft sustained chord, slightly detuned for warmth, fading in and out over the bar."""
    release = 0.6
    t = np.arange(round((length + release) * sample_rate)) / sample_rate
    envelope = np.minimum(1.0, t / 0.4) * np.clip((length + release - t) / release, 0.0, 1.0)
    for index, note in enumerate(chord):
        frequency = _frequency(note + 60)
        tone = np.sin(2 * np.pi * frequency * 1.002 * t) + np.sin(2 * np.pi * frequency * 0.998 * t)
        _add(mix, start, 0.05 * tone * envelope, 0.3 + 0.4 * index / len(chord), sample_rate)


def _add_bass(mix: np.ndarray, root: int, start: float, beat: float, sample_rate: int) -> None:
    """The chord's root, low, on beats one and three."""
    t = np.arange(round(2 * beat * sample_rate)) / sample_rate
    frequency = _frequency(root + 36)
    envelope = np.minimum(1.0, t / 0.01) * np.exp(-t / (0.8 * beat))
    tone = (np.sin(2 * np.pi * frequency * t) + 0.25 * np.sin(4 * np.pi * frequency * t)) * envelope
    for beat_index in (0, 2):
        _add(mix, start + beat_index * beat, 0.22 * tone, 0.5, sample_rate)


def _add_arpeggio(
    mix: np.ndarray,
    chord: list[int],
    pattern: tuple[int, ...],
    start: float,
    beat: float,
    brightness: float,
    sample_rate: int,
) -> None:
    """Eighth-note plucks walking the chord tones in `pattern`, with a dotted-eighth echo."""
    tones = [*chord, chord[0] + 12]
    t = np.arange(round(0.7 * sample_rate)) / sample_rate
    envelope = np.minimum(1.0, t / 0.005) * np.exp(-t / 0.22)
    for step in range(8):
        note = tones[pattern[step % len(pattern)] % len(tones)] + 72
        frequency = _frequency(note)
        tone = (
            np.sin(2 * np.pi * frequency * t)
            + brightness * np.sin(4 * np.pi * frequency * t)
            + brightness / 3 * np.sin(6 * np.pi * frequency * t)
        ) * envelope
        pan = 0.3 if step % 2 else 0.7
        at = start + step * beat / 2
        _add(mix, at, 0.09 * tone, pan, sample_rate)
        _add(mix, at + 0.75 * beat, 0.03 * tone, 1 - pan, sample_rate)


def _master(mix: np.ndarray, sample_rate: int) -> np.ndarray:
    """Fade in and out, soft-limit and normalise to a safe peak, as float32."""
    length = mix.shape[1]
    fade_in = min(length // 4, round(0.5 * sample_rate))
    fade_out = min(length // 4, round(2.0 * sample_rate))
    if fade_in:
        mix[:, :fade_in] *= np.linspace(0.0, 1.0, fade_in)
    if fade_out:
        mix[:, length - fade_out :] *= np.linspace(1.0, 0.0, fade_out)
    shaped = np.tanh(1.2 * mix)
    peak = float(np.max(np.abs(shaped))) if length else 0.0
    if peak > 0:
        shaped *= _PEAK / peak
    return shaped.astype(np.float32)
