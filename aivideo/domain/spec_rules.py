"""What makes a video spec valid, and how an editSpec patch applies to one."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from PIL import ImageColor

from aivideo.domain.videos import PROMPT_LENGTH
from aivideo.errors import BadUserInput

TOP_LEVEL_KEYS = ("title", "duration", "fps", "resolution", "style", "beats")
STYLE_KEYS = ("aesthetic", "color_palette", "mood", "lighting")
BEAT_DURATIONS = (5, 10, 15)
FPS = 30
RESOLUTION = "1280x720"
PROMPT_MAX_CHARS = PROMPT_LENGTH[1]  # beat prompts and prompt overrides, as a video's prompt
SPEC_MAX_BYTES = 64 * 1024  # serialized as compact UTF-8 JSON
_HEX_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")


def apply_patch(spec: dict[str, Any], patch: Any, *, duration: int) -> dict[str, Any]:
    """Top-level keys of the patch replace the spec's; the result must be a valid spec.

    `duration` is the video's durationSeconds: the spec keeps it, and its beats sum to it.
    """
    if not isinstance(patch, dict) or not patch:
        raise BadUserInput("patch must be a non-empty JSON object of top-level spec keys")
    unknown = sorted(set(patch) - set(TOP_LEVEL_KEYS))
    if unknown:
        raise BadUserInput(
            f"patch has unknown keys {unknown}: a spec has {', '.join(TOP_LEVEL_KEYS)}"
        )
    if "duration" in patch and patch["duration"] != duration:
        raise BadUserInput(
            f"duration is the video's durationSeconds ({duration} s) and cannot change to "
            f"{patch['duration']!r}: fit the beats to {duration} s, or create a new video "
            "for another length"
        )
    merged = {**spec, **patch, "duration": duration}
    _check_size(merged)
    if "beats" in patch and isinstance(merged["beats"], list):
        merged["beats"] = _fill_beat_defaults(merged["beats"])
    long_prompts = list(_long_new_prompts(spec, merged["beats"]))
    if long_prompts:
        raise BadUserInput("invalid spec: " + "; ".join(long_prompts[:5]))
    return validate_spec(merged)


def _check_size(spec: dict[str, Any]) -> None:
    try:
        size = len(json.dumps(spec, ensure_ascii=False, separators=(",", ":")).encode())
    except (ValueError, RecursionError) as exc:
        raise BadUserInput("the patch is not plain JSON or is nested too deeply") from exc
    if size > SPEC_MAX_BYTES:
        raise BadUserInput(
            f"the spec would be {size:,} bytes of JSON; at most {SPEC_MAX_BYTES:,} (64 KB) "
            "are accepted: shorten its text"
        )


def _long_new_prompts(spec: dict[str, Any], beats: Any) -> Iterator[str]:
    """Beat prompts over the limit that the patch brings in.

    A prompt the spec already had is kept as it was: the planner may write a longer one
    from a long video prompt, and an edit elsewhere must not fail on it.
    """
    if not isinstance(beats, list):
        return
    known = {b.get("prompt") for b in spec.get("beats", []) if isinstance(b, dict)}
    for index, beat in enumerate(beats):
        prompt = beat.get("prompt") if isinstance(beat, dict) else None
        if isinstance(prompt, str) and len(prompt) > PROMPT_MAX_CHARS and prompt not in known:
            yield (
                f"beats[{index}].prompt must be at most {PROMPT_MAX_CHARS:,} characters; "
                f"it has {len(prompt):,}"
            )


def is_colour(value: object) -> bool:
    """A "#rrggbb" colour or a CSS colour name such as "navy" (any case)."""
    if not isinstance(value, str):
        return False
    return bool(_HEX_COLOUR.fullmatch(value)) or value.lower() in ImageColor.colormap


def _fill_beat_defaults(beats: list[Any]) -> list[Any]:
    """Fill in omitted beat_id and start, which follow from the order and durations."""
    start, filled = 0, []
    for index, beat in enumerate(beats):
        if isinstance(beat, dict):
            beat = {"beat_id": f"beat_{index}", "start": start, **beat}
            if isinstance(beat.get("duration"), int):
                start += beat["duration"]
        filled.append(beat)
    return filled


def validate_spec(spec: Any) -> dict[str, Any]:
    """Return the spec unchanged, or raise BadUserInput naming the first problem."""
    problems = list(_spec_problems(spec))
    if problems:
        raise BadUserInput("invalid spec: " + "; ".join(problems[:5]))
    return spec


def _spec_problems(spec: Any) -> Any:
    if not isinstance(spec, dict):
        yield "a spec is a JSON object"
        return
    missing = [key for key in TOP_LEVEL_KEYS if key not in spec]
    if missing:
        yield f"missing keys {missing}"
        return
    if not isinstance(spec["title"], str) or not spec["title"].strip():
        yield "title must be a non-empty string"
    if spec["fps"] != FPS:
        yield f"fps must be {FPS}"
    if spec["resolution"] != RESOLUTION:
        yield f"resolution must be {RESOLUTION!r}"
    yield from _style_problems(spec["style"])
    yield from _beat_problems(spec["beats"], spec["duration"])


def _style_problems(style: Any) -> Any:
    if not isinstance(style, dict) or any(key not in style for key in STYLE_KEYS):
        yield f"style must be an object with {', '.join(STYLE_KEYS)}"
        return
    palette = style["color_palette"]
    if not isinstance(palette, list) or not palette:
        yield "style.color_palette must be a non-empty list of colours"
        return
    wrong = next((c for c in palette if not is_colour(c)), None)
    if wrong is not None:
        yield (
            f"style.color_palette has {wrong!r}, which is not a colour: use CSS colour "
            'names ("navy", "goldenrod") or \'#rrggbb\''
        )


def _beat_problems(beats: Any, duration: Any) -> Any:
    if not isinstance(duration, int) or isinstance(duration, bool) or not 5 <= duration <= 300:
        yield "duration must be a whole number of seconds"
        return
    if not isinstance(beats, list) or not beats:
        yield "beats must be a non-empty list"
        return
    start = 0
    for index, beat in enumerate(beats):
        if not isinstance(beat, dict):
            yield f"beats[{index}] must be an object"
            return
        if beat.get("duration") not in BEAT_DURATIONS:
            yield f"beats[{index}].duration must be 5, 10 or 15 seconds"
            return
        if beat.get("start") != start:
            yield f"beats[{index}].start must be {start} (the sum of the durations before it)"
        for key in ("beat_id", "prompt", "shot_type"):
            if not isinstance(beat.get(key), str) or not beat[key].strip():
                yield f"beats[{index}].{key} must be a non-empty string"
        start += beat["duration"]
    if start != duration:
        yield f"beat durations sum to {start} s but duration is {duration} s"
