"""Phase 1 offline: turn a prompt into a spec (style and 5/10/15-second beats).

Everything is drawn from a `random.Random` seeded by a hash of the prompt, so the
same prompt always yields the same spec.
"""

from __future__ import annotations

import colorsys
import hashlib
import random
import re
from typing import Any, TypeVar

_K = TypeVar("_K")

FPS = 30
RESOLUTION = "1280x720"
BEAT_LENGTHS = (5, 10, 15)
MIN_DURATION = 10
MAX_DURATION = 120

# Chance that a pair of 10-second beats becomes 5 + 15, for rhythm; at most a
# quarter of the pairs are tried so that 10-second beats stay the norm.
_VARIETY_RATE = 0.4

_AESTHETICS: dict[str, tuple[str, ...]] = {
    "neon cyberpunk": ("cyberpunk", "neon", "futuristic", "sci-fi", "robot"),
    "hand-painted anime": ("anime", "manga", "cartoon"),
    "soft watercolor": ("watercolor", "painting", "painted", "storybook"),
    "film noir": ("noir", "detective", "crime"),
    "nature documentary": ("wildlife", "documentary", "animal", "forest", "ocean"),
    "retro 80s synthwave": ("retro", "80s", "synthwave", "arcade"),
    "dreamlike surreal": ("dream", "surreal", "fantasy", "magic"),
    "clean minimalist": ("minimal", "product", "clean", "studio"),
}
_DEFAULT_AESTHETICS = ("cinematic", "vintage film", "photorealistic", "epic widescreen")

_MOODS: dict[str, tuple[str, ...]] = {
    "joyful": ("happy", "joy", "celebrat", "party", "fun", "playful"),
    "energetic": ("race", "fast", "action", "dance", "chase", "sport"),
    "calm": ("calm", "peace", "quiet", "serene", "gentle", "relax"),
    "melancholic": ("sad", "lonely", "rain", "memory", "loss", "farewell"),
    "tense": ("danger", "storm", "war", "fear", "escape", "battle"),
    "mysterious": ("mystery", "secret", "night", "fog", "ancient", "shadow"),
    "dreamy": ("dream", "float", "cloud", "star", "wonder"),
}
_DEFAULT_MOODS = ("uplifting", "calm", "dreamy", "joyful")

_LIGHTING: dict[str, tuple[str, ...]] = {
    "golden hour sunlight": ("sunset", "sunrise", "dusk", "dawn", "golden"),
    "moonlit blue tones": ("night", "moon", "star"),
    "neon glow": ("neon", "city", "cyberpunk", "club"),
    "overcast natural light": ("rain", "fog", "mist", "cloud"),
    "warm candlelight": ("candle", "fire", "cozy", "tavern"),
}
_DEFAULT_LIGHTING = ("soft diffused daylight", "high-contrast chiaroscuro", "bright midday sun")

# Base hue (0..1) of the palette when the prompt names a setting.
_HUES: dict[float, tuple[str, ...]] = {
    0.58: ("ocean", "sea", "water", "sky", "ice", "snow", "river"),
    0.33: ("forest", "jungle", "garden", "grass", "meadow"),
    0.06: ("sunset", "fire", "autumn", "desert", "sunrise"),
    0.68: ("night", "space", "galaxy", "moon", "star"),
    0.85: ("neon", "cyberpunk", "club", "synthwave"),
}

_SHOT_TYPES = (
    "medium shot",
    "close-up",
    "tracking shot",
    "aerial shot",
    "low-angle shot",
    "over-the-shoulder shot",
    "slow dolly shot",
    "wide shot",
)
# Words that join clauses but make no sense at the start of a beat's subject.
_CONNECTOR = re.compile(r"^(?:and then|and|then|but|while|before|after)\s+", re.IGNORECASE)
_OPENING_ACTIONS = (
    "the scene slowly comes into view",
    "the world is introduced in a calm first glance",
)
_MIDDLE_ACTIONS = (
    "details emerge in the foreground",
    "movement builds across the frame",
    "the light shifts as the moment unfolds",
    "the focus pulls onto the subject",
    "the camera drifts to reveal what lies beyond",
    "a quiet pause lingers on the scene",
    "energy peaks in a striking moment",
    "textures and colors come alive",
    "the perspective changes to show a new side",
    "the story turns a corner",
)
_CLOSING_ACTIONS = (
    "the final image holds and gently fades",
    "everything settles into a last, lasting view",
)


def plan_spec(*, prompt: str, title: str, duration_seconds: int) -> dict[str, Any]:
    """Plan a deterministic spec for `prompt` whose beats sum to `duration_seconds`."""
    text = " ".join(prompt.split())
    if not text:
        raise ValueError("prompt must not be empty: describe the video to generate")
    _check_duration(duration_seconds)
    rng = random.Random(_seed(text))
    style = _plan_style(rng, text)
    durations = _beat_durations(rng, duration_seconds)
    return {
        "title": title.strip() or _title_from_prompt(text),
        "duration": duration_seconds,
        "fps": FPS,
        "resolution": RESOLUTION,
        "style": style,
        "beats": _plan_beats(rng, text, durations, style),
    }


def _check_duration(duration_seconds: int) -> None:
    """Raise ValueError unless the duration is a multiple of 5 within the allowed range."""
    if (
        not isinstance(duration_seconds, int)
        or not MIN_DURATION <= duration_seconds <= MAX_DURATION
        or duration_seconds % 5
    ):
        raise ValueError(
            f"duration_seconds {duration_seconds!r} is invalid: use a multiple of 5 "
            f"from {MIN_DURATION} to {MAX_DURATION}"
        )


def _seed(text: str) -> int:
    """A stable integer seed from text (Python's own hash() is salted per process)."""
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")


def _match(text: str, table: dict[_K, tuple[str, ...]]) -> _K | None:
    """The table key whose keyword (a word prefix) occurs earliest in `text`, if any."""
    best: tuple[int, _K] | None = None
    for key, words in table.items():
        for word in words:
            found = re.search(rf"\b{re.escape(word)}", text, re.IGNORECASE)
            if found and (best is None or found.start() < best[0]):
                best = (found.start(), key)
    return best[1] if best else None


def _pick(
    rng: random.Random, text: str, table: dict[str, tuple[str, ...]], defaults: tuple[str, ...]
) -> str:
    """The table entry named by the prompt's keywords, else a seeded default."""
    return _match(text, table) or rng.choice(defaults)


def _plan_style(rng: random.Random, text: str) -> dict[str, Any]:
    """The spec's style block: aesthetic, palette, mood and lighting."""
    mood = _pick(rng, text, _MOODS, _DEFAULT_MOODS)
    return {
        "aesthetic": _pick(rng, text, _AESTHETICS, _DEFAULT_AESTHETICS),
        "color_palette": _palette(rng, text, mood),
        "mood": mood,
        "lighting": _pick(rng, text, _LIGHTING, _DEFAULT_LIGHTING),
    }


def _palette(rng: random.Random, text: str, mood: str) -> list[str]:
    """Three to five harmonious "#rrggbb" colors around a hue suggested by the prompt."""
    hue = _match(text, _HUES)
    if hue is None:
        hue = rng.random()
    muted = mood in {"melancholic", "mysterious", "calm"}
    offsets = [0.0, 0.08, -0.08, 0.5, 0.04]
    colors = []
    for index in range(rng.randint(3, 5)):
        saturation = rng.uniform(0.25, 0.5) if muted else rng.uniform(0.45, 0.85)
        # Alternate dark and light tones so gradients have depth.
        value = rng.uniform(0.2, 0.45) if index % 2 else rng.uniform(0.6, 0.95)
        red, green, blue = colorsys.hsv_to_rgb((hue + offsets[index]) % 1.0, saturation, value)
        colors.append(f"#{round(red * 255):02x}{round(green * 255):02x}{round(blue * 255):02x}")
    return colors


def _beat_durations(rng: random.Random, total: int) -> list[int]:
    """Beat lengths of 5, 10 or 15 seconds summing to `total`, mostly 10."""
    durations = [10] * (total // 10)
    if total % 10:
        durations[rng.randrange(len(durations))] = 15
    tens = [index for index, length in enumerate(durations) if length == 10]
    rng.shuffle(tens)
    pairs = list(zip(tens[::2], tens[1::2], strict=False))[: max(1, len(durations) // 4)]
    for first, second in pairs:
        if rng.random() < _VARIETY_RATE:
            durations[first], durations[second] = 5, 15
    return durations


def _plan_beats(
    rng: random.Random, text: str, durations: list[int], style: dict[str, Any]
) -> list[dict[str, Any]]:
    """One beat per duration, each with its own start, shot type and prompt."""
    subjects = _beat_subjects(text, len(durations))
    shots = _shot_types(rng, len(durations))
    actions = _actions(rng, len(durations))
    beats, start = [], 0
    for index, duration in enumerate(durations):
        prompt = (
            f"{shots[index].capitalize()} of {subjects[index]}, {actions[index]}; "
            f"{style['aesthetic']} style, {style['lighting']}"
        )
        beats.append(
            {
                "beat_id": f"beat_{index}",
                "start": start,
                "duration": duration,
                "prompt": prompt,
                "shot_type": shots[index],
            }
        )
        start += duration
    return beats


def _clauses(text: str) -> list[str]:
    """The prompt split into sentences, or into comma clauses when it is one sentence."""
    parts = [p for p in re.split(r"(?<=[.!?;])\s+|;\s*", text) if p.strip(" .!?;")]
    if len(parts) < 2:
        parts = [p for p in re.split(r",\s*|\s+(?:and then|then)\s+", text) if p.strip(" .!?;")]
    clauses = [_lower_first(_CONNECTOR.sub("", p.strip(" .!?;,"))) for p in parts]
    return [c for c in clauses if c] or [text]


def _lower_first(clause: str) -> str:
    """Lower-case a leading capital unless the first word is an acronym ("NYC")."""
    if len(clause) > 1 and clause[0].isupper() and not clause[1].isupper():
        return clause[0].lower() + clause[1:]
    return clause


def _beat_subjects(text: str, count: int) -> list[str]:
    """Spread the prompt's clauses over `count` beats, in order."""
    clauses = _clauses(text)
    if len(clauses) <= count:
        return [clauses[index * len(clauses) // count] for index in range(count)]
    return [
        ", ".join(clauses[index * len(clauses) // count : (index + 1) * len(clauses) // count])
        for index in range(count)
    ]


def _shot_types(rng: random.Random, count: int) -> list[str]:
    """An establishing shot first, then shot types that never repeat back to back."""
    shots = ["wide establishing shot"]
    while len(shots) < count:
        shots.append(rng.choice([s for s in _SHOT_TYPES if s != shots[-1]]))
    return shots


def _actions(rng: random.Random, count: int) -> list[str]:
    """An opening phrase, distinct middle phrases (cycled if needed), a closing phrase."""
    if count == 1:
        return [rng.choice(_OPENING_ACTIONS)]
    middle = rng.sample(_MIDDLE_ACTIONS, len(_MIDDLE_ACTIONS))
    inner = [middle[index % len(middle)] for index in range(count - 2)]
    return [rng.choice(_OPENING_ACTIONS), *inner, rng.choice(_CLOSING_ACTIONS)]


def _title_from_prompt(text: str) -> str:
    """A short title from the prompt's first words, for an empty title."""
    words = re.sub(r"[^\w\s'-]", "", text).split()[:6]
    return " ".join(words).capitalize() or "Untitled video"
