"""Process settings, read once from the environment (AIVIDEO_*, DATABASE_URL, REDIS_URL)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


def default_data_dir() -> Path:
    """XDG data home, so the embedded default keeps its files out of the working tree."""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "aivideo"


class Settings(BaseSettings):
    """Everything configurable; no value is required for the embedded default."""

    model_config = SettingsConfigDict(env_prefix="AIVIDEO_", env_file=".env", extra="ignore")

    data_dir: Path = Field(default_factory=default_data_dir)
    database_url: str = Field(
        default="", validation_alias=AliasChoices("AIVIDEO_DATABASE_URL", "DATABASE_URL")
    )
    redis_url: str = Field(
        default="", validation_alias=AliasChoices("AIVIDEO_REDIS_URL", "REDIS_URL")
    )
    redis_prefix: str = "aivideo:"  # namespaces the job stream and event channels
    # Media in an S3-compatible bucket instead of the data directory (credentials: the usual
    # AWS_* variables); the public endpoint is the one browsers reach, if it differs.
    s3_bucket: str = ""
    s3_endpoint_url: str = ""
    s3_public_endpoint_url: str = ""
    public_url: str = ""  # e.g. https://video.example.com; else taken from each request
    host: str = "127.0.0.1"
    port: int = 8000
    auth: Literal["auto", "required"] = "auto"
    secret_key: str = ""  # signs media URLs; default: a random one kept in the data directory
    # Model ids per phase (local, openai:<chat model>, replicate:<owner>/<name>[:<version>]);
    # a video may override each with CreateVideoInput.generation.
    planner: str = "local"
    image_model: str = "local"
    video_model: str = "local"
    music_model: str = "local"
    # Credentials come only from the environment or .env, and are never printed.
    openai_api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("AIVIDEO_OPENAI_API_KEY", "OPENAI_API_KEY")
    )
    openai_base_url: str = Field(
        default="", validation_alias=AliasChoices("AIVIDEO_OPENAI_BASE_URL", "OPENAI_BASE_URL")
    )
    replicate_api_token: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("AIVIDEO_REPLICATE_API_TOKEN", "REPLICATE_API_TOKEN"),
    )
    replicate_base_url: str = "https://api.replicate.com"
    prices_file: Path | None = None  # entries here replace or add to the shipped price table
    default_budget_usd: float | None = None
    # Hosted calls: attempts for 429/5xx/timeouts, first backoff (doubled, with jitter),
    # one request's timeout, how often a prediction is polled and how long it may take.
    # Beats of a phase made at once (storyboard images, clips): predictions overlap.
    item_concurrency: int = 2
    provider_max_attempts: int = 6
    provider_backoff_seconds: float = 1.0
    provider_request_timeout_seconds: float = 60.0
    provider_poll_seconds: float = 2.0
    provider_prediction_timeout_seconds: float = 1800.0
    provider_max_download_bytes: int = 512 * 1024 * 1024
    regenerate_timeout_seconds: float = 300.0
    run_heartbeat_seconds: float = 10.0
    # Requests that generate (create, continue, regenerate) per owner; "" for no limit.
    rate_limit: str = "120/minute"  # a run silent for 3 beats is taken over
    query_max_depth: int = 12
    query_max_aliases: int = 30
    query_max_tokens: int = 4000
    # Objects a query could return, lists multiplied (see schema/query_cost.py).
    query_max_objects: int = 100_000
    videos_max_page: int = 100
    # Answers of `video(id:)` queries kept per process until the video changes
    # (schema/cached_answers.py); 0 keeps none.
    answer_cache_size: int = 256
    answer_cache_seconds: float = 60.0
    # Request bodies are refused while they stream once over these (SPEC Access): an upload
    # of 25 MiB plus the multipart envelope, and JSON operations far smaller than that.
    max_upload_body_bytes: int = 26 * 1024 * 1024
    max_json_body_bytes: int = 1024 * 1024
    # How long a websocket trusts its API key before looking it up again (SPEC: a revoked
    # key stops working within 10 seconds), and the operations one websocket may run at once.
    api_key_recheck_seconds: float = Field(default=10.0, gt=0, le=10)
    websocket_max_operations: int = 100
    # One line per event: "text" for a terminal, "json" for a log collector.
    log_format: Literal["text", "json"] = "text"
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    # OpenTelemetry traces go to this OTLP/HTTP collector (its base URL; /v1/traces is
    # added); unset, tracing is off and nothing of opentelemetry is imported.
    tracing_endpoint: str = Field(
        default="", validation_alias=AliasChoices("OTEL_EXPORTER_OTLP_ENDPOINT")
    )

    @field_validator("database_url")
    @classmethod
    def normalise_database_url(cls, value: str) -> str:
        """Accept the URLs people paste (postgres://, sqlite:///) and pick the async drivers."""
        for plain, driver in (
            ("postgres://", "postgresql+asyncpg://"),
            ("postgresql://", "postgresql+asyncpg://"),
            ("sqlite:///", "sqlite+aiosqlite:///"),
        ):
            if value.startswith(plain):
                return driver + value[len(plain) :]
        return value

    @field_validator("log_format", "log_level", mode="before")
    @classmethod
    def lower_case(cls, value: object) -> object:
        """INFO and info, JSON and json alike."""
        return value.lower() if isinstance(value, str) else value

    @model_validator(mode="after")
    def fill_embedded_defaults(self) -> Settings:
        """The embedded default: a SQLite file inside the data directory."""
        if not self.database_url:
            self.database_url = f"sqlite+aiosqlite:///{self.data_dir / 'aivideo.db'}"
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def media_dir(self) -> Path:
        return self.data_dir / "media"


settings = Settings()
