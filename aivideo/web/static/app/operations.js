// Every operation the page sends: the public API, nothing else.

export const VIDEOS = `query Videos {
  videos(first: 50) {
    totalCount
    edges { node { id title status progress costUsd budgetUsd createdAt } }
  }
}`;

export const MODELS = `query Models { models { id kind available price } }`;

export const CREATE_VIDEO = `mutation CreateVideo($input: CreateVideoInput!) {
  createVideo(input: $input) { id title status }
}`;

export const VIDEO = `query Video($id: ID!) {
  video(id: $id) {
    id title prompt durationSeconds autoContinue status progress currentPhase error
    costUsd budgetUsd estimatedTimeRemaining createdAt
    generation { planner imageModel videoModel musicModel }
    currentCheckpoint { id }
    finalVideo { id url }
    branches {
      id name status phase progress canContinue canRetry error
      parentBranch { name } forkedFrom { id } head { id }
    }
    checkpoints {
      id phase phaseName version status edited branchName costUsd createdAt parent { id }
    }
  }
}`;

export const CHECKPOINT = `query Checkpoint($id: ID!) {
  checkpoint(id: $id) {
    id phase phaseName version status edited editDescription branchName costUsd
    createdAt approvedAt
    video { id durationSeconds }
    branch { id name status canContinue canRetry }
    inputs { id key version data }
    artifacts {
      id type key version url contentType sizeBytes data metadata costUsd model createdAt
      versions { id version url data costUsd model createdAt }
    }
  }
}`;

export const EDIT_SPEC = `mutation EditSpec($id: ID!, $patch: JSON!, $description: String) {
  editSpec(checkpointId: $id, patch: $patch, description: $description) { id key version }
}`;

export const UPLOAD_BEAT_IMAGE = `mutation UploadBeatImage($id: ID!, $index: Int!, $image: Upload!) {
  uploadBeatImage(checkpointId: $id, beatIndex: $index, image: $image) { id key version }
}`;

export const REGENERATE_BEAT = `mutation RegenerateBeat($id: ID!, $index: Int!, $prompt: String) {
  regenerateBeat(checkpointId: $id, beatIndex: $index, promptOverride: $prompt) {
    id key version
  }
}`;

export const REGENERATE_CHUNK = `mutation RegenerateChunk($id: ID!, $index: Int!) {
  regenerateChunk(checkpointId: $id, chunkIndex: $index) { id key version }
}`;

export const CONTINUE = `mutation Continue($id: ID!, $branchName: String) {
  continueCheckpoint(checkpointId: $id, branchName: $branchName) {
    nextPhase createdNewBranch branch { id name status }
  }
}`;

export const CREATE_BRANCH = `mutation CreateBranch($id: ID!, $name: String) {
  createBranch(checkpointId: $id, name: $name) { id name head { id } }
}`;

export const RETRY_BRANCH = `mutation RetryBranch($id: ID!) {
  retryBranch(branchId: $id) { id name status phase }
}`;

export const CANCEL_VIDEO = `mutation CancelVideo($id: ID!) { cancelVideo(id: $id) { id status } }`;

export const DELETE_VIDEO = `mutation DeleteVideo($id: ID!) { deleteVideo(id: $id) }`;

export const VIDEO_STATUS = `subscription VideoStatus($id: ID!) {
  videoStatus(videoId: $id) { videoId status progress currentPhase branchName }
}`;

export const CHECKPOINT_CREATED = `subscription CheckpointCreated($id: ID) {
  checkpointCreated(videoId: $id) { videoId checkpointId phase branchName }
}`;
