// The checkpoint tree as a picture: one column per branch, one row per phase,
// edges from each checkpoint to the phase it fed (dashed: where a branch was forked).
import { h, fill } from "./dom.js";

export const PHASE_LABELS = ["1 · Plan", "2 · Storyboard", "3 · Clips", "4 · Music & final"];
const RUNNING = new Set(["QUEUED", "RUNNING"]);
const SVG = "http://www.w3.org/2000/svg";

/** Branches depth first from main, each followed by the branches forked from it. */
export function orderBranches(branches) {
  const children = new Map();
  for (const branch of branches) {
    const parent = branch.parentBranch?.name ?? null;
    if (!children.has(parent)) children.set(parent, []);
    children.get(parent).push(branch);
  }
  const ordered = [];
  const visit = (name) => {
    for (const branch of children.get(name) ?? []) {
      ordered.push(branch);
      visit(branch.name);
    }
  };
  visit(null);
  return ordered;
}

export function renderTree(container, video, { selectedId, onSelect, onRetry }) {
  const branches = orderBranches(video.branches);
  const currentId = video.currentCheckpoint?.id;
  const grid = h("div", {
    class: "tree-grid",
    style: `grid-template-columns: max-content repeat(${branches.length}, minmax(8.5rem, 13rem))`,
  });
  PHASE_LABELS.forEach((label, i) =>
    grid.append(h("div", { class: "phase-label", style: `grid-area: ${i + 2} / 1` }, label)),
  );
  branches.forEach((branch, i) => {
    const column = i + 2;
    grid.append(branchHeader(branch, column, onRetry));
    for (let phase = 1; phase <= 4; phase += 1) {
      const cell = h("div", { class: "tree-cell", style: `grid-area: ${phase + 1} / ${column}` });
      const here = video.checkpoints.filter(
        (c) => c.branchName === branch.name && c.phase === phase,
      );
      for (const checkpoint of here) {
        cell.append(node(checkpoint, checkpoint.id === currentId, checkpoint.id === selectedId, onSelect));
      }
      if (RUNNING.has(branch.status) && branch.phase === phase) cell.append(runningNode(branch));
      grid.append(cell);
    }
  });
  const edges = document.createElementNS(SVG, "svg");
  edges.setAttribute("class", "tree-edges");
  edges.setAttribute("aria-hidden", "true");
  const canvas = h("div", { class: "tree-canvas" }, edges, grid);
  fill(container, canvas);
  const draw = () => drawEdges(canvas, edges, video);
  draw();
  // Positions change with the viewport and fonts: redraw the edges whenever the grid resizes.
  container._observer?.disconnect();
  container._observer = new ResizeObserver(draw);
  container._observer.observe(grid);
}

function branchHeader(branch, column, onRetry) {
  return h(
    "div",
    { class: "branch-head", style: `grid-area: 1 / ${column}`, dataset: { branch: branch.name } },
    h("strong", { class: "branch-name" }, branch.name),
    h("span", { class: `badge status-${branch.status}` }, branch.status.toLowerCase()),
    h("progress", {
      max: 100,
      value: branch.progress,
      "aria-label": `branch ${branch.name}: ${Math.round(branch.progress)}%`,
      dataset: { branchProgress: branch.name },
    }),
    branch.canRetry &&
      h(
        "button",
        { type: "button", class: "small", onclick: () => onRetry(branch), dataset: { focusKey: `retry-${branch.id}` } },
        `Retry ${branch.name}`,
      ),
    branch.error && h("p", { class: "error" }, branch.error),
  );
}

function node(checkpoint, isCurrent, isSelected, onSelect) {
  const label = [
    `Phase ${checkpoint.phase} ${checkpoint.phaseName.toLowerCase()}`,
    `branch ${checkpoint.branchName}`,
    `version ${checkpoint.version}`,
    checkpoint.status.toLowerCase(),
    checkpoint.edited ? "edited" : "",
    isCurrent ? "current checkpoint" : "",
  ].filter(Boolean);
  return h(
    "button",
    {
      type: "button",
      class: `node status-${checkpoint.status}${isCurrent ? " current" : ""}`,
      "aria-pressed": isSelected ? "true" : "false",
      "aria-label": label.join(", "),
      title: label.join(", "),
      onclick: () => onSelect(checkpoint.id),
      dataset: { checkpointId: checkpoint.id, focusKey: checkpoint.id },
    },
    h("span", { class: "node-title" }, `${checkpoint.phaseName.toLowerCase()} v${checkpoint.version}`),
    h("span", { class: "node-status" }, checkpoint.status.toLowerCase(), checkpoint.edited ? " · edited" : ""),
    isCurrent && h("span", { class: "node-current" }, "current"),
  );
}

function runningNode(branch) {
  return h(
    "div",
    { class: "node running", role: "status", dataset: { runningBranch: branch.name } },
    h("span", { class: "node-title" }, branch.status === "QUEUED" ? "queued…" : "running…"),
    h("span", { class: "node-status" }, `${Math.round(branch.progress)}%`),
  );
}

function drawEdges(canvas, svg, video) {
  const box = canvas.getBoundingClientRect();
  svg.setAttribute("width", String(canvas.scrollWidth));
  svg.setAttribute("height", String(canvas.scrollHeight));
  svg.replaceChildren();
  const find = (id) => canvas.querySelector(`[data-checkpoint-id="${CSS.escape(id)}"]`);
  const link = (fromId, toId, dashed) => {
    const from = find(fromId)?.getBoundingClientRect();
    const to = find(toId)?.getBoundingClientRect();
    if (!from || !to) return;
    const x1 = from.left + from.width / 2 - box.left;
    const y1 = from.bottom - box.top;
    const x2 = to.left + to.width / 2 - box.left;
    const y2 = to.top - box.top;
    const mid = (y1 + y2) / 2;
    const path = document.createElementNS(SVG, "path");
    path.setAttribute("d", `M${x1},${y1} C${x1},${mid} ${x2},${mid} ${x2},${y2}`);
    if (dashed) path.setAttribute("class", "fork");
    svg.append(path);
  };
  for (const checkpoint of video.checkpoints) {
    if (checkpoint.parent) link(checkpoint.parent.id, checkpoint.id, false);
  }
  for (const branch of video.branches) {
    const first = video.checkpoints.find((c) => c.branchName === branch.name);
    if (branch.forkedFrom && first && first.parent?.id !== branch.forkedFrom.id) {
      link(branch.forkedFrom.id, first.id, true); // a createBranch copy of a sibling
    }
  }
}
