"""The provider contract: what each kind of model does, and what a call may tell its ledger."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar


class ProviderError(Exception):
    """A generation call failed; the message is safe to show to the video's owner."""


@dataclass(frozen=True)
class Plan:
    """A phase-1 result: the spec body and what it cost."""

    spec: dict[str, Any]
    cost_usd: float = 0.0
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Media:
    """One generated file: bytes, MIME type, cost and descriptive metadata."""

    content: bytes
    content_type: str
    cost_usd: float = 0.0
    metadata: dict[str, Any] = field(default_factory=dict)


async def _ignore(_: Any) -> None:
    return None


@dataclass(frozen=True)
class CallContext:
    """One provider call as an adapter sees it.

    `idempotency_key` is derived from the call's inputs by the caller. A hosted adapter
    reports each prediction the moment it exists (`remember_prediction`; a long clip chains
    several), and is handed them back (`prediction_ids`, in order) when a retried or
    taken-over job makes the same call again, so that it polls them instead of paying again.
    """

    idempotency_key: str
    prediction_ids: tuple[str, ...] = ()
    remember_prediction: Callable[[str], Awaitable[None]] = _ignore
    progress: Callable[[float], Awaitable[None]] = _ignore  # 0..1 of this call


class Planner(ABC):
    @abstractmethod
    async def plan(
        self, *, prompt: str, title: str, duration_seconds: int, call: CallContext
    ) -> Plan:
        """Phase 1: a valid spec whose beats (5/10/15 s) sum to `duration_seconds`."""


class ImageGenerator(ABC):
    @abstractmethod
    async def image(
        self, *, spec: dict[str, Any], beat_index: int, prompt: str, seed: int, call: CallContext
    ) -> Media:
        """Phase 2: a 1280x720 PNG for one beat, drawn from `prompt` and the spec's style."""


class ClipGenerator(ABC):
    @abstractmethod
    async def clip(
        self, *, spec: dict[str, Any], beat_index: int, image: bytes, seed: int, call: CallContext
    ) -> Media:
        """Phase 3: a 1280x720 30 fps H.264 MP4 of the beat's duration, animating `image`."""


class MusicGenerator(ABC):
    @abstractmethod
    async def music(
        self, *, spec: dict[str, Any], duration_seconds: float, call: CallContext
    ) -> Media:
        """Phase 4: an AAC (M4A) music track of `duration_seconds`."""


class Provider(Planner, ImageGenerator, ClipGenerator, MusicGenerator):
    """A provider of every kind that also joins clips and adds the music (the local one)."""

    name: ClassVar[str]

    @abstractmethod
    async def stitch(self, *, clips: Sequence[bytes], call: CallContext) -> Media:
        """Phase 3: the clips joined in order into one MP4."""

    @abstractmethod
    async def mux(self, *, video: bytes, audio: bytes, call: CallContext) -> Media:
        """Phase 4: the final MP4, the video's H.264 stream with the music as AAC."""
