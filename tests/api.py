"""Operations the tests send, and small flows built from them."""

from __future__ import annotations

from typing import Any

from tests.conftest import Server

CHECKPOINT_FIELDS = """
  id phase phaseName version status edited editDescription costUsd branchName approvedAt
  parent { id }
  inputs { id key version type }
  artifacts { id key version type url contentType sizeBytes sha256 data metadata
              previousVersion { id version } }
"""

CREATE_VIDEO = """
mutation Create($input: CreateVideoInput!) {
  createVideo(input: $input) { id title prompt durationSeconds autoContinue status progress
                               currentPhase }
}
"""

VIDEO = f"""
query Video($id: ID!) {{
  video(id: $id) {{
    id title status progress currentPhase error costUsd
    currentCheckpoint {{ id }}
    finalVideo {{ id url contentType }}
    branches {{ id name status phase canContinue error head {{ id phase }}
               parentBranch {{ name }} forkedFrom {{ id }} }}
    activeBranches {{ name }}
    checkpoints {{ {CHECKPOINT_FIELDS} }}
  }}
}}
"""

CONTINUE = """
mutation Continue($id: ID!, $branchName: String) {
  continueCheckpoint(checkpointId: $id, branchName: $branchName) {
    checkpoint { id status approvedAt }
    branch { id name status }
    nextPhase
    createdNewBranch
  }
}
"""

EDIT_SPEC = """
mutation Edit($id: ID!, $patch: JSON!, $description: String) {
  editSpec(checkpointId: $id, patch: $patch, description: $description) {
    id key version data previousVersion { id version } checkpoint { id edited editDescription }
  }
}
"""

REGENERATE_BEAT = """
mutation Regen($id: ID!, $index: Int!, $prompt: String) {
  regenerateBeat(checkpointId: $id, beatIndex: $index, promptOverride: $prompt) {
    id key version sha256 url metadata previousVersion { id version }
  }
}
"""

REGENERATE_CHUNK = """
mutation Regen($id: ID!, $index: Int!, $model: String) {
  regenerateChunk(checkpointId: $id, chunkIndex: $index, modelOverride: $model) {
    id key version sha256 url metadata model costUsd previousVersion { id version }
  }
}
"""

CREATE_BRANCH = """
mutation Branch($id: ID!, $name: String) {
  createBranch(checkpointId: $id, name: $name) {
    id name status phase canContinue parentBranch { name } forkedFrom { id }
    head { id phase version status editDescription parent { id }
           artifacts { id key version sha256 data previousVersion { id } } }
  }
}
"""

CANCEL = "mutation Cancel($id: ID!) { cancelVideo(id: $id) { id status } }"
DELETE = "mutation Delete($id: ID!) { deleteVideo(id: $id) }"

PROMPT = "A lighthouse keeper befriends a storm. Waves climb the cliffs. Dawn finally breaks."


async def create_video(server: Server, **fields: Any) -> dict[str, Any]:
    data = await server.gql(
        CREATE_VIDEO, {"input": {"prompt": PROMPT, "durationSeconds": 10, **fields}}
    )
    return data["createVideo"]


async def video(server: Server, video_id: str) -> dict[str, Any]:
    return (await server.gql(VIDEO, {"id": video_id}))["video"]


async def paused_video(server: Server, **fields: Any) -> dict[str, Any]:
    """A new video whose phase 1 has finished."""
    created = await create_video(server, **fields)
    await server.settle()
    return await video(server, created["id"])


async def continue_and_settle(
    server: Server, checkpoint_id: str, branch_name: str | None = None
) -> dict[str, Any]:
    result = await server.gql(CONTINUE, {"id": checkpoint_id, "branchName": branch_name})
    await server.settle()
    return result["continueCheckpoint"]


def newest(
    checkpoints: list[dict[str, Any]], *, phase: int, branch: str = "main"
) -> dict[str, Any]:
    matching = [c for c in checkpoints if c["phase"] == phase and c["branchName"] == branch]
    assert matching, f"no phase {phase} checkpoint on {branch}"
    return matching[-1]


def artifact(checkpoint: dict[str, Any], key: str) -> dict[str, Any]:
    return next(a for a in checkpoint["artifacts"] if a["key"] == key)
