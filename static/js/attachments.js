// Files in the composer: the attach button, drag and drop onto the chat, pasted images, and the
// tray of uploads (a progress bar each, cancel, retry). Each file is uploaded as soon as it is
// chosen; the message then claims the uploads by id when it is sent (composer.js), so a resent
// message never uploads twice. With S3 the browser posts straight to the bucket (a presigned POST)
// and the server checks the object; otherwise the file streams through the server.
//
// Limits are checked here first, from the form's data-* attributes (size per file, files per
// message, storage left), and again by the server, whose refusal is shown on the file's row.

let form = null;
let tray = null;
let errorBox = null;
let entries = [];
let hooks = { changed() {}, sendNow() {} };

const MB = 1024 * 1024;

function sizeLabel(bytes) {
  if (bytes >= MB) return `${(bytes / MB).toFixed(bytes >= 10 * MB ? 0 : 1)} MB`;
  if (bytes >= 1024) return `${Math.round(bytes / 1024)} KB`;
  return `${bytes} bytes`;
}

function limits() {
  const data = form.dataset;
  return {
    maxBytes: Number(data.uploadMaxBytes || 25 * MB),
    maxFiles: Number(data.uploadMaxFiles || 10),
    quotaLeft: Number(data.uploadQuotaLeft || Infinity),
  };
}

function say(text) { errorBox.textContent = text; }

// ---------------------------------------------------------------- the tray

function render(entry) {
  const li = entry.li;
  li.dataset.status = entry.status;
  entry.progress.value = entry.status === "ready" ? 1 : entry.loaded;
  entry.note.textContent = entry.status === "ready" ? "Ready" : entry.status === "failed" ? entry.error
    : entry.status === "checking" ? "Checking…" : `${Math.round(entry.loaded * 100)}%`;
  entry.note.classList.toggle("field-error", entry.status === "failed");
  entry.retry.hidden = entry.status !== "failed";
  tray.hidden = entries.length === 0;
  hooks.changed();
}

function addEntry(file, options) {
  const li = document.createElement("li");
  li.className = "composer-file";
  const name = document.createElement("span");
  name.className = "composer-file-name";
  name.textContent = `${file.name} (${sizeLabel(file.size)})`;
  const progress = document.createElement("progress");
  progress.max = 1;
  progress.value = 0;
  progress.setAttribute("aria-label", `Uploading ${file.name}`);
  const note = document.createElement("span");
  note.className = "composer-file-note muted";
  note.setAttribute("aria-live", "polite");
  const retry = document.createElement("button");
  retry.type = "button";
  retry.className = "link-button";
  retry.textContent = "Retry";
  retry.setAttribute("aria-label", `Retry uploading ${file.name}`);
  const cancel = document.createElement("button");
  cancel.type = "button";
  cancel.className = "link-button";
  cancel.textContent = "Remove";
  cancel.setAttribute("aria-label", `Remove ${file.name}`);
  li.append(name, progress, note, retry, cancel);
  tray.append(li);
  const entry = { file, li, progress, note, retry, status: "uploading", loaded: 0, id: null, xhr: null, error: "", ...options };
  retry.addEventListener("click", () => start(entry));
  cancel.addEventListener("click", () => remove(entry));
  entries.push(entry);
  start(entry);
  return entry;
}

function remove(entry) {
  if (entry.xhr) entry.xhr.abort();
  if (entry.id) post(form.dataset.uploadUrl + `${entry.id}/cancel/`, new FormData()).catch(() => {});
  entry.li.remove();
  entries = entries.filter((e) => e !== entry);
  render0();
}

function render0() { tray.hidden = entries.length === 0; hooks.changed(); }

// ---------------------------------------------------------------- uploading

function csrf() { return form.csrfmiddlewaretoken.value; }

function post(url, data) {
  data.append("csrfmiddlewaretoken", csrf());
  return fetch(url, { method: "POST", body: data, headers: { Accept: "application/json", "X-CSRFToken": csrf() } });
}

function serverSentence(xhrOrResponse, body) {
  try {
    const parsed = typeof body === "string" ? JSON.parse(body) : body;
    if (parsed && parsed.error && parsed.error.message) return parsed.error.message;
  } catch (e) { /* not JSON: an S3 error document, a proxy's page */ }
  if (xhrOrResponse.status === 413) return "That file is too large.";
  return "The upload failed. Check your connection and retry.";
}

// One XMLHttpRequest (fetch has no upload progress): resolves with the response text.
function send(entry, url, data, headers) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    entry.xhr = xhr;
    xhr.open("POST", url);
    for (const [name, value] of Object.entries(headers || {})) xhr.setRequestHeader(name, value);
    xhr.upload.addEventListener("progress", (event) => {
      if (!event.lengthComputable) return;
      entry.loaded = event.loaded / event.total;
      render(entry);
    });
    xhr.addEventListener("load", () => {
      entry.xhr = null;
      if (xhr.status >= 200 && xhr.status < 300) resolve(xhr.responseText);
      else reject(new Error(serverSentence(xhr, xhr.responseText)));
    });
    xhr.addEventListener("error", () => { entry.xhr = null; reject(new Error("The upload failed. Check your connection and retry.")); });
    xhr.addEventListener("abort", () => { entry.xhr = null; reject(new Error("")); });
    xhr.send(data);
  });
}

async function uploadThroughServer(entry) {
  const data = new FormData();
  data.append("csrfmiddlewaretoken", csrf());
  if (entry.durationMs) data.append("duration_ms", String(entry.durationMs));
  data.append("file", entry.file, entry.file.name);
  return JSON.parse(await send(entry, form.dataset.uploadUrl, data, { Accept: "application/json", "X-CSRFToken": csrf() }));
}

async function uploadToBucket(entry) {
  const ask = new FormData();
  ask.append("name", entry.file.name);
  ask.append("size", String(entry.file.size));
  ask.append("content_type", entry.file.type || "application/octet-stream");
  if (entry.durationMs) ask.append("duration_ms", String(entry.durationMs));
  const started = await post(form.dataset.uploadStartUrl, ask);
  const body = await started.json().catch(() => null);
  if (!started.ok) throw new Error(serverSentence(started, body));
  entry.id = body.id;
  const data = new FormData();
  for (const [name, value] of Object.entries(body.fields)) data.append(name, value);
  data.append("file", entry.file, entry.file.name); // the policy wants the file last
  await send(entry, body.url, data);
  entry.status = "checking";
  render(entry);
  const finished = await post(form.dataset.uploadUrl + `${body.id}/finish/`, new FormData());
  const result = await finished.json().catch(() => null);
  if (!finished.ok) { entry.id = null; throw new Error(serverSentence(finished, result)); }
  return result;
}

async function start(entry) {
  entry.status = "uploading";
  entry.loaded = 0;
  entry.error = "";
  render(entry);
  try {
    const result = await (form.dataset.uploadStartUrl ? uploadToBucket(entry) : uploadThroughServer(entry));
    entry.id = result.id;
    entry.status = "ready";
    render(entry);
    if (entry.autoSend) { hooks.sendNow(entry); }
  } catch (error) {
    if (!entries.includes(entry)) return; // removed while uploading
    entry.status = "failed";
    entry.error = error.message || "The upload was stopped.";
    render(entry);
  }
}

// ---------------------------------------------------------------- adding files

// Refusals the page can make before sending a byte.
export function addFiles(files, options = {}) {
  const { maxBytes, maxFiles, quotaLeft } = limits();
  const list = Array.from(files || []);
  if (!list.length) return [];
  say("");
  if (entries.length + list.length > maxFiles) {
    say(`A message may carry up to ${maxFiles} files.`);
    return [];
  }
  const added = [];
  let queued = entries.reduce((total, e) => total + e.file.size, 0);
  for (const file of list) {
    if (file.size > maxBytes) { say(`“${file.name}” is too large: files may be up to ${sizeLabel(maxBytes)}.`); continue; }
    if (file.size === 0) { say(`“${file.name}” is empty.`); continue; }
    if (queued + file.size > quotaLeft) {
      say(`Your storage is full: “${file.name}” needs ${sizeLabel(file.size)} and ${sizeLabel(Math.max(quotaLeft - queued, 0))} is left.`);
      continue;
    }
    queued += file.size;
    added.push(addEntry(file, options));
  }
  return added;
}

// (A voice note goes on its own when it is uploaded: it never holds up the message being written.)
export function busy() { return entries.some((e) => !e.autoSend && e.status !== "ready" && e.status !== "failed"); }
export function failed() { return entries.some((e) => !e.autoSend && e.status === "failed"); }
export function readyIds(only) { return (only ? [only] : entries.filter((e) => !e.autoSend)).filter((e) => e.status === "ready").map((e) => e.id); }

// The message that claimed them was sent: the tray empties (the uploads now belong to it).
export function clear(only) {
  for (const entry of only ? [only] : entries.filter((e) => !e.autoSend)) entry.li.remove();
  entries = entries.filter((e) => (only ? e !== only : e.autoSend));
  render0();
}

// ---------------------------------------------------------------- start

export function init(options) {
  form = document.getElementById("composer");
  const chat = document.getElementById("chat");
  if (!form || !form.dataset.uploadUrl) return false;
  hooks = { ...hooks, ...options.hooks };
  tray = document.getElementById("composer-files");
  errorBox = document.getElementById("composer-error");
  const input = document.getElementById("composer-file-input");
  document.getElementById("composer-attach").addEventListener("click", () => input.click());
  input.addEventListener("change", () => { addFiles(input.files); input.value = ""; });

  // Drag and drop anywhere on the chat.
  const hint = document.getElementById("drop-hint");
  let depth = 0;
  const hasFiles = (event) => Array.from(event.dataTransfer?.types || []).includes("Files");
  chat.addEventListener("dragenter", (event) => { if (!hasFiles(event)) return; depth += 1; hint.hidden = false; });
  chat.addEventListener("dragleave", () => { depth = Math.max(depth - 1, 0); if (!depth) hint.hidden = true; });
  chat.addEventListener("dragover", (event) => { if (hasFiles(event)) event.preventDefault(); });
  chat.addEventListener("drop", (event) => {
    if (!hasFiles(event)) return;
    event.preventDefault();
    depth = 0;
    hint.hidden = true;
    addFiles(event.dataTransfer.files);
  });
  // A pasted image (a screenshot) is attached; pasted text is left to the text box.
  form.querySelector("textarea[name=body]").addEventListener("paste", (event) => {
    const files = Array.from(event.clipboardData?.files || []);
    if (!files.length) return;
    event.preventDefault();
    addFiles(files.map((f) => (f.name && f.name !== "image.png") ? f
      : new File([f], `pasted-${new Date().toISOString().replace(/[:.]/g, "-")}.${(f.type.split("/")[1] || "png")}`, { type: f.type })));
  });
  return true;
}
