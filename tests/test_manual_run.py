"""A manual run through the four phases, with edits at phases 1-3 reaching the later phases."""

from __future__ import annotations

import json

from tests import api
from tests.conftest import Server
from tests.media_checks import marked_image, middle_frame_mean_rgb, probe

UPLOAD = """
mutation Upload($id: ID!, $index: Int!, $image: Upload!) {
  uploadBeatImage(checkpointId: $id, beatIndex: $index, image: $image) {
    id key version sha256 url contentType metadata previousVersion { id version }
  }
}
"""


async def upload(
    server: Server,
    checkpoint_id: str,
    index: int,
    content: bytes,
    filename: str = "mine.png",
    content_type: str = "image/png",
) -> dict:
    operations = {
        "query": UPLOAD,
        "variables": {"id": checkpoint_id, "index": index, "image": None},
    }
    response = await server.http.post(
        "/graphql",
        data={"operations": json.dumps(operations), "map": json.dumps({"0": ["variables.image"]})},
        files={"0": (filename, content, content_type)},
        headers={"x-aivideo-csrf": "1"},  # an open server wants it on uploads (README Access)
    )
    return response.json()


async def test_manual_run_with_edits_at_every_phase(server: Server) -> None:
    # Phase 1, then an edit of the spec: a new beat 0 prompt and a new mood.
    video = await api.paused_video(server)
    phase1 = api.newest(video["checkpoints"], phase=1)
    spec = api.artifact(phase1, "spec")["data"]
    beats = [dict(b) for b in spec["beats"]]
    beats[0]["prompt"] = "A red balloon drifts over a silver sea"
    edited = (
        await server.gql(
            api.EDIT_SPEC,
            {
                "id": phase1["id"],
                "patch": {"beats": beats, "style": {**spec["style"], "mood": "hopeful"}},
            },
        )
    )["editSpec"]
    assert (edited["version"], edited["previousVersion"]["version"]) == (2, 1)
    assert edited["data"]["beats"][0]["prompt"] == "A red balloon drifts over a silver sea"
    assert edited["checkpoint"]["edited"] is True
    assert edited["checkpoint"]["editDescription"] == "Edited spec (beats, style)"

    # Phase 2 consumes the edited spec.
    result = await api.continue_and_settle(server, phase1["id"])
    assert (result["nextPhase"], result["createdNewBranch"], result["branch"]["name"]) == (
        2,
        False,
        "main",
    )
    video = await api.video(server, video["id"])
    assert video["status"] == "PAUSED_AT_PHASE2" and video["progress"] == 40.0
    phase2 = api.newest(video["checkpoints"], phase=2)
    assert [i["id"] for i in phase2["inputs"]] == [edited["id"]]
    assert phase2["parent"] == {"id": phase1["id"]}
    beat0 = api.artifact(phase2, "beat_0")
    assert beat0["metadata"]["prompt"] == "A red balloon drifts over a silver sea"
    assert beat0["contentType"] == "image/png"
    keys = [a["key"] for a in phase2["artifacts"]]
    assert keys == [f"beat_{i}" for i in range(len(beats))]

    # An uploaded image replaces beat 0: magenta, so it can be recognised in the clip.
    uploaded = await upload(
        server,
        phase2["id"],
        0,
        marked_image((255, 0, 255), "JPEG"),
        filename="magenta.jpg",
        content_type="image/jpeg",
    )
    assert "errors" not in uploaded, uploaded
    new_image = uploaded["data"]["uploadBeatImage"]
    assert (new_image["version"], new_image["previousVersion"]["id"]) == (2, beat0["id"])
    assert new_image["contentType"] == "image/png"
    assert new_image["metadata"]["uploadedFilename"] == "magenta.jpg"

    # Phase 3 renders what was uploaded.
    await api.continue_and_settle(server, phase2["id"])
    video = await api.video(server, video["id"])
    assert video["status"] == "PAUSED_AT_PHASE3" and video["progress"] == 90.0
    phase3 = api.newest(video["checkpoints"], phase=3)
    assert new_image["id"] in [i["id"] for i in phase3["inputs"]]
    chunk0 = api.artifact(phase3, "chunk_0")
    clip = (await server.http.get(chunk0["url"])).content
    r, g, b = middle_frame_mean_rgb(clip)
    assert r > 200 and g < 70 and b > 200, (r, g, b)
    assert probe(clip).video_codecs == ["h264"]
    assert api.artifact(phase3, "stitched")["contentType"] == "video/mp4"

    # A regenerated chunk (and the re-stitched preview) reach phase 4.
    regenerated = (
        await server.gql(
            api.REGENERATE_CHUNK,
            {
                "id": phase3["id"],
                "index": 0,
                "model": "local",
            },
        )
    )["regenerateChunk"]
    assert (regenerated["version"], regenerated["previousVersion"]["id"]) == (2, chunk0["id"])
    assert regenerated["sha256"] != chunk0["sha256"]
    assert regenerated["model"] == "local"
    phase3_now = (await api.video(server, video["id"]))["checkpoints"]
    assert api.artifact(api.newest(phase3_now, phase=3), "stitched")["version"] == 2

    await api.continue_and_settle(server, phase3["id"])
    video = await api.video(server, video["id"])
    assert video["status"] == "COMPLETE" and video["progress"] == 100.0
    phase4 = api.newest(video["checkpoints"], phase=4)
    assert regenerated["id"] in [i["id"] for i in phase4["inputs"]]
    assert phase4["status"] == "APPROVED" and phase4["approvedAt"] is not None
    assert video["branches"][0]["status"] == "COMPLETE"
    assert video["branches"][0]["canContinue"] is False
    assert video["currentCheckpoint"] is None

    # The final MP4: one H.264 video and one AAC audio stream, as long as the video.
    final = api.artifact(phase4, "final")
    assert video["finalVideo"]["id"] == final["id"]
    content = (await server.http.get(final["url"])).content
    media = probe(content)
    assert media.video_codecs == ["h264"] and media.audio_codecs == ["aac"]
    assert abs(media.duration - 10.0) < 0.15, media.duration
    assert (media.width, media.height) == (1280, 720)
    assert api.artifact(phase4, "music")["type"] == "MUSIC"
    approved = [c["status"] for c in video["checkpoints"]]
    assert approved == ["APPROVED"] * 4


async def test_regenerate_beat_really_re_renders(server: Server) -> None:
    video = await api.paused_video(server)
    phase1 = api.newest(video["checkpoints"], phase=1)
    await api.continue_and_settle(server, phase1["id"])
    phase2 = api.newest((await api.video(server, video["id"]))["checkpoints"], phase=2)
    before = api.artifact(phase2, "beat_1" if len(phase2["artifacts"]) > 1 else "beat_0")
    index = int(before["key"].split("_")[1])

    plain = await server.gql(api.REGENERATE_BEAT, {"id": phase2["id"], "index": index})
    override = await server.gql(
        api.REGENERATE_BEAT,
        {
            "id": phase2["id"],
            "index": index,
            "prompt": "A purple whale sings to the moon",
        },
    )

    first, second = plain["regenerateBeat"], override["regenerateBeat"]
    assert (first["version"], second["version"]) == (2, 3)
    assert second["previousVersion"]["id"] == first["id"]
    assert len({before["sha256"], first["sha256"], second["sha256"]}) == 3
    assert second["metadata"]["prompt"] == "A purple whale sings to the moon"
    image = await server.http.get(second["url"])
    assert image.status_code == 200 and image.headers["content-type"] == "image/png"
    versions = await server.gql(
        "query($id: ID!) { artifact(id: $id) { versions { version } } }", {"id": second["id"]}
    )
    assert [v["version"] for v in versions["artifact"]["versions"]] == [3, 2, 1]
