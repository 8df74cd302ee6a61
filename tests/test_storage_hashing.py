"""Storing a file hashes it in a worker thread: megabytes of SHA-256 never stall the event loop."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import boto3
import pytest
from moto import mock_aws

from aivideo.storage import local, s3
from aivideo.storage.base import sha256_of
from aivideo.storage.local import LocalStorage
from aivideo.storage.s3 import S3Storage

CONTENT = b"\x89PNG frame " * 100_000
SHA256 = hashlib.sha256(CONTENT).hexdigest()


def hashing_threads(monkeypatch: pytest.MonkeyPatch, module: ModuleType) -> list[str]:
    """Where each hash of `module` runs: "loop" for the calling thread, else "worker"."""
    places: list[str] = []
    loop_thread = threading.get_ident()

    def recording(content: bytes) -> str:
        places.append("loop" if threading.get_ident() == loop_thread else "worker")
        return sha256_of(content)

    monkeypatch.setattr(module, "sha256_of", recording)
    return places


@pytest.fixture
def bucket(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(name, value)
    with mock_aws():
        boto3.client("s3").create_bucket(Bucket="media")
        yield "media"


async def test_local_storage_hashes_in_a_worker_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    places = hashing_threads(monkeypatch, local)
    stored = await LocalStorage(tmp_path).put(CONTENT, content_type="image/png")
    assert (stored.sha256, stored.size_bytes) == (SHA256, len(CONTENT))
    assert (tmp_path / SHA256[:2] / SHA256).read_bytes() == CONTENT
    assert places == ["worker"]


async def test_s3_storage_hashes_in_a_worker_thread(
    bucket: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    places = hashing_threads(monkeypatch, s3)
    storage = S3Storage(bucket=bucket, endpoint_url=None, public_endpoint_url=None)
    stored = await storage.put(CONTENT, content_type="image/png")
    assert stored.sha256 == SHA256
    assert await storage.get(SHA256) == CONTENT
    assert places == ["worker"]
