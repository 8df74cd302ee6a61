"""Replicate: storyboards, clips and music from hosted models, over Replicate's HTTP API.

Predictions are created by model name (official models) or by version, polled until they
end, and their outputs downloaded with a size cap and normalised to the phase's format.
We speak HTTP with httpx rather than through the `replicate` client: the client does not
retry a POST on 429 nor expose Retry-After, wraps every transport in its own ten-try loop
(which would multiply with ours), and reads outputs whole instead of as a capped stream.
"""

from __future__ import annotations

import asyncio
import base64
import math
import re
import time
from collections.abc import Callable
from typing import Any, TypeVar

import httpx

from aivideo.media.audio import fit_audio
from aivideo.media.clips import fit_clip, last_frame_png
from aivideo.media.images import normalize_image
from aivideo.providers import replicate_inputs as inputs
from aivideo.providers.base import (
    CallContext,
    ClipGenerator,
    ImageGenerator,
    Media,
    MusicGenerator,
    ProviderError,
)
from aivideo.providers.hosted_http import Retrying, mask
from aivideo.providers.model_ids import ModelId
from aivideo.providers.prices import Price
from aivideo.settings import Settings

T = TypeVar("T")
DONE = ("succeeded", "failed", "canceled")
# Replicate's own client reads progress from tqdm lines in the logs, as here.
_PROGRESS = re.compile(r"^\s*(\d+)%\s*\|.+?\|\s*(\d+)/(\d+)")


class ReplicateClient:
    """Predictions on Replicate's HTTP API for one token."""

    def __init__(self, config: Settings) -> None:
        token = config.replicate_api_token.get_secret_value() if config.replicate_api_token else ""
        self.config = config
        self._token = token
        self.retrying = Retrying(config, "replicate")
        self.http = httpx.AsyncClient(
            base_url=config.replicate_base_url.rstrip("/"),
            headers={"Authorization": f"Bearer {token}", "User-Agent": "aivideo"},
            timeout=config.provider_request_timeout_seconds,
        )

    async def close(self) -> None:
        await self.http.aclose()

    async def create(self, model: ModelId, body: dict[str, Any]) -> dict[str, Any]:
        if model.version:
            return await self._json(
                "POST", "/v1/predictions", json={"version": model.version, "input": body}
            )
        path = f"/v1/models/{model.name}/predictions"  # official models: by name
        return await self._json("POST", path, json={"input": body})

    async def get(self, prediction_id: str) -> dict[str, Any]:
        return await self._json("GET", f"/v1/predictions/{prediction_id}")

    async def cancel(self, prediction_id: str) -> None:
        await self._json("POST", f"/v1/predictions/{prediction_id}/cancel")

    async def run(self, model: ModelId, body: dict[str, Any], call: CallContext, part: int) -> Any:
        """The output of the call's `part`-th prediction: resumed if known, else created."""
        known = call.prediction_ids[part] if part < len(call.prediction_ids) else None
        if known is not None:
            prediction = await self.get(known)
        else:
            prediction = await self.create(model, body)
            await call.remember_prediction(str(prediction["id"]))
        deadline = time.monotonic() + self.config.provider_prediction_timeout_seconds
        while prediction.get("status") not in DONE:
            if time.monotonic() > deadline:
                await self.cancel(str(prediction["id"]))
                raise ProviderError(f"{model.raw}: prediction {prediction['id']} took too long")
            await asyncio.sleep(self.config.provider_poll_seconds)
            prediction = await self.get(str(prediction["id"]))
            await call.progress(progress_of(prediction))
        if prediction["status"] != "succeeded":
            reason = mask(str(prediction.get("error") or "no reason given"), [self._token])
            raise ProviderError(
                f"{model.raw}: prediction {prediction['id']} {prediction['status']}: {reason}"
            )
        return prediction.get("output")

    async def download(self, url: str) -> bytes:
        if url.startswith("data:"):
            return base64.b64decode(url.split(",", 1)[1])
        # Output files live on a CDN: no credentials go with them.
        async with httpx.AsyncClient(timeout=self.config.provider_request_timeout_seconds) as cdn:
            return await self.retrying.download(
                cdn, url, limit=self.config.provider_max_download_bytes
            )

    async def _json(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        response = await self.retrying.request(self.http, method, path, **kwargs)
        if response.status_code >= 400:
            raise ProviderError(
                f"replicate: {method} {path} answered {response.status_code}: "
                f"{mask(_detail(response), [self._token])}"
            )
        body: dict[str, Any] = response.json()
        return body


def _detail(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:300]
    return (
        str(body.get("detail") or body.get("title") or body)[:300]
        if isinstance(body, dict)
        else str(body)[:300]
    )


def progress_of(prediction: dict[str, Any]) -> float:
    """0..1 from the newest tqdm line of the prediction's logs; 0 when it reports none."""
    for line in reversed(str(prediction.get("logs") or "").splitlines()):
        if match := _PROGRESS.match(line):
            return min(int(match[2]) / max(int(match[3]), 1), 1.0)
    return 0.0


async def _decoded(model: ModelId, what: str, work: Callable[[], T]) -> T:
    """Normalise in a thread; an output that does not decode makes the call fail."""
    try:
        return await asyncio.to_thread(work)
    except ValueError as exc:
        raise ProviderError(f"{model.raw}: the {what} it returned does not decode ({exc})") from exc


class ReplicateModel(ImageGenerator, ClipGenerator, MusicGenerator):
    """One Replicate model; the phase decides which of its kinds is used."""

    def __init__(self, client: ReplicateClient, model: ModelId, price: Price) -> None:
        self.client, self.model, self.price = client, model, price

    async def _fetch(self, body: dict[str, Any], call: CallContext, part: int = 0) -> bytes:
        output = await self.client.run(self.model, body, call, part)
        try:
            url = inputs.first_output(output)
        except ValueError as exc:
            raise ProviderError(f"{self.model.raw}: {exc}") from exc
        return await self.client.download(url)

    async def image(
        self, *, spec: dict[str, Any], beat_index: int, prompt: str, seed: int, call: CallContext
    ) -> Media:
        text = inputs.storyboard_prompt(spec, beat_index, prompt)
        raw = await self._fetch(inputs.image_input(self.model.name, prompt=text, seed=seed), call)
        png = await _decoded(self.model, "image", lambda: normalize_image(raw))
        meta = {
            "width": 1280,
            "height": 720,
            "beat_index": beat_index,
            "seed": seed,
            "predictions": list(call.prediction_ids),
            "sourceBytes": len(raw),
        }
        return Media(png, "image/png", self.price.per_image(), meta)

    async def clip(
        self, *, spec: dict[str, Any], beat_index: int, image: bytes, seed: int, call: CallContext
    ) -> Media:
        beat = spec["beats"][beat_index]
        seconds = float(beat["duration"])
        lengths = inputs.plan_clip_parts(self.model.name, seconds)
        parts: list[bytes] = []
        first_frame = image
        for index, length in enumerate(lengths):
            body = inputs.clip_input(
                self.model.name,
                prompt=str(beat["prompt"]),
                first_frame=first_frame,
                seconds=length,
                seed=seed,
            )
            parts.append(await self._fetch(body, call, part=index))
            if index + 1 < len(lengths):
                # A long beat goes on from the last frame of what is made so far.
                first_frame = await _decoded(self.model, "clip", lambda: last_frame_png(parts[-1]))
        fps = int(spec.get("fps", 30))
        mp4 = await _decoded(self.model, "clip", lambda: fit_clip(parts, seconds=seconds, fps=fps))
        meta = {
            "beat_index": beat_index,
            "seed": seed,
            "duration": seconds,
            "clipSeconds": lengths,
            "predictions": list(call.prediction_ids),
        }
        return Media(mp4, "video/mp4", self.price.for_seconds(sum(lengths)), meta)

    async def music(
        self, *, spec: dict[str, Any], duration_seconds: float, call: CallContext
    ) -> Media:
        body = inputs.music_input(self.model.name, spec=spec, seconds=duration_seconds)
        raw = await self._fetch(body, call)
        m4a = await _decoded(self.model, "audio", lambda: fit_audio(raw, seconds=duration_seconds))
        meta = {"duration": duration_seconds, "predictions": list(call.prediction_ids)}
        return Media(m4a, "audio/mp4", self.price.for_seconds(float(body["duration"])), meta)


def estimate(price: Price, model: ModelId, kind: str, seconds: float = 0.0) -> float:
    """What one call of `kind` is expected to cost, before it is made."""
    if kind == "IMAGE":
        return price.per_image()
    if kind == "VIDEO":
        return price.for_seconds(sum(inputs.plan_clip_parts(model.name, seconds)))
    return price.for_seconds(float(math.ceil(seconds)))
