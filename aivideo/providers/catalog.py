"""Which model ids this server knows, what they cost, and whether their credentials are set."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aivideo.errors import BadUserInput
from aivideo.providers.model_ids import ModelId
from aivideo.providers.prices import Price, load_prices
from aivideo.settings import Settings

# GraphQL names of the generation fields, their settings and the kind of model each takes.
GENERATION_FIELDS = {
    "planner": ("AIVIDEO_PLANNER", "PLANNER"),
    "imageModel": ("AIVIDEO_IMAGE_MODEL", "IMAGE"),
    "videoModel": ("AIVIDEO_VIDEO_MODEL", "VIDEO"),
    "musicModel": ("AIVIDEO_MUSIC_MODEL", "MUSIC"),
}
_CREDENTIALS = {"openai": "OPENAI_API_KEY (or OPENAI_BASE_URL)", "replicate": "REPLICATE_API_TOKEN"}


@dataclass(frozen=True)
class ModelEntry:
    """One (model id, kind) this server knows, as `Query.models` lists it."""

    id: str
    kind: str
    available: bool
    price: dict[str, Any]


class Catalog:
    """The price table joined with the configured credentials."""

    def __init__(self, config: Settings) -> None:
        self.config = config
        self.prices = load_prices(config.prices_file)

    def available(self, model: ModelId) -> bool:
        if model.service == "openai":
            # OpenAI-compatible servers (Ollama, vLLM) may need no key, only their URL.
            return self.config.openai_api_key is not None or bool(self.config.openai_base_url)
        if model.service == "replicate":
            return self.config.replicate_api_token is not None
        return True

    def entries(self) -> list[ModelEntry]:
        return [
            ModelEntry(p.model, kind, self.available(ModelId.parse(p.model)), p.as_json())
            for p in self.prices.values()
            for kind in p.kinds
        ]

    def price_of(self, model_id: str) -> Price:
        """The price entry a (checked) model id bills under."""
        return self.prices[ModelId.parse(model_id).priced_as]

    def check(self, field: str, model_id: str) -> str:
        """`model_id` if it is a known, usable model for `field`; BAD_USER_INPUT otherwise."""
        _, kind = GENERATION_FIELDS[field]
        try:
            model = ModelId.parse(model_id)
        except ValueError as exc:
            raise BadUserInput(f"{field}: {exc}") from exc
        price = self.prices.get(model.priced_as)
        if price is None or kind not in price.kinds:
            known = sorted(p.model for p in self.prices.values() if kind in p.kinds)
            raise BadUserInput(
                f"{field} {model_id!r} is not a {kind} model this server knows; known: "
                f"{', '.join(known)} (add others with a price entry in AIVIDEO_PRICES_FILE)"
            )
        if not self.available(model):
            raise BadUserInput(
                f"{field} {model_id!r} needs {_CREDENTIALS[model.service]}, which this server "
                f"does not have; set it in the server's environment or choose another model"
            )
        return model_id

    def generation(self, chosen: dict[str, str | None]) -> dict[str, str]:
        """Every generation field, checked: the chosen ids over the server's defaults."""
        defaults = {
            "planner": self.config.planner,
            "imageModel": self.config.image_model,
            "videoModel": self.config.video_model,
            "musicModel": self.config.music_model,
        }
        return {
            field: self.check(field, chosen.get(field) or default)
            for field, default in defaults.items()
        }
