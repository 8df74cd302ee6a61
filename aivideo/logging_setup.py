"""Logging for `serve` and `worker`: one line per event, text or JSON, with ids, no secrets.

Ids reach a line two ways: `bind_ids(request_id=…, video_id=…)` for everything logged in a
block (contextvars: they follow the request or job through awaits), or
`log.info(…, extra={"video_id": …})` for one line.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

if TYPE_CHECKING:  # not at run time: cli.py reports invalid settings before they load
    from aivideo.settings import Settings

ID_FIELDS = ("request_id", "video_id", "branch_id", "run_id", "checkpoint_id", "job_id")
_ids: ContextVar[dict[str, str] | None] = ContextVar("aivideo_log_ids", default=None)


@contextmanager
def bind_ids(**ids: str | None) -> Iterator[None]:
    """Add ids to every line logged inside the block (and in tasks it starts)."""
    unknown = set(ids) - set(ID_FIELDS)
    if unknown:
        raise ValueError(f"not a log id: {sorted(unknown)}; use one of {ID_FIELDS}")
    merged = {**(_ids.get() or {}), **{k: v for k, v in ids.items() if v is not None}}
    token = _ids.set(merged)
    try:
        yield
    finally:
        _ids.reset(token)


def current_ids() -> dict[str, str]:
    return dict(_ids.get() or {})


class _AddIds(logging.Filter):
    """Copies the bound ids onto each record (an explicit `extra=` wins)."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name, value in (_ids.get() or {}).items():
            if not hasattr(record, name):
                setattr(record, name, value)
        return True


class _Masking(logging.Formatter):
    """Replaces every configured secret in the finished line, whatever logged it."""

    def __init__(self, inner: logging.Formatter, secrets: Iterable[str]) -> None:
        super().__init__()
        self.inner = inner
        # Longest first, so a secret containing another is masked whole.
        self.secrets = sorted({s for s in secrets if len(s) >= 4}, key=len, reverse=True)

    def format(self, record: logging.LogRecord) -> str:
        line = self.inner.format(record)
        for secret in self.secrets:
            line = line.replace(secret, "***")
        return line


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, ids, and the exception."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in ID_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                entry[name] = str(value)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    """`LEVEL logger: message [ids]`, for people at a terminal."""

    def format(self, record: logging.LogRecord) -> str:
        line = f"{record.levelname} {record.name}: {record.getMessage()}"
        ids = " ".join(
            f"{name}={getattr(record, name)}" for name in ID_FIELDS if hasattr(record, name)
        )
        if ids:
            line += f" [{ids}]"
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


def secrets_of(config: Settings) -> list[str]:
    """Every secret value the settings hold: API keys, the signing key, URL passwords."""
    values = [config.secret_key]
    for secret in (config.openai_api_key, config.replicate_api_token):
        if secret is not None:
            values.append(secret.get_secret_value())
    for url in (config.database_url, config.redis_url):
        try:
            values.append(urlsplit(url).password or "")
        except ValueError:
            pass
    return [value for value in values if value]


def configure_logging(config: Settings, *, stream: Any = None) -> None:
    """Send every logger's records (uvicorn's and taskiq's too) through one handler."""
    inner: logging.Formatter = JsonFormatter() if config.log_format == "json" else TextFormatter()
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(_Masking(inner, secrets_of(config)))
    handler.addFilter(_AddIds())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(config.log_level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        # uvicorn's own handlers would print the same event a second time, unformatted.
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True
