"""Media in an S3-compatible bucket (moto's S3 server here): stored by hash, fetched by
presigned redirect, removed with the last video that uses it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from moto.server import ThreadedMotoServer

from tests import api
from tests.media_checks import probe
from tests.service_process import Client, serving
from tests.test_cli import free_port

BUCKET = "aivideo-media"
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@pytest.fixture(scope="module")
def bucket() -> Iterator[tuple[str, Any]]:
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        region_name="us-east-1",
    )
    client.create_bucket(Bucket=BUCKET)
    try:
        yield endpoint, client
    finally:
        server.stop()


def stored_keys(client: Any) -> list[str]:
    listing = client.list_objects_v2(Bucket=BUCKET)
    return sorted(item["Key"] for item in listing.get("Contents", []))


async def test_media_lives_in_the_bucket(bucket: tuple[str, Any], tmp_path: Path) -> None:
    endpoint, s3 = bucket
    env = {**CREDENTIALS, "AIVIDEO_S3_BUCKET": BUCKET, "AIVIDEO_S3_ENDPOINT_URL": endpoint}
    async with (
        serving(tmp_path, env=env) as url,
        httpx.AsyncClient(base_url=url, timeout=60) as http,
    ):
        client = Client(url, http, None)
        created = await client.create_video(api.PROMPT, autoContinue=True)
        video = await client.wait_for(created["id"], "COMPLETE")
        final = next(a for a in video["checkpoints"][-1]["artifacts"] if a["key"] == "final")

        # the API checks the owner, then sends the browser to the bucket
        redirect = await http.get(final["url"])
        assert redirect.status_code == 307
        assert redirect.headers["location"].startswith(f"{endpoint}/{BUCKET}/media/")
        whole = await http.get(final["url"], follow_redirects=True)
        part = await http.get(final["url"], headers={"Range": "bytes=0-99"}, follow_redirects=True)
        assert whole.headers["content-type"] == "video/mp4"
        media = probe(whole.content)
        assert media.video_codecs == ["h264"] and media.audio_codecs == ["aac"]
        assert part.status_code == 206 and part.content == whole.content[:100]

        sha = final["sha256"]
        assert f"media/{sha[:2]}/{sha}" in stored_keys(s3)
        assert not (tmp_path / "media").exists()  # nothing went to local disk

        # deleting the video removes its objects
        assert (await client.gql(api.DELETE, {"id": created["id"]}))["deleteVideo"] is True
        assert stored_keys(s3) == []
