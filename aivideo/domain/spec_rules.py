"""What makes a video spec valid, and how an editSpec patch applies to one."""

from __future__ import annotations

from typing import Any

from aivideo.errors import BadUserInput

TOP_LEVEL_KEYS = ("title", "duration", "fps", "resolution", "style", "beats")
STYLE_KEYS = ("aesthetic", "color_palette", "mood", "lighting")
BEAT_DURATIONS = (5, 10, 15)
FPS = 30
RESOLUTION = "1280x720"


def apply_patch(spec: dict[str, Any], patch: Any) -> dict[str, Any]:
    """Top-level keys of the patch replace the spec's; the result must be a valid spec."""
    if not isinstance(patch, dict) or not patch:
        raise BadUserInput("patch must be a non-empty JSON object of top-level spec keys")
    unknown = sorted(set(patch) - set(TOP_LEVEL_KEYS))
    if unknown:
        raise BadUserInput(
            f"patch has unknown keys {unknown}: a spec has {', '.join(TOP_LEVEL_KEYS)}"
        )
    merged = {**spec, **patch}
    if "beats" in patch and isinstance(merged["beats"], list):
        merged["beats"] = _fill_beat_defaults(merged["beats"])
    return validate_spec(merged)


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
    if (
        not isinstance(palette, list)
        or not palette
        or not all(isinstance(c, str) and len(c) == 7 and c.startswith("#") for c in palette)
    ):
        yield "style.color_palette must be a non-empty list of '#rrggbb' colours"


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
