// The video list and the "new video" form.
import { h, fill, usd } from "./dom.js";

export function renderVideoList(list, connection, selectedId) {
  const videos = connection.edges.map((e) => e.node);
  if (!videos.length) return fill(list, h("li", { class: "muted" }, "No videos yet: make one above."));
  fill(list, videos.map((v) => h("li", {},
    h("a", {
      href: `#video=${encodeURIComponent(v.id)}`,
      class: "video-row",
      "aria-current": v.id === selectedId ? "page" : null,
      dataset: { videoId: v.id, focusKey: `video-${v.id}` },
    },
      h("span", { class: "video-title" }, v.title),
      h("span", { class: `badge status-${v.status}`, dataset: { role: "status" } }, v.status.toLowerCase().replaceAll("_", " ")),
      h("progress", { max: 100, value: v.progress, "aria-label": `${Math.round(v.progress)}% done` }),
      h("span", { class: "muted" }, `${Math.round(v.progress)}% · ${usd(v.costUsd)}${v.budgetUsd != null ? ` of ${usd(v.budgetUsd)}` : ""}`)))));
}

/** Fill the four model selects from Query.models (unavailable ones shown, disabled). */
export function fillModelSelects(form, models) {
  const kinds = { PLANNER: "planner", IMAGE: "imageModel", VIDEO: "videoModel", MUSIC: "musicModel" };
  for (const [kind, field] of Object.entries(kinds)) {
    const select = form.elements[field];
    fill(select, h("option", { value: "" }, "server default"),
      models.filter((m) => m.kind === kind).map((m) =>
        h("option", { value: m.id, disabled: !m.available }, `${m.id} · ${price(m.price)}${m.available ? "" : " (no credentials)"}`)));
  }
}

function price(entry) {
  switch (entry?.unit) {
    case "free": return "free";
    case "image": return `$${entry.usd}/image`;
    case "second": return `$${entry.usd}/s`;
    case "tokens": return `$${entry.input_usd_per_million}/$${entry.output_usd_per_million} per M tokens`;
    default: return entry?.unit ?? "";
  }
}

/** CreateVideoInput from the form; unset optional fields are left out. */
export function createInput(form) {
  const value = (name) => form.elements[name].value.trim();
  const input = {
    prompt: value("prompt"),
    durationSeconds: Number(value("durationSeconds")),
    autoContinue: form.elements.autoContinue.checked,
  };
  if (value("title")) input.title = value("title");
  if (value("budgetUsd")) input.budgetUsd = Number(value("budgetUsd"));
  const generation = {};
  for (const field of ["planner", "imageModel", "videoModel", "musicModel"]) {
    if (value(field)) generation[field] = value(field);
  }
  if (Object.keys(generation).length) input.generation = generation;
  return input;
}
