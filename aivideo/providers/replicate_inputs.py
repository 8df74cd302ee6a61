"""What each Replicate model is asked: the input shapes of the models we know, by kind."""

from __future__ import annotations

import base64
import io
import math
from typing import Any

from aivideo.media.images import load_image

# Clip lengths a video model can make; a longer beat chains clips from the last frame.
CLIP_SECONDS: dict[str, tuple[int, ...]] = {
    "minimax/hailuo-02": (6, 10),
    "minimax/video-01": (6,),
}
_DEFAULT_CLIP_SECONDS = (5,)


def storyboard_prompt(spec: dict[str, Any], beat_index: int, prompt: str) -> str:
    """The beat's prompt in the spec's visual style, as one text-to-image prompt."""
    style = spec.get("style", {})
    beat = spec["beats"][beat_index]
    palette = ", ".join(str(c) for c in style.get("color_palette", []))
    return (
        f"{prompt}. {beat.get('shot_type', '')}. Style: {style.get('aesthetic', '')}; "
        f"colour palette {palette}; mood {style.get('mood', '')}; "
        f"lighting {style.get('lighting', '')}. Cinematic 16:9 film still, no text."
    )


def image_input(model: str, *, prompt: str, seed: int) -> dict[str, Any]:
    body: dict[str, Any] = {"prompt": prompt, "aspect_ratio": "16:9", "seed": seed}
    if model.startswith("black-forest-labs/"):
        body |= {"output_format": "png", "num_outputs": 1}
    return body


def clip_lengths(model: str) -> tuple[int, ...]:
    return CLIP_SECONDS.get(model, _DEFAULT_CLIP_SECONDS)


def plan_clip_parts(model: str, seconds: float) -> list[int]:
    """The clip lengths to ask for, in order, to cover `seconds` with the fewest predictions."""
    lengths = sorted(clip_lengths(model))
    parts: list[int] = []
    remaining = seconds
    while remaining > 0:
        fits = [n for n in lengths if n >= remaining]
        part = fits[0] if fits else lengths[-1]
        parts.append(part)
        remaining -= part
    return parts


def clip_input(
    model: str, *, prompt: str, first_frame: bytes, seconds: int, seed: int
) -> dict[str, Any]:
    image = data_uri(first_frame)
    if model == "minimax/hailuo-02":
        return {
            "prompt": prompt,
            "first_frame_image": image,
            "duration": seconds,
            "resolution": "768P",
            "prompt_optimizer": False,
        }
    if model.startswith("minimax/"):
        return {"prompt": prompt, "first_frame_image": image, "prompt_optimizer": False}
    return {"prompt": prompt, "image": image, "duration": seconds, "seed": seed}


def music_input(model: str, *, spec: dict[str, Any], seconds: float) -> dict[str, Any]:
    style = spec.get("style", {})
    prompt = (
        f"{style.get('mood', '')} instrumental score for a film: {spec.get('title', '')}; "
        f"{style.get('aesthetic', '')}"
    )
    body: dict[str, Any] = {"prompt": prompt, "duration": math.ceil(seconds)}
    if model == "meta/musicgen":
        body |= {
            "model_version": "stereo-large",
            "output_format": "wav",
            "normalization_strategy": "peak",
        }
    return body


def data_uri(image: bytes) -> str:
    """The image as a JPEG data URI: small enough to send inline, no upload round-trip."""
    buffer = io.BytesIO()
    load_image(image).save(buffer, format="JPEG", quality=92)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode()


def first_output(output: Any) -> str:
    """The first file URL of a prediction's output (a URL, or a list of them)."""
    if isinstance(output, list) and output:
        output = output[0]
    if isinstance(output, str) and output.startswith(("http://", "https://", "data:")):
        return output
    raise ValueError(f"the prediction's output is not a file URL: {str(output)[:200]!r}")
