"""Backend faults inside one process: what is committed stands, work goes on, files stay safe.

Faults are injected where the services meet (the event broker, the job queue, storage,
the database calls of a job), with the exceptions the real clients raise.
"""

from __future__ import annotations

import pytest
from botocore.exceptions import EndpointConnectionError
from redis.exceptions import ConnectionError as RedisConnectionError

from tests import api
from tests.conftest import Server


def redis_is_down(*args: object, **kwargs: object) -> None:
    raise RedisConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")


async def redis_down(*args: object, **kwargs: object) -> None:
    redis_is_down()


async def test_an_event_broker_outage_does_not_fail_a_committed_create(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given an event broker failing as redis-py does when Redis is gone
    monkeypatch.setattr(server.runtime.events, "publish", redis_down)

    # when a video is created
    body = await server.gql_raw(
        api.CREATE_VIDEO,
        {"input": {"prompt": "A kettle sings to a sleeping cat.", "durationSeconds": 10}},
    )

    # then the committed create is answered, and the effects after the events still ran
    assert not body.get("errors"), body["errors"]
    await server.settle()
    video = await api.video(server, body["data"]["createVideo"]["id"])
    assert video["status"] == "PAUSED_AT_PHASE1"
    assert [c["phase"] for c in video["checkpoints"]] == [1]


async def test_a_job_queue_outage_does_not_fail_a_committed_create(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a job queue failing as redis-py does when Redis is gone
    monkeypatch.setattr(server.runtime.jobs, "enqueue_run", redis_down)

    # when a video is created
    body = await server.gql_raw(
        api.CREATE_VIDEO,
        {"input": {"prompt": "A ferry of lanterns leaves at night.", "durationSeconds": 10}},
    )

    # then it is answered once, as created and queued (the sweep sends its job again)
    assert not body.get("errors"), body["errors"]
    video = await api.video(server, body["data"]["createVideo"]["id"])
    assert (video["status"], video["checkpoints"]) == ("QUEUED", [])


async def test_an_s3_outage_during_cleanup_does_not_fail_a_committed_delete(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given a video whose files are in a bucket that cannot be reached (botocore's error)
    video = await api.paused_video(server, prompt="A clockmaker repairs the moon at noon.")
    await api.continue_and_settle(server, api.newest(video["checkpoints"], phase=1)["id"])

    async def unreachable(sha256: str) -> None:
        raise EndpointConnectionError(endpoint_url="http://127.0.0.1:9/bucket")

    monkeypatch.setattr(server.runtime.storage, "delete", unreachable)

    # when it is deleted, then the committed delete is answered as done
    assert (await server.gql(api.DELETE, {"id": video["id"]}))["deleteVideo"] is True
    error = await server.gql_error(api.VIDEO, {"id": video["id"]})
    assert error["extensions"]["code"] == "NOT_FOUND"
