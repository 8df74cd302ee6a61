// One checkpoint as it is: its artifacts (spec table and editor, storyboard grid,
// players), their versions, and the actions that start from it.
import { h, fill, usd, when } from "./dom.js";
import * as ops from "./operations.js";

const byIndex = (a, b) => indexOf(a.key) - indexOf(b.key);
const indexOf = (key) => Number(key.split("_").pop());

/**
 * ctx: { gql, upload, act(statusEl, work, describe), reload(), continueFrom(cp, name),
 *        branchFrom(cp, name) }
 */
export function renderCheckpoint(panel, cp, ctx) {
  const of = (type) => cp.artifacts.filter((a) => a.type === type).sort(byIndex);
  const spec = of("SPEC")[0] ?? cp.inputs.find((a) => a.key === "spec");
  fill(
    panel,
    h("h3", { id: "checkpoint-title", tabindex: "-1" },
      `Phase ${cp.phase} · ${cp.phaseName.toLowerCase()} — branch ${cp.branchName}, version ${cp.version}`),
    h("p", { class: "meta" },
      h("span", { class: `badge status-${cp.status}` }, cp.status.toLowerCase()),
      ` created ${when(cp.createdAt)}`,
      cp.approvedAt ? ` · approved ${when(cp.approvedAt)}` : "",
      ` · cost ${usd(cp.costUsd)}`,
      cp.edited ? " · edited" : "",
      cp.editDescription ? ` · ${cp.editDescription}` : ""),
    actions(cp, ctx),
    cp.phase === 1 && of("SPEC").length ? specSection(cp, of("SPEC")[0], ctx) : null,
    cp.phase === 2 ? storyboard(cp, of("BEAT_IMAGE"), spec?.data, ctx) : null,
    cp.phase === 3 ? clips(cp, of("VIDEO_CHUNK"), of("STITCHED_VIDEO")[0], ctx) : null,
    cp.phase === 4 ? finale(of("MUSIC")[0], of("FINAL_VIDEO")[0]) : null,
  );
}

function actions(cp, ctx) {
  const box = h("div", { class: "actions" });
  if (cp.phase < 4) {
    const name = h("input", { id: "continue-branch", name: "branchName", autocomplete: "off", placeholder: "automatic", pattern: "[A-Za-z0-9._\\-]{1,64}" });
    box.append(
      h("form", { class: "inline-form", onsubmit: (e) => { e.preventDefault(); ctx.continueFrom(cp, name.value.trim() || null); } },
        h("label", { for: "continue-branch" }, "Branch for the next phase (optional)"),
        name,
        h("button", { type: "submit", class: "primary" }, `Continue to phase ${cp.phase + 1}`)),
    );
  }
  const branchName = h("input", { id: "new-branch", name: "name", autocomplete: "off", placeholder: "automatic", pattern: "[A-Za-z0-9._\\-]{1,64}" });
  box.append(
    h("form", { class: "inline-form", onsubmit: (e) => { e.preventDefault(); ctx.branchFrom(cp, branchName.value.trim() || null); } },
      h("label", { for: "new-branch" }, "New branch from this checkpoint (optional name)"),
      branchName,
      h("button", { type: "submit" }, "Create branch")),
  );
  return box;
}

function history(artifact, show = (v) => v.url && h("a", { href: v.url }, "open")) {
  if (artifact.versions.length < 2) return h("p", { class: "muted" }, `version ${artifact.version}, the only one`);
  return h("details", { class: "history" },
    h("summary", {}, `History of ${artifact.key}: ${artifact.versions.length} versions`),
    h("ol", { reversed: true },
      artifact.versions.map((v) => h("li", {},
        `v${v.version}${v.id === artifact.id ? " (latest)" : ""} · ${when(v.createdAt)} · ${usd(v.costUsd)}`,
        v.model ? ` · ${v.model}` : " · edit or upload",
        " ", show(v)))));
}

// ---- phase 1: the spec ----

function specSection(cp, spec, ctx) {
  const data = spec.data ?? {};
  const error = h("p", { id: "spec-error", class: "error", role: "alert" });
  const editor = h("textarea", { id: "spec-editor", rows: 18, spellcheck: false, "aria-describedby": "spec-help spec-error" });
  editor.value = JSON.stringify(data, null, 2);
  const description = h("input", { id: "spec-description", autocomplete: "off", maxlength: 200 });
  const save = async (event) => {
    event.preventDefault();
    error.textContent = "";
    editor.removeAttribute("aria-invalid");
    let patch;
    try {
      patch = JSON.parse(editor.value);
    } catch (problem) {
      return invalid(`This is not JSON: ${problem.message}`);
    }
    if (!patch || typeof patch !== "object" || Array.isArray(patch)) {
      return invalid("The spec must be a JSON object of top-level keys.");
    }
    const done = await ctx.act(error, () => ctx.gql(ops.EDIT_SPEC, { id: cp.id, patch, description: description.value.trim() || null }),
      (r) => `Saved spec version ${r.editSpec.version}.`);
    if (done.ok) await ctx.reload(`Saved spec version ${done.result.editSpec.version}.`);
    else editor.setAttribute("aria-invalid", "true");
  };
  const invalid = (message) => {
    error.textContent = message;
    editor.setAttribute("aria-invalid", "true");
    editor.focus();
  };
  return h("section", { class: "artifact", "aria-labelledby": "spec-heading" },
    h("h4", { id: "spec-heading" }, `Spec · version ${spec.version}`),
    specTable(data),
    history(spec, (v) => h("details", {}, h("summary", {}, "show"), h("pre", {}, JSON.stringify(v.data, null, 2)))),
    h("form", { class: "spec-form", onsubmit: save },
      h("label", { for: "spec-editor" }, "Edit the spec (JSON)"),
      h("p", { id: "spec-help", class: "muted" },
        "Top-level keys replace the spec's; the beats' durations (5, 10 or 15 s) must add up to the video's length."),
      editor,
      error,
      h("label", { for: "spec-description" }, "What you changed (optional)"),
      description,
      h("button", { type: "submit", class: "primary" }, "Save spec")));
}

function specTable(data) {
  const style = data.style ?? {};
  const palette = (style.color_palette ?? []).map((c) =>
    h("span", { class: "swatch-item" }, h("span", { class: "swatch", style: `background: ${safeColour(c)}` }), c));
  const row = (label, ...value) => h("tr", {}, h("th", { scope: "row" }, label), h("td", {}, ...value));
  return h("div", { class: "spec-view" },
    h("table", { class: "spec-table" },
      h("caption", {}, "The plan"),
      h("tbody", {},
        row("Title", data.title ?? ""),
        row("Duration", `${data.duration ?? "?"} s at ${data.fps ?? "?"} fps, ${data.resolution ?? "?"}`),
        row("Aesthetic", style.aesthetic ?? ""),
        row("Palette", palette),
        row("Mood", style.mood ?? ""),
        row("Lighting", style.lighting ?? ""))),
    h("table", { class: "beats-table" },
      h("caption", {}, `Beats (${(data.beats ?? []).length})`),
      h("thead", {}, h("tr", {}, ["#", "Start", "Length", "Shot", "Prompt"].map((t) => h("th", { scope: "col" }, t)))),
      h("tbody", {}, (data.beats ?? []).map((b, i) =>
        h("tr", {}, h("td", {}, i + 1), h("td", {}, `${b.start} s`), h("td", {}, `${b.duration} s`),
          h("td", {}, b.shot_type ?? ""), h("td", {}, b.prompt ?? ""))))));
}

function safeColour(value) {
  return /^(#[0-9a-f]{3,8}|[a-z]+)$/i.test(value) ? value : "transparent";
}

// ---- phase 2: the storyboard ----

function storyboard(cp, images, spec, ctx) {
  const beats = spec?.beats ?? [];
  return h("section", { class: "artifact", "aria-labelledby": "storyboard-heading" },
    h("h4", { id: "storyboard-heading" }, `Storyboard · ${images.length} images`),
    h("ul", { class: "beat-grid" }, images.map((image) => beatCard(cp, image, beats[indexOf(image.key)], ctx))));
}

function beatCard(cp, image, beat, ctx) {
  const i = indexOf(image.key);
  const status = h("p", { class: "beat-status", role: "status", id: `beat-status-${i}` });
  const file = h("input", { type: "file", id: `beat-file-${i}`, accept: "image/png,image/jpeg", required: true });
  const prompt = h("input", { type: "text", id: `beat-prompt-${i}`, maxlength: 1000, autocomplete: "off", placeholder: beat?.prompt ?? "" });
  const uploadImage = async (event) => {
    event.preventDefault();
    const [chosen] = file.files;
    if (!chosen) return;
    const done = await ctx.act(status, () => ctx.upload(ops.UPLOAD_BEAT_IMAGE, { id: cp.id, index: i }, "image", chosen),
      (r) => `Uploaded: beat ${i + 1} is now version ${r.uploadBeatImage.version}.`);
    if (done.ok) await ctx.reload(done.message);
  };
  const regenerate = async (event) => {
    event.preventDefault();
    const done = await ctx.act(status, () => ctx.gql(ops.REGENERATE_BEAT, { id: cp.id, index: i, prompt: prompt.value.trim() || null }),
      (r) => `Regenerated: beat ${i + 1} is now version ${r.regenerateBeat.version}.`);
    if (done.ok) await ctx.reload(done.message);
  };
  return h("li", { class: "beat", dataset: { beat: String(i) } },
    h("figure", {},
      h("img", { src: image.url, alt: `Storyboard image for beat ${i + 1}${beat ? `: ${beat.prompt}` : ""}`, width: 1280, height: 720, loading: "lazy" }),
      h("figcaption", {}, h("strong", {}, `Beat ${i + 1} · v${image.version}`), beat ? ` · ${beat.start}–${beat.start + beat.duration} s · ${beat.prompt}` : "")),
    h("form", { class: "beat-form", onsubmit: uploadImage },
      h("label", { for: `beat-file-${i}` }, `Replace beat ${i + 1} with a PNG or JPEG`),
      file,
      h("button", { type: "submit" }, `Upload image for beat ${i + 1}`)),
    h("form", { class: "beat-form", onsubmit: regenerate },
      h("label", { for: `beat-prompt-${i}` }, `Prompt for a new image (empty: the beat's own)`),
      prompt,
      h("button", { type: "submit" }, `Regenerate beat ${i + 1}`)),
    status,
    history(image));
}

// ---- phases 3 and 4: players ----

function player(tag, artifact, label) {
  return h(tag, { controls: true, preload: "metadata", src: artifact.url, "aria-label": label, dataset: { artifactKey: artifact.key } });
}

function clips(cp, chunks, stitched, ctx) {
  return h("section", { class: "artifact", "aria-labelledby": "clips-heading" },
    h("h4", { id: "clips-heading" }, `Clips · ${chunks.length}`),
    stitched && h("figure", { class: "wide" }, player("video", stitched, "Stitched preview"),
      h("figcaption", {}, `Stitched preview · v${stitched.version}`), history(stitched)),
    h("ul", { class: "beat-grid" }, chunks.map((chunk) => {
      const i = indexOf(chunk.key);
      const status = h("p", { class: "beat-status", role: "status" });
      const regenerate = async () => {
        const done = await ctx.act(status, () => ctx.gql(ops.REGENERATE_CHUNK, { id: cp.id, index: i }),
          (r) => `Regenerated: clip ${i + 1} is now version ${r.regenerateChunk.version}.`);
        if (done.ok) await ctx.reload(done.message);
      };
      return h("li", { class: "beat" },
        h("figure", {}, player("video", chunk, `Clip ${i + 1}`), h("figcaption", {}, `Clip ${i + 1} · v${chunk.version}`)),
        h("button", { type: "button", onclick: regenerate }, `Regenerate clip ${i + 1}`),
        status, history(chunk));
    })));
}

function finale(music, final) {
  return h("section", { class: "artifact", "aria-labelledby": "final-heading" },
    h("h4", { id: "final-heading" }, "Music and the final video"),
    final && h("figure", { class: "wide" }, player("video", final, "Final video"),
      h("figcaption", {}, `Final video · v${final.version} · `, h("a", { href: final.url, download: "" }, "download")),
      history(final)),
    music && h("figure", {}, player("audio", music, "Music"), h("figcaption", {}, `Music · v${music.version}`), history(music)));
}
