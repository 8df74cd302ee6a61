"""Offline storyboard images: a deterministic, prompt-driven illustration per beat."""

from __future__ import annotations

import hashlib
import math
import random
from collections.abc import Callable

import numpy as np
from PIL import Image, ImageColor, ImageDraw, ImageFont

from aivideo.media.images import png_bytes

Color = tuple[int, int, int]

_FALLBACK_PALETTE = ("#1d3557", "#457b9d", "#a8dadc", "#f1faee", "#e63946")
_MAX_CAPTION_LINES = 3
# Title-safe margins (share of width, height): a clip's camera move crops at most
# ~9.6% of one side (see video_encoding), so text inside them stays in the video.
_SAFE_X = 0.11
_SAFE_Y = 0.1


def render_beat_image(
    *,
    prompt: str,
    palette: list[str],
    beat_index: int,
    seed: int,
    width: int = 1280,
    height: int = 720,
) -> bytes:
    """Draw a PNG for one beat: palette gradient, seeded scenery and a caption of `prompt`."""
    rng = random.Random(_digest(prompt, beat_index, seed))
    colors = _parse_palette(palette)
    rng.shuffle(colors)
    image = _gradient(colors, rng, width, height)
    # An RGBA draw on an RGB image blends each translucent fill onto what is below.
    draw = ImageDraw.Draw(image, "RGBA")
    _draw_sky_bodies(draw, colors, rng, width, height)
    _draw_ridges(draw, colors, rng, width, height)
    _draw_caption(draw, prompt, beat_index, width, height)
    return png_bytes(image)


def _digest(prompt: str, beat_index: int, seed: int) -> int:
    """A stable integer from the inputs that shape an image."""
    key = f"{prompt}\x00{beat_index}\x00{seed}".encode()
    return int.from_bytes(hashlib.sha256(key).digest()[:8], "big")


def _parse_palette(palette: list[str]) -> list[Color]:
    """The colours of `palette`, "#rrggbb" or CSS names (a fallback palette when fewer than two)."""
    colors = [_color(value) for value in palette]
    valid = [color for color in colors if color is not None]
    if len(valid) < 2:
        valid = [c for c in map(_color, _FALLBACK_PALETTE) if c is not None]
    return valid


def _color(value: object) -> Color | None:
    """An RGB tuple from "#rrggbb" or a CSS colour name like "navy", or None for neither."""
    if not isinstance(value, str) or len(value) > 32:  # the longest CSS name has 20 letters
        return None
    try:
        rgb = ImageColor.getrgb(value)
    except ValueError:
        return None
    return (rgb[0], rgb[1], rgb[2])


def _gradient(colors: list[Color], rng: random.Random, width: int, height: int) -> Image.Image:
    """A linear gradient through the palette along a seeded angle."""
    angle = rng.uniform(0, 2 * math.pi)
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    ramp = (xs / width - 0.5) * math.cos(angle) + (ys / height - 0.5) * math.sin(angle)
    ramp = (ramp - ramp.min()) / max(float(ramp.max() - ramp.min()), 1e-6)
    stops = np.linspace(0.0, 1.0, len(colors))
    channels = [np.interp(ramp, stops, [c[i] for c in colors]) for i in range(3)]
    return Image.fromarray(np.dstack(channels).astype(np.uint8), "RGB")


def _lighten(color: Color, amount: float) -> Color:
    """Blend `color` towards white by `amount` (negative darkens towards black)."""
    target = 255 if amount > 0 else 0
    weight = abs(amount)
    r, g, b = (round(channel + (target - channel) * weight) for channel in color)
    return (r, g, b)


def _draw_sky_bodies(
    draw: ImageDraw.ImageDraw, colors: list[Color], rng: random.Random, width: int, height: int
) -> None:
    """A glowing sun or moon and a few translucent floating shapes."""
    cx, cy = rng.uniform(0.15, 0.85) * width, rng.uniform(0.12, 0.45) * height
    radius = rng.uniform(0.06, 0.14) * height
    glow = _lighten(rng.choice(colors), 0.6)
    for ring in range(6, 0, -1):
        r = radius * (1 + ring * 0.35)
        draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=(*glow, 14))
    draw.ellipse((cx - radius, cy - radius, cx + radius, cy + radius), fill=(*glow, 235))
    for _ in range(rng.randint(4, 9)):
        _floating_shape(draw, rng, colors, width, height)


def _floating_shape(
    draw: ImageDraw.ImageDraw, rng: random.Random, colors: list[Color], width: int, height: int
) -> None:
    """One translucent circle, square or triangle at a seeded place."""
    x, y = rng.uniform(0, width), rng.uniform(0, height * 0.7)
    size = rng.uniform(0.03, 0.12) * height
    fill = (*_lighten(rng.choice(colors), rng.uniform(-0.3, 0.5)), rng.randint(60, 150))
    kind = rng.choice(("circle", "square", "triangle"))
    if kind == "circle":
        draw.ellipse((x - size, y - size, x + size, y + size), fill=fill)
    elif kind == "square":
        draw.regular_polygon((x, y, size), 4, rotation=rng.uniform(0, 90), fill=fill)
    else:
        draw.regular_polygon((x, y, size), 3, rotation=rng.uniform(0, 120), fill=fill)


def _draw_ridges(
    draw: ImageDraw.ImageDraw, colors: list[Color], rng: random.Random, width: int, height: int
) -> None:
    """Two to four layered hill silhouettes, darker towards the front."""
    count = rng.randint(2, 4)
    xs = np.linspace(0, width, 65)
    for depth in range(count):
        base = height * (0.55 + 0.1 * depth + rng.uniform(-0.04, 0.04))
        wave = np.sum([_wave(rng, xs / width) for _ in range(3)], axis=0)
        outline = [(float(x), float(y)) for x, y in zip(xs, base + wave, strict=True)]
        shade = _lighten(rng.choice(colors), -0.25 - 0.5 * depth / count)
        draw.polygon([*outline, (width, height), (0, height)], fill=(*shade, 230))


def _wave(rng: random.Random, position: np.ndarray) -> np.ndarray:
    """One seeded sine component of a ridge line, in pixels, over 0..1 positions."""
    amplitude, frequency, phase = rng.uniform(10, 60), rng.uniform(1, 6), rng.uniform(0, 6)
    return amplitude * np.sin(position * math.pi * frequency + phase)


def _draw_caption(
    draw: ImageDraw.ImageDraw, prompt: str, beat_index: int, width: int, height: int
) -> None:
    """A beat tag at the top left and the wrapped prompt on a band at the bottom."""
    # Text stays in the title-safe area, which the clips' camera moves never crop.
    safe_x, safe_y = round(width * _SAFE_X), round(height * _SAFE_Y)
    padding = round(height * 0.02)
    font_size = max(12, round(height / 26))
    font = ImageFont.load_default(size=font_size)
    tag_font = ImageFont.load_default(size=max(10, round(height / 36)))
    tag = f"BEAT {beat_index + 1}"
    tag_box = draw.textbbox((safe_x + padding, safe_y + padding), tag, font=tag_font)
    draw.rounded_rectangle(
        (safe_x, safe_y, tag_box[2] + padding, tag_box[3] + padding), radius=8, fill=(0, 0, 0, 140)
    )
    draw.text((safe_x + padding, safe_y + padding), tag, font=tag_font, fill=(255, 255, 255, 230))
    lines = _wrap(draw, " ".join(prompt.split()), font, width - 2 * safe_x)
    line_height = font_size * 1.3
    text_top = height - safe_y - line_height * len(lines)
    draw.rectangle((0, text_top - padding, width, height), fill=(0, 0, 0, 150))
    for index, line in enumerate(lines):
        draw.text(
            (safe_x, text_top + index * line_height), line, font=font, fill=(255, 255, 255, 240)
        )


def _wrap(
    draw: ImageDraw.ImageDraw,
    text: str,
    font: ImageFont.FreeTypeFont | ImageFont.ImageFont,
    max_width: float,
) -> list[str]:
    """Greedy word wrap to `max_width` pixels, at most a few lines, with an ellipsis if cut.

    The work is bounded by what the lines can show, not by the length of `text`: only
    what can fit is measured, and a word wider than a line is split by binary search.
    """

    def fits(line: str) -> bool:
        return draw.textlength(line, font=font) <= max_width

    # Glyphs are at least a pixel wide (bar zero-width ones): nothing further can show.
    shown = text[: _MAX_CAPTION_LINES * (int(max_width) + 1)]
    words = shown.split()
    lines: list[str] = []
    current, index = "", 0
    while index < len(words) and len(lines) < _MAX_CAPTION_LINES:
        candidate = f"{current} {words[index]}" if current else words[index]
        if fits(candidate):
            current, index = candidate, index + 1
        elif current:
            lines.append(current)
            current = ""
        else:
            cut = max(1, _fitting_length(fits, words[index]))
            lines.append(words[index][:cut])
            words[index] = words[index][cut:]
    if current:
        lines.append(current)
    if index < len(words) or len(shown) < len(text):
        last = lines[-1]
        cut = _fitting_length(lambda line: fits(f"{line.rstrip()}…"), last)
        lines[-1] = f"{last[:cut].rstrip()}…"
    return lines or [""]


def _fitting_length(fits: Callable[[str], bool], text: str) -> int:
    """The longest prefix of `text` that fits, by binary search: log(n) measurements."""
    low, high = 0, len(text)
    while low < high:
        middle = (low + high + 1) // 2
        if fits(text[:middle]):
            low = middle
        else:
            high = middle - 1
    return low
