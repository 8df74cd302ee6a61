"""Still images: decoding uploads and model outputs, and fitting them to the storyboard frame."""

from __future__ import annotations

import io

from PIL import Image, ImageOps, UnidentifiedImageError

ACCEPTED_FORMATS = frozenset({"PNG", "JPEG"})
MAX_PIXELS = 40_000_000  # SPEC: at most 40 megapixels, known from the header before decoding


def normalize_image(data: bytes, *, width: int = 1280, height: int = 720) -> bytes:
    """Return PNG or JPEG `data` as a PNG cover-cropped to exactly `width` x `height`."""
    image = load_image(data)
    return png_bytes(ImageOps.fit(image, (width, height), Image.Resampling.LANCZOS))


def load_image(data: bytes) -> Image.Image:
    """Decode PNG or JPEG bytes into an upright RGB image; ValueError for anything else."""
    try:
        image = Image.open(io.BytesIO(data))
        image_format = image.format
        if image_format not in ACCEPTED_FORMATS:
            raise ValueError(
                f"unsupported image format {image_format or 'unknown'}: upload a PNG or JPEG"
            )
        _check_pixels(image.width, image.height)
        image.load()
    except (UnidentifiedImageError, Image.DecompressionBombError, OSError, SyntaxError) as exc:
        # Pillow's "cannot identify" text names a BytesIO object: no help to a user.
        detail = "" if isinstance(exc, UnidentifiedImageError) else f" ({exc})"
        raise ValueError(f"not a readable PNG or JPEG image{detail}: upload a PNG or JPEG") from exc
    return _flatten(ImageOps.exif_transpose(image))


def _check_pixels(width: int, height: int) -> None:
    """Refuse an image too large to decode: a small file can unpack to gigabytes."""
    if width * height > MAX_PIXELS:
        raise ValueError(
            f"the image is {width}x{height} ({width * height / 1e6:.1f} megapixels); "
            f"at most {MAX_PIXELS // 1_000_000} megapixels are accepted: scale it down"
        )


def _flatten(image: Image.Image) -> Image.Image:
    """RGB with any transparency composited onto black."""
    if image.mode in {"RGBA", "LA", "PA"} or "transparency" in image.info:
        rgba = image.convert("RGBA")
        return Image.alpha_composite(Image.new("RGBA", rgba.size, "black"), rgba).convert("RGB")
    return image.convert("RGB")


def png_bytes(image: Image.Image) -> bytes:
    """Encode as PNG; a middling compression level keeps encoding fast."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=4)
    return buffer.getvalue()
