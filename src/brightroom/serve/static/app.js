// Brightroom's page: choose a photo, pick the operations, follow the job, compare before and after.
// Plain JavaScript over the REST API (/v1/...); no build step.
"use strict";

const $ = (id) => document.getElementById(id);
const BROWSER_TYPES = ["image/jpeg", "image/png", "image/webp", "image/gif", "image/avif"];
const POLL_MS = 350;
const MAX_BUSY_RETRIES = 3;

const state = { file: null, rawSuffixes: [], previewUrl: null, job: null, busyRetries: 0, realModel: false, jpegModel: false, blindMethods: [] };

// ---------------------------------------------------------------- setup

async function loadCatalog() {
  try {
    const [methods, formats] = await Promise.all([getJson("/v1/methods"), getJson("/v1/formats")]);
    const select = $("method");
    select.options[0].textContent = `Best available (${methods.defaults.denoise})`;
    for (const method of methods.tasks.denoise) select.add(new Option(`${method.name} · ${method.summary}`, method.name));
    const upscaler = $("upscale-method");
    upscaler.options[0].textContent = `Best available (${methods.defaults.sr})`;
    for (const method of methods.tasks.sr) upscaler.add(new Option(`${method.name} · ${method.summary}`, method.name));
    state.blindMethods = methods.tasks.denoise.filter((m) => m.blind).map((m) => m.name);
    state.realModel = state.blindMethods.includes(methods.defaults.denoise);
    state.jpegModel = Boolean(methods.defaults.jpeg);
    updateOptionHints();
    const raw = formats.formats.find((f) => f.name === "raw");
    state.rawSuffixes = raw ? raw.suffixes : [];
    const suffixes = formats.formats.flatMap((f) => f.suffixes);
    $("file-input").accept = ["image/*", ...suffixes].join(",");
  } catch (error) {
    showError(`The server did not answer (${error.message}).`);
  }
}

async function getJson(url) {
  const response = await fetch(url);
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(body.error || `HTTP ${response.status}`);
  return body;
}

// ---------------------------------------------------------------- choosing a photo

function chooseFile(file) {
  if (!file) return;
  resetResult();
  state.file = file;
  const suffix = file.name.includes(".") ? file.name.slice(file.name.lastIndexOf(".")).toLowerCase() : "";
  const isRaw = state.rawSuffixes.includes(suffix);
  $("raw-group").hidden = !isRaw;
  $("file-info").textContent = `${file.name} · ${formatBytes(file.size)}`;
  $("run").disabled = false;
  $("dropzone").hidden = true;
  $("preview").hidden = false;
  if (state.previewUrl) URL.revokeObjectURL(state.previewUrl);
  state.previewUrl = null;
  const shown = BROWSER_TYPES.includes(file.type) && !isRaw;
  $("preview-img").hidden = !shown;
  $("preview-placeholder").hidden = shown;
  $("preview-caption").textContent = "";
  if (shown) {
    state.previewUrl = URL.createObjectURL(file);
    const img = $("preview-img");
    img.onload = () => { $("preview-caption").textContent = `${file.name} · ${img.naturalWidth} × ${img.naturalHeight}`; };
    img.src = state.previewUrl;
  } else {
    $("placeholder-text").textContent = isRaw
      ? `${file.name}: a RAW file. It is developed on the server; the preview follows.`
      : `${file.name}: this browser cannot preview it; the server will.`;
  }
}

function formatBytes(count) {
  if (count >= 1024 * 1024) return `${(count / 1024 / 1024).toFixed(1)} MB`;
  if (count >= 1024) return `${Math.round(count / 1024)} KB`;
  return `${count} bytes`;
}

// ---------------------------------------------------------------- options

function readOptions() {
  const form = new FormData();
  const enhance = document.querySelector("input[name=enhance]:checked").value;
  form.append("enhance", enhance);
  if (enhance === "denoise" && !$("sigma-auto").checked) form.append("sigma", $("sigma").value);
  if (enhance !== "off" && $("method").value) form.append("method", $("method").value);
  if (!$("real-strength").hidden) {
    for (const [field, id] of [["strength", "strength-all"], ["luma_strength", "strength-luma"], ["color_strength", "strength-color"]]) {
      if ($(id).value !== "1") form.append(field, $(id).value);
    }
  }
  const jpeg = document.querySelector("input[name=jpeg]:checked").value;
  form.append("jpeg", jpeg);
  if (jpeg !== "off" && $("jpeg-strength").value !== "1") form.append("jpeg_strength", $("jpeg-strength").value);
  const upscale = document.querySelector("input[name=upscale]:checked").value;
  form.append("upscale", upscale);
  if (upscale !== "1" && $("upscale-method").value) form.append("upscale_method", $("upscale-method").value);
  form.append("develop_raw", $("develop-raw").checked ? "true" : "false");
  form.append("raw_denoise", $("raw-denoise").value);
  form.append("format", $("format").value);
  return form;
}

function updateOptionHints() {
  const enhance = document.querySelector("input[name=enhance]:checked").value;
  $("strength").hidden = enhance !== "denoise";
  $("method").disabled = enhance === "off";
  $("upscale-method").disabled = document.querySelector("input[name=upscale]:checked").value === "1";
  $("enhance-hint").textContent = {
    auto: "Measures the noise and removes it; a clean photo is left as it is.",
    denoise: "Always removes noise, at the strength you choose or the one measured.",
    off: "No noise removal; upscale or develop only.",
  }[enhance];
  const manual = !$("sigma-auto").checked;
  $("sigma").disabled = !manual;
  $("sigma-value").textContent = manual ? `σ ${$("sigma").value}` : "auto";
  // the real-photo model's strengths apply where it measures the noise itself
  const chosen = $("method").value;
  const blind = chosen ? state.blindMethods.includes(chosen) : state.realModel;
  $("real-strength").hidden = !blind || enhance === "off" || (enhance === "denoise" && manual);
  for (const id of ["strength-all", "strength-luma", "strength-color", "jpeg-strength"]) {
    $(`${id}-value`).textContent = `×${Number($(id).value).toFixed(2)}`;
  }
  const jpeg = document.querySelector("input[name=jpeg]:checked").value;
  $("jpeg-strength-row").hidden = jpeg === "off" || !state.jpegModel;
  $("jpeg-group").hidden = !state.jpegModel;
  $("jpeg-hint").textContent = {
    auto: enhance === "off" ? "Auto applies with Enhance Auto or Denoise; choose On to remove artifacts alone."
      : "Removes blocks and ringing when the photo shows them (its quality read from the file or the pixels).",
    on: "Always removes JPEG artifacts, at the quality the file or its pixels say.",
    off: "JPEG artifacts are left as they are.",
  }[jpeg];
}

// ---------------------------------------------------------------- running a job

async function runJob(event) {
  event.preventDefault();
  if (!state.file) return;
  hideError();
  $("result").hidden = true;
  $("run").disabled = true;
  $("progress").hidden = false;
  $("preview").classList.add("busy");
  setProgress(0, "Uploading…");
  const form = readOptions();
  form.append("image", state.file, state.file.name);
  try {
    const job = await upload(form);
    state.busyRetries = 0;
    await follow(job);
  } catch (error) {
    if (error.retryAfter && state.busyRetries < MAX_BUSY_RETRIES) {
      state.busyRetries += 1;
      setProgress(0, `The server is busy; retrying in ${error.retryAfter} s…`);
      setTimeout(() => runJob(event), error.retryAfter * 1000);
      return;
    }
    state.busyRetries = 0;
    failed(error.message);
  }
}

function upload(form) {
  // XMLHttpRequest rather than fetch: it reports upload progress.
  return new Promise((resolve, reject) => {
    const request = new XMLHttpRequest();
    request.open("POST", "/v1/jobs");
    request.responseType = "json";
    request.upload.onprogress = (e) => {
      if (e.lengthComputable) setProgress(0.1 * e.loaded / e.total, `Uploading… ${formatBytes(e.loaded)}`);
    };
    request.onload = () => {
      const body = request.response || {};
      if (request.status === 202) return resolve(body);
      const error = new Error(body.error || `The server answered ${request.status}.`);
      if (request.status === 503) error.retryAfter = Number(request.getResponseHeader("Retry-After")) || 5;
      reject(error);
    };
    request.onerror = () => reject(new Error("The upload failed; is the server still running?"));
    request.send(form);
  });
}

async function follow(job) {
  state.job = job;
  for (;;) {
    if (job.status === "done") return showResult(job);
    if (job.status === "failed") return failed(job.error);
    const label = job.status === "queued"
      ? (job.queue_position ? `Waiting: ${job.queue_position} photo(s) ahead` : "Waiting for a free worker")
      : capitalise(job.stage);
    setProgress(0.1 + 0.9 * job.progress, label);
    await sleep(POLL_MS);
    job = await getJson(job.links.self);
    state.job = job;
  }
}

function setProgress(fraction, label) {
  const percent = Math.round(100 * Math.min(1, Math.max(0, fraction)));
  $("bar-fill").style.width = `${percent}%`;
  $("percent").textContent = `${percent}%`;
  $("stage").textContent = label;
}

function failed(message) {
  $("progress").hidden = true;
  $("preview").classList.remove("busy");
  $("run").disabled = !state.file;
  showError(message || "Something went wrong.");
}

async function showResult(job) {
  setProgress(1, "Done");
  const result = job.result;
  $("steps").replaceChildren(...(job.steps.length ? job.steps : ["nothing to do: the photo is clean"]).map((text) => {
    const item = document.createElement("li");
    item.textContent = text;
    return item;
  }));
  $("result-info").textContent = `${result.name} · ${result.format.toUpperCase()} · ${result.width} × ${result.height} · ` +
    `${formatBytes(result.bytes)} · took ${job.seconds.toFixed(1)} s`;
  const link = $("download");
  link.href = job.links.download;
  link.download = result.name;
  link.textContent = "Download";
  link.title = result.name;
  await compare.show(job.links.before, job.links.after);
  $("preview").hidden = true;
  $("preview").classList.remove("busy");
  $("progress").hidden = true;
  $("result").hidden = false;
  $("run").disabled = false;
  $("result").scrollIntoView({ block: "nearest", behavior: "smooth" });
}

function resetResult() {
  hideError();
  $("result").hidden = true;
  $("progress").hidden = true;
  $("compare-wrap").hidden = true;
  $("preview").classList.remove("busy");
  if (state.job && (state.job.status === "done" || state.job.status === "failed")) {
    fetch(state.job.links.self, { method: "DELETE" }).catch(() => {});
  }
  state.job = null;
}

function startOver() {
  resetResult();
  state.file = null;
  $("file-input").value = "";
  $("preview").hidden = true;
  $("dropzone").hidden = false;
  $("raw-group").hidden = true;
  $("run").disabled = true;
  $("file-info").textContent = "No photo yet. You can also drop one on the page.";
}

function showError(message) { $("error").textContent = message; $("error").hidden = false; }
function hideError() { $("error").hidden = true; }
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const capitalise = (text) => (text ? text[0].toUpperCase() + text.slice(1) : "");

// ---------------------------------------------------------------- before/after comparison with zoom

const compare = (() => {
  const box = $("compare");
  const before = $("before-img");
  const after = $("after-img");
  const beforeLayer = $("before-layer");
  const divider = $("divider");
  const view = { width: 0, height: 0, zoom: 1, x: 0, y: 0, split: 0.5, natural: 1 };
  const MAX_ZOOM = 16;

  function load(img, url) {
    return new Promise((resolve, reject) => {
      img.onload = () => resolve();
      img.onerror = () => reject(new Error("The result image could not be shown."));
      img.src = url;
    });
  }

  async function show(beforeUrl, afterUrl) {
    await Promise.all([load(before, beforeUrl), load(after, afterUrl)]);
    $("compare-wrap").hidden = false;
    view.zoom = 1; view.x = 0; view.y = 0; view.split = 0.5;
    layout();
  }

  function layout() {
    if ($("compare-wrap").hidden) return;
    const area = $("stage-area");
    const style = getComputedStyle(area);
    const toolbar = document.querySelector("#compare-wrap .toolbar").offsetHeight + 10;
    const maxWidth = area.clientWidth - parseFloat(style.paddingLeft) - parseFloat(style.paddingRight);
    const stageHeight = area.clientHeight - parseFloat(style.paddingTop) - parseFloat(style.paddingBottom) - toolbar;
    const maxHeight = Math.max(240, window.innerWidth > 820 ? stageHeight : window.innerHeight * 0.74);
    const ratio = after.naturalWidth / after.naturalHeight;
    let width = maxWidth;
    let height = width / ratio;
    if (height > maxHeight) { height = maxHeight; width = height * ratio; }
    view.width = Math.round(width);
    view.height = Math.round(height);
    view.natural = after.naturalWidth / view.width;  // result pixels per screen pixel at "fit"
    box.style.width = `${view.width}px`;
    box.style.height = `${view.height}px`;
    for (const img of [before, after]) {
      img.style.width = `${view.width}px`;
      img.style.height = `${view.height}px`;
    }
    render();
  }

  function clampPan() {
    view.x = Math.min(0, Math.max(view.width - view.width * view.zoom, view.x));
    view.y = Math.min(0, Math.max(view.height - view.height * view.zoom, view.y));
  }

  function render() {
    clampPan();
    const transform = `translate(${view.x}px, ${view.y}px) scale(${view.zoom})`;
    before.style.transform = transform;
    after.style.transform = transform;
    const splitX = view.split * view.width;
    beforeLayer.style.clipPath = `inset(0 ${view.width - splitX}px 0 0)`;
    divider.style.left = `${splitX}px`;
    divider.setAttribute("aria-valuenow", String(Math.round(view.split * 100)));
    const shownScale = view.zoom / view.natural;  // screen pixels per result pixel
    $("zoom-level").textContent = `${Math.round(shownScale * 100)}%`;
    $("zoom-level").title = "Screen pixels per pixel of the result";
    box.classList.toggle("zoomed", view.zoom > 1);
    box.classList.toggle("pixels", shownScale >= 3);
  }

  function zoomAt(factor, cx = view.width / 2, cy = view.height / 2) {
    const zoom = Math.min(MAX_ZOOM, Math.max(1, view.zoom * factor));
    const ratio = zoom / view.zoom;
    view.x = cx - (cx - view.x) * ratio;
    view.y = cy - (cy - view.y) * ratio;
    view.zoom = zoom;
    render();
  }

  function setSplit(clientX) {
    const rect = box.getBoundingClientRect();
    view.split = Math.min(1, Math.max(0, (clientX - rect.left) / rect.width));
    render();
  }

  let drag = null;
  box.addEventListener("pointerdown", (e) => {
    const onDivider = e.target === divider || divider.contains(e.target);
    if (!onDivider && view.zoom === 1) { setSplit(e.clientX); }
    drag = { mode: onDivider || view.zoom === 1 ? "split" : "pan", x: e.clientX, y: e.clientY, ox: view.x, oy: view.y };
    box.setPointerCapture(e.pointerId);
    box.classList.toggle("panning", drag.mode === "pan");
  });
  box.addEventListener("pointermove", (e) => {
    if (!drag) return;
    if (drag.mode === "split") setSplit(e.clientX);
    else { view.x = drag.ox + e.clientX - drag.x; view.y = drag.oy + e.clientY - drag.y; render(); }
  });
  const endDrag = () => { drag = null; box.classList.remove("panning"); };
  box.addEventListener("pointerup", endDrag);
  box.addEventListener("pointercancel", endDrag);
  box.addEventListener("wheel", (e) => {
    e.preventDefault();
    const rect = box.getBoundingClientRect();
    zoomAt(e.deltaY < 0 ? 1.25 : 0.8, e.clientX - rect.left, e.clientY - rect.top);
  }, { passive: false });
  box.addEventListener("dblclick", (e) => {
    const rect = box.getBoundingClientRect();
    if (view.zoom > 1) { view.zoom = 1; render(); } else zoomAt(2, e.clientX - rect.left, e.clientY - rect.top);
  });
  divider.addEventListener("keydown", (e) => {
    const step = e.shiftKey ? 0.1 : 0.02;
    if (e.key === "ArrowLeft") view.split = Math.max(0, view.split - step);
    else if (e.key === "ArrowRight") view.split = Math.min(1, view.split + step);
    else return;
    e.preventDefault();
    render();
  });
  $("zoom-in").addEventListener("click", () => zoomAt(1.5));
  $("zoom-out").addEventListener("click", () => zoomAt(1 / 1.5));
  $("zoom-fit").addEventListener("click", () => { view.zoom = 1; render(); });
  window.addEventListener("resize", layout);

  return { show, view, zoomAt };
})();

// ---------------------------------------------------------------- wiring

$("file-input").addEventListener("change", (e) => chooseFile(e.target.files[0]));
$("options").addEventListener("submit", runJob);
$("options").addEventListener("change", updateOptionHints);
$("sigma").addEventListener("input", updateOptionHints);
$("method").addEventListener("change", updateOptionHints);
for (const id of ["strength-all", "strength-luma", "strength-color", "jpeg-strength"]) $(id).addEventListener("input", updateOptionHints);
$("again").addEventListener("click", startOver);

let dragDepth = 0;
window.addEventListener("dragenter", (e) => { e.preventDefault(); dragDepth += 1; document.body.classList.add("dragging"); });
window.addEventListener("dragleave", () => { dragDepth -= 1; if (dragDepth <= 0) document.body.classList.remove("dragging"); });
window.addEventListener("dragover", (e) => e.preventDefault());
window.addEventListener("drop", (e) => {
  e.preventDefault();
  dragDepth = 0;
  document.body.classList.remove("dragging");
  if (e.dataTransfer.files.length) chooseFile(e.dataTransfer.files[0]);
});

updateOptionHints();
loadCatalog();
