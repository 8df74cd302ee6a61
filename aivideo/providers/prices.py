"""The price table: USD per image, per second of media, per million tokens, by model id."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

UNITS = ("free", "image", "second", "tokens")
KINDS = ("PLANNER", "IMAGE", "VIDEO", "MUSIC")


@dataclass(frozen=True)
class Price:
    """One model's entry: what it can do and what each unit of its output costs."""

    model: str
    kinds: tuple[str, ...]
    unit: str
    usd: float = 0.0
    input_usd_per_million: float = 0.0
    output_usd_per_million: float = 0.0

    def per_image(self) -> float:
        return self.usd if self.unit == "image" else 0.0

    def for_seconds(self, seconds: float) -> float:
        return round(self.usd * seconds, 6) if self.unit == "second" else 0.0

    def for_tokens(self, input_tokens: int, output_tokens: int) -> float:
        if self.unit != "tokens":
            return 0.0
        usd = (
            input_tokens * self.input_usd_per_million + output_tokens * self.output_usd_per_million
        )
        return round(usd / 1_000_000, 6)

    def as_json(self) -> dict[str, Any]:
        """The entry as `Query.models` shows it."""
        if self.unit == "tokens":
            return {
                "unit": "tokens",
                "inputUsdPerMillion": self.input_usd_per_million,
                "outputUsdPerMillion": self.output_usd_per_million,
            }
        return {"unit": self.unit, "usd": self.usd}


def load_prices(override: Path | None = None) -> dict[str, Price]:
    """The shipped table, with the entries of `override` (AIVIDEO_PRICES_FILE) on top."""
    shipped = resources.files("aivideo.providers").joinpath("prices.json").read_text()
    table = _parse(json.loads(shipped), "the shipped price table")
    if override is not None:
        try:
            extra = json.loads(override.read_text())
        except (OSError, ValueError) as exc:
            raise ValueError(f"AIVIDEO_PRICES_FILE {override} is not readable JSON: {exc}") from exc
        table.update(_parse(extra, f"AIVIDEO_PRICES_FILE {override}"))
    return table


def _parse(raw: Any, where: str) -> dict[str, Price]:
    if not isinstance(raw, dict):
        raise ValueError(f"{where} must be a JSON object of model id -> price entry")
    return {model: _entry(model, body, where) for model, body in raw.items() if model[:1] != "_"}


def _entry(model: str, body: Any, where: str) -> Price:
    problem = f"{where}: entry {model!r}"
    if not isinstance(body, dict) or body.get("unit") not in UNITS:
        raise ValueError(f"{problem} needs a unit, one of {', '.join(UNITS)}")
    kinds = body.get("kinds")
    if not isinstance(kinds, list) or not kinds or any(k not in KINDS for k in kinds):
        raise ValueError(f"{problem} needs kinds, a list of {', '.join(KINDS)}")
    numbers = {
        name: body.get(name, 0.0)
        for name in ("usd", "input_usd_per_million", "output_usd_per_million")
    }
    for name, value in numbers.items():
        if not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
            raise ValueError(f"{problem}: {name} must be a number of USD >= 0")
    return Price(model=model, kinds=tuple(kinds), unit=body["unit"], **numbers)
