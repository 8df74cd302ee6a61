"""Adapters by model id: one client per hosted service, made when first needed."""

from __future__ import annotations

from openai import AsyncOpenAI

from aivideo.providers.base import Planner
from aivideo.providers.catalog import Catalog
from aivideo.providers.model_ids import ModelId
from aivideo.providers.openai_planner import OpenAIPlanner, openai_client
from aivideo.providers.replicate_media import ReplicateClient, ReplicateModel


class HostedModels:
    """The hosted adapters of this process (`local` is the runtime's own provider)."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self._openai: AsyncOpenAI | None = None
        self._replicate: ReplicateClient | None = None

    def planner(self, model_id: str) -> Planner:
        model = ModelId.parse(model_id)
        if model.service != "openai":
            raise ValueError(f"{model_id} cannot plan: planners are local or openai:<model>")
        if self._openai is None:
            self._openai = openai_client(self.catalog.config)
        key = self.catalog.config.openai_api_key
        return OpenAIPlanner(
            self._openai,
            model,
            self.catalog.price_of(model_id),
            key.get_secret_value() if key else "",
        )

    def media(self, model_id: str) -> ReplicateModel:
        model = ModelId.parse(model_id)
        if model.service != "replicate":
            raise ValueError(f"{model_id} makes no media: use local or replicate:<owner>/<name>")
        return ReplicateModel(self.replicate, model, self.catalog.price_of(model_id))

    @property
    def replicate(self) -> ReplicateClient:
        if self._replicate is None:
            self._replicate = ReplicateClient(self.catalog.config)
        return self._replicate

    async def cancel(self, model_id: str, prediction_ids: list[str]) -> None:
        """Ask the provider to stop predictions of a cancelled video (Replicate only)."""
        if ModelId.parse(model_id).service == "replicate":
            for prediction_id in prediction_ids:
                await self.replicate.cancel(prediction_id)

    async def close(self) -> None:
        if self._openai is not None:
            await self._openai.close()
        if self._replicate is not None:
            await self._replicate.close()
