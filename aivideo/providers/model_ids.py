"""Model ids: `local`, `openai:<chat model>`, `replicate:<owner>/<name>[:<version>]`."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Service = Literal["local", "openai", "replicate"]

_OPENAI = re.compile(r"openai:(?P<name>[A-Za-z0-9._:/@+-]{1,100})")
_REPLICATE = re.compile(
    r"replicate:(?P<owner>[A-Za-z0-9_.-]{1,100})/(?P<name>[A-Za-z0-9_.-]{1,100})"
    r"(?::(?P<version>[0-9a-f]{64}))?"
)
FORMS = "local, openai:<chat model> or replicate:<owner>/<name>[:<64-hex version>]"


@dataclass(frozen=True)
class ModelId:
    """A parsed model id; `priced_as` is the price-table entry it bills under."""

    raw: str
    service: Service
    name: str  # the chat model, or owner/name on Replicate
    version: str | None = None

    @property
    def priced_as(self) -> str:
        # A pinned Replicate version bills like its model.
        return "local" if self.service == "local" else f"{self.service}:{self.name}"

    @classmethod
    def parse(cls, raw: str) -> ModelId:
        """The model id in `raw`; ValueError naming the accepted forms otherwise."""
        if raw == "local":
            return cls(raw, "local", "local")
        if match := _OPENAI.fullmatch(raw):
            return cls(raw, "openai", match["name"])
        if match := _REPLICATE.fullmatch(raw):
            return cls(raw, "replicate", f"{match['owner']}/{match['name']}", match["version"])
        raise ValueError(f"{raw[:120]!r} is not a model id: use {FORMS}")
