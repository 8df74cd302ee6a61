// The review page: state, routing (#video=…&checkpoint=…), live updates, actions.
import { h, fill, usd, keepingFocus } from "./dom.js";
import { ApiError, apiKey, gql, onReconnect, onUnauthenticated, setApiKey, subscribe, upload } from "./graphql.js";
import * as ops from "./operations.js";
import { renderCheckpoint } from "./checkpoint.js";
import { renderTree } from "./tree.js";
import { createInput, fillModelSelects, renderVideoList } from "./videos.js";

const $ = (id) => document.getElementById(id);
const state = { videoId: null, checkpointId: null, video: null, status: null, unsubscribe: [] };

/** Run one request; show its outcome (or the error's code and message) in `statusEl`. */
async function act(statusEl, work, describe) {
  statusEl.className = statusEl.className.replace(/\b(ok|error|busy)\b/g, "").trim();
  statusEl.classList.add("busy");
  statusEl.textContent = "Working…";
  try {
    const result = await work();
    const message = describe(result);
    statusEl.classList.replace("busy", "ok");
    statusEl.textContent = message;
    return { ok: true, result, message };
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    statusEl.classList.replace("busy", "error");
    statusEl.textContent = `${error.code}: ${error.message}`;
    return { ok: false, error };
  }
}

const outcome = () => $("outcome");

// ---- routing ----

function route() {
  const params = new URLSearchParams(window.location.hash.slice(1));
  return { videoId: params.get("video"), checkpointId: params.get("checkpoint") };
}

function go(videoId, checkpointId = null) {
  const params = new URLSearchParams();
  if (videoId) params.set("video", videoId);
  if (checkpointId) params.set("checkpoint", checkpointId);
  const hash = `#${params}`;
  if (window.location.hash === hash) return onRoute();
  window.location.hash = hash;
}

async function onRoute() {
  const { videoId, checkpointId } = route();
  if (videoId !== state.videoId) return openVideo(videoId);
  if (state.video && checkpointId && checkpointId !== state.checkpointId) {
    state.checkpointId = checkpointId;
    drawTree();
    await loadCheckpoint();
  }
}

// ---- the list ----

async function loadVideos() {
  try {
    const data = await gql(ops.VIDEOS);
    keepingFocus($("video-list"), () => renderVideoList($("video-list"), data.videos, state.videoId));
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    fill($("video-list"), h("li", { class: "error" }, `${error.code}: ${error.message}`));
  }
}

async function loadModels() {
  try {
    fillModelSelects($("create-form"), (await gql(ops.MODELS)).models);
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
  }
}

async function createVideo(event) {
  event.preventDefault();
  const form = event.currentTarget;
  const done = await act($("create-outcome"), () => gql(ops.CREATE_VIDEO, { input: createInput(form) }),
    (r) => `Created ${r.createVideo.id}: ${r.createVideo.status.toLowerCase()}.`);
  if (!done.ok) return;
  form.elements.prompt.value = "";
  await loadVideos();
  go(done.result.createVideo.id);
}

// ---- one video ----

async function openVideo(videoId) {
  for (const end of state.unsubscribe) end();
  Object.assign(state, { videoId, checkpointId: null, video: null, status: null, unsubscribe: [] });
  keepingFocus($("video-list"), () => {
    for (const row of document.querySelectorAll(".video-row")) {
      row.toggleAttribute("aria-current", row.dataset.videoId === videoId);
      if (row.dataset.videoId === videoId) row.setAttribute("aria-current", "page");
    }
  });
  if (!videoId) return fill($("detail"), h("p", { class: "muted" }, "Choose a video, or make one."));
  fill($("detail"), h("p", { class: "muted" }, "Loading…"));
  await loadVideo();
  if (!state.video) return;
  state.unsubscribe.push(
    subscribe(ops.VIDEO_STATUS, { id: videoId }, (d) => onStatus(d.videoStatus), showLiveError),
    subscribe(ops.CHECKPOINT_CREATED, { id: videoId }, () => loadVideo(), showLiveError),
  );
}

function showLiveError(error) {
  const live = $("live-state");
  if (live) live.textContent = `live updates stopped: ${error}`;
}

async function loadVideo() {
  const videoId = state.videoId;
  let data;
  try {
    data = await gql(ops.VIDEO, { id: videoId });
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    return fill($("detail"), h("p", { class: "error", role: "alert" }, `${error.code}: ${error.message}`));
  }
  if (videoId !== state.videoId) return; // the user moved on meanwhile
  if (!data.video) return fill($("detail"), h("p", { class: "error", role: "alert" }, `NOT_FOUND: no video ${videoId}`));
  const first = !state.video;
  state.video = data.video;
  state.status = data.video.status;
  if (first) buildDetail();
  drawHeader();
  if (first || !state.checkpointId) {
    // Open the checkpoint the address names, else the one waiting for review, else the newest.
    const newest = data.video.checkpoints.at(-1);
    state.checkpointId =
      route().checkpointId ?? data.video.currentCheckpoint?.id ?? newest?.id ?? null;
    drawTree();
    if (first || state.checkpointId) await loadCheckpoint();
  } else drawTree();
}

function buildDetail() {
  fill($("detail"),
    h("div", { class: "video-head" },
      h("h2", { id: "detail-title", tabindex: "-1" }),
      h("p", { id: "video-meta", class: "meta" }),
      h("p", { id: "video-error", class: "error" }),
      h("div", { class: "actions" },
        h("button", { type: "button", onclick: cancelVideo }, "Cancel video"),
        h("button", { type: "button", class: "danger", onclick: deleteVideo }, "Delete video"))),
    h("p", { id: "outcome", class: "outcome", role: "status", "aria-live": "polite" }),
    h("figure", { class: "tree", "aria-labelledby": "tree-caption" },
      h("figcaption", { id: "tree-caption" }, "Checkpoint tree: one column per branch, one row per phase. ",
        h("span", { id: "live-state", class: "muted" })),
      h("div", { id: "tree", class: "tree-scroll" })),
    h("section", { id: "checkpoint", class: "checkpoint", "aria-labelledby": "checkpoint-title" }));
}

function drawHeader() {
  const v = state.video;
  $("detail-title").textContent = v.title;
  fill($("video-meta"),
    h("span", { class: `badge status-${v.status}`, id: "video-status" }, v.status.toLowerCase().replaceAll("_", " ")),
    " ",
    h("progress", { id: "video-progress", max: 100, value: v.progress, "aria-label": "progress" }),
    h("span", { id: "video-percent" }, ` ${Math.round(v.progress)}%`),
    ` · ${v.durationSeconds} s · cost ${usd(v.costUsd)}`,
    v.budgetUsd != null ? ` of ${usd(v.budgetUsd)} budget` : "",
    v.autoContinue ? " · YOLO" : "",
    ` · models: ${v.generation.planner}, ${v.generation.imageModel}, ${v.generation.videoModel}, ${v.generation.musicModel}`);
  $("video-error").textContent = v.error ?? "";
}

function drawTree() {
  if (!state.video) return;
  keepingFocus($("tree"), () =>
    renderTree($("tree"), state.video, {
      selectedId: state.checkpointId,
      onSelect: (id) => go(state.videoId, id),
      onRetry: retryBranch,
    }));
}

function onStatus(event) {
  if (!state.video || event.videoId !== state.videoId) return;
  const changed = event.status !== state.status;
  state.status = event.status;
  Object.assign(state.video, { status: event.status, progress: event.progress });
  drawHeader();
  const running = document.querySelector(`[data-running-branch="${CSS.escape(event.branchName ?? "")}"] .node-status`);
  if (running) running.textContent = `${Math.round(event.progress)}%`;
  const bar = document.querySelector(`[data-branch-progress="${CSS.escape(event.branchName ?? "")}"]`);
  if (bar) bar.value = event.progress;
  if (changed) {
    loadVideo();
    loadVideos();
  }
}

// ---- one checkpoint ----

async function loadCheckpoint(message = null) {
  const panel = $("checkpoint");
  if (!panel) return;
  if (!state.checkpointId) return fill(panel, h("p", { class: "muted" }, "No checkpoint yet: phase 1 is being planned."));
  const id = state.checkpointId;
  let data;
  try {
    data = await gql(ops.CHECKPOINT, { id });
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    return fill(panel, h("p", { class: "error", role: "alert" }, `${error.code}: ${error.message}`));
  }
  if (id !== state.checkpointId) return;
  if (!data.checkpoint) return fill(panel, h("p", { class: "error" }, `NOT_FOUND: no checkpoint ${id}`));
  renderCheckpoint(panel, data.checkpoint, checkpointContext);
  if (message) {
    outcome().className = "outcome ok";
    outcome().textContent = message; // the control that asked was just re-rendered
  }
}

const checkpointContext = {
  gql,
  upload,
  act,
  reload: async (message) => {
    await Promise.all([loadCheckpoint(message), loadVideo()]);
  },
  continueFrom: async (cp, branchName) => {
    const done = await act(outcome(), () => gql(ops.CONTINUE, { id: cp.id, branchName }), (r) => {
      const c = r.continueCheckpoint;
      return `Continued: phase ${c.nextPhase} runs on branch ${c.branch.name}${c.createdNewBranch ? " (a new branch)" : ""}.`;
    });
    if (done.ok) await Promise.all([loadVideo(), loadCheckpoint()]);
  },
  branchFrom: async (cp, name) => {
    const done = await act(outcome(), () => gql(ops.CREATE_BRANCH, { id: cp.id, name }),
      (r) => `Created branch ${r.createBranch.name}; its first checkpoint copies this one.`);
    if (done.ok) {
      await loadVideo();
      go(state.videoId, done.result.createBranch.head.id);
    }
  },
};

async function retryBranch(branch) {
  const done = await act(outcome(), () => gql(ops.RETRY_BRANCH, { id: branch.id }),
    (r) => `Retrying: phase ${r.retryBranch.phase} runs again on branch ${r.retryBranch.name}.`);
  if (done.ok) await loadVideo();
}

async function cancelVideo() {
  if (!window.confirm("Cancel this video? Queued and running work stops; finished work stays.")) return;
  const done = await act(outcome(), () => gql(ops.CANCEL_VIDEO, { id: state.videoId }),
    (r) => `Cancelled: the video is ${r.cancelVideo.status.toLowerCase()}.`);
  if (done.ok) await Promise.all([loadVideo(), loadVideos(), loadCheckpoint()]);
}

async function deleteVideo() {
  if (!window.confirm("Delete this video, its checkpoints and its files? This cannot be undone.")) return;
  const title = state.video.title;
  const done = await act(outcome(), () => gql(ops.DELETE_VIDEO, { id: state.videoId }), () => `Deleted “${title}”.`);
  if (!done.ok) return;
  go(null);
  await loadVideos();
  fill($("detail"), h("p", { class: "outcome ok", role: "status" }, done.message));
}

// ---- the API key ----

function askForKey(message) {
  const form = $("key-form");
  const wasHidden = form.hidden;
  form.hidden = false;
  $("key-reason").textContent = apiKey()
    ? `The server refused this key: ${message}`
    : `This server needs an API key (${message}). It is kept in this browser only.`;
  if (wasHidden) $("api-key").focus();
}

function setupKey() {
  onUnauthenticated(askForKey);
  $("key-form").addEventListener("submit", (event) => {
    event.preventDefault();
    setApiKey($("api-key").value.trim());
    window.location.reload(); // every request and subscription starts again with the key
  });
  const forget = $("forget-key");
  forget.hidden = !apiKey();
  forget.addEventListener("click", () => {
    setApiKey("");
    window.location.reload();
  });
}

// ---- start ----

setupKey();
$("create-form").addEventListener("submit", createVideo);
window.addEventListener("hashchange", onRoute);
onReconnect(() => {
  loadVideos();
  if (state.videoId) loadVideo();
});
// The list follows every video of this owner: a new checkpoint anywhere refreshes it.
subscribe(ops.CHECKPOINT_CREATED, { id: null }, () => loadVideos());
await Promise.all([loadVideos(), loadModels()]);
await onRoute();
document.body.dataset.ready = "true";
