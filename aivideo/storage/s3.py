"""Files in an S3-compatible bucket, keyed by SHA-256; browsers fetch them by presigned URL."""

from __future__ import annotations

import asyncio
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from aivideo import metrics
from aivideo.storage.base import Storage, StoredFile, sha256_of

URL_LIFETIME_SECONDS = 3600


def _missing(error: ClientError) -> bool:
    return error.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound")


class S3Storage(Storage):
    """boto3 (in worker threads) against AWS S3, MinIO or any S3-compatible service."""

    def __init__(
        self,
        *,
        bucket: str,
        endpoint_url: str | None,
        public_endpoint_url: str | None,
        prefix: str = "media/",
    ) -> None:
        self.bucket, self.prefix = bucket, prefix
        config = Config(signature_version="s3v4", retries={"mode": "standard"})
        self._client: Any = boto3.client("s3", endpoint_url=endpoint_url or None, config=config)
        # Presigned URLs name the host a browser reaches, which may differ from ours.
        self._signer: Any = (
            boto3.client("s3", endpoint_url=public_endpoint_url, config=config)
            if public_endpoint_url
            else self._client
        )

    def _key(self, sha256: str) -> str:
        return f"{self.prefix}{sha256[:2]}/{sha256}"

    async def put(self, content: bytes, *, content_type: str) -> StoredFile:
        sha = await asyncio.to_thread(sha256_of, content)  # megabytes: not on the event loop
        if not await self.exists(sha):
            await asyncio.to_thread(
                self._client.put_object,
                Bucket=self.bucket,
                Key=self._key(sha),
                Body=content,
                ContentType=content_type,
                CacheControl="private, max-age=31536000, immutable",
            )
            metrics.media_stored("s3", len(content))
        return StoredFile(sha256=sha, size_bytes=len(content), content_type=content_type)

    async def get(self, sha256: str) -> bytes:
        try:
            reply = await asyncio.to_thread(
                self._client.get_object, Bucket=self.bucket, Key=self._key(sha256)
            )
        except ClientError as exc:
            if _missing(exc):
                raise FileNotFoundError(sha256) from exc
            raise
        body: bytes = await asyncio.to_thread(reply["Body"].read)
        return body

    async def exists(self, sha256: str) -> bool:
        try:
            await asyncio.to_thread(
                self._client.head_object, Bucket=self.bucket, Key=self._key(sha256)
            )
        except ClientError as exc:
            if _missing(exc):
                return False
            raise
        return True

    async def delete(self, sha256: str) -> None:
        await asyncio.to_thread(
            self._client.delete_object, Bucket=self.bucket, Key=self._key(sha256)
        )

    async def download_url(self, sha256: str, *, content_type: str | None) -> str | None:
        params = {"Bucket": self.bucket, "Key": self._key(sha256)}
        if content_type:
            params["ResponseContentType"] = content_type
        url: str = await asyncio.to_thread(
            self._signer.generate_presigned_url,
            "get_object",
            Params=params,
            ExpiresIn=URL_LIFETIME_SECONDS,
        )
        return url
