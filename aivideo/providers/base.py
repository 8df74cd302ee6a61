"""The provider contract: every media generator (local or hosted) implements it."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar


class ProviderError(Exception):
    """A generation call failed; the message is safe to show to the video's owner."""


@dataclass(frozen=True)
class Plan:
    """A phase-1 result: the spec body and what it cost."""

    spec: dict[str, Any]
    cost_usd: float = 0.0


@dataclass(frozen=True)
class Media:
    """One generated file: bytes, MIME type, cost and descriptive metadata."""

    content: bytes
    content_type: str
    cost_usd: float = 0.0
    metadata: dict[str, Any] = field(default_factory=dict)


class Provider(ABC):
    """Generates plans and media. Calls are deterministic in their inputs.

    `idempotency_key` is derived from the inputs by the caller: a hosted adapter
    passes it on so that a retried job is not billed twice.
    """

    name: ClassVar[str]

    @abstractmethod
    async def plan(
        self, *, prompt: str, title: str, duration_seconds: int, idempotency_key: str
    ) -> Plan:
        """Phase 1: a valid spec whose beats (5/10/15 s) sum to `duration_seconds`."""

    @abstractmethod
    async def image(
        self, *, spec: dict[str, Any], beat_index: int, prompt: str, seed: int,
        idempotency_key: str,
    ) -> Media:
        """Phase 2: a 1280x720 PNG for one beat, drawn from `prompt` and the spec's style."""

    @abstractmethod
    async def clip(
        self, *, spec: dict[str, Any], beat_index: int, image: bytes, seed: int,
        model: str | None, idempotency_key: str,
    ) -> Media:
        """Phase 3: an H.264 MP4 of the beat's duration, animating `image` (PNG or JPEG)."""

    @abstractmethod
    async def stitch(self, *, clips: Sequence[bytes], idempotency_key: str) -> Media:
        """Phase 3: the clips joined in order into one MP4."""

    @abstractmethod
    async def music(
        self, *, spec: dict[str, Any], duration_seconds: float, idempotency_key: str
    ) -> Media:
        """Phase 4: a music track of `duration_seconds`."""

    @abstractmethod
    async def mux(self, *, video: bytes, audio: bytes, idempotency_key: str) -> Media:
        """Phase 4: the final MP4, the video's H.264 stream with the music as AAC."""
