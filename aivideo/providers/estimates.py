"""What a call will cost before it is made: the number the budget is checked against."""

from __future__ import annotations

import math
from typing import Any

from aivideo.providers.catalog import Catalog
from aivideo.providers.model_ids import ModelId
from aivideo.providers.replicate_inputs import plan_clip_parts

# A plan answer is about this many tokens a beat, plus its title and style.
_PLAN_TOKENS_PER_BEAT = 120
_PLAN_TOKENS_FIXED = 250


def estimate_usd(
    catalog: Catalog, model_id: str, kind: str, *, seconds: float = 0.0, prompt: str = ""
) -> float:
    """The expected USD of one call of `kind` (PLANNER, IMAGE, VIDEO, MUSIC) to `model_id`."""
    model = ModelId.parse(model_id)
    price = catalog.price_of(model_id)
    if kind == "PLANNER":
        input_tokens = 200 + len(prompt) // 3
        output_tokens = _PLAN_TOKENS_FIXED + _PLAN_TOKENS_PER_BEAT * math.ceil(seconds / 5)
        return price.for_tokens(input_tokens, output_tokens)
    if kind == "IMAGE":
        return price.per_image()
    if kind == "VIDEO" and model.service == "replicate":
        return price.for_seconds(sum(plan_clip_parts(model.name, seconds)))
    return price.for_seconds(float(math.ceil(seconds)))


def next_paid_call(
    catalog: Catalog,
    generation: dict[str, str],
    *,
    phase: int,
    spec: dict[str, Any] | None,
    duration_seconds: int,
    prompt: str,
) -> tuple[float, str]:
    """The estimated cost of the first call `phase` would make, and a name for it."""
    if phase == 1:
        model = generation["planner"]
        usd = estimate_usd(catalog, model, "PLANNER", seconds=duration_seconds, prompt=prompt)
        return usd, f"planning with {model}"
    beats = (spec or {}).get("beats") or [{"duration": 5}]
    if phase == 2:
        model = generation["imageModel"]
        return estimate_usd(catalog, model, "IMAGE"), f"an image from {model}"
    if phase == 3:
        model = generation["videoModel"]
        seconds = float(beats[0]["duration"])
        return estimate_usd(catalog, model, "VIDEO", seconds=seconds), f"a clip from {model}"
    model = generation["musicModel"]
    usd = estimate_usd(catalog, model, "MUSIC", seconds=duration_seconds)
    return usd, f"music from {model}"
