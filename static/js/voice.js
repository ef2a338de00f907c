// Voice notes: record with MediaRecorder (a timer while recording), listen to it, then send or
// cancel. A sent note is an upload like any file (attachments.js) with its measured duration: a
// recording's WebM header has none, and the player shows it.
import * as attachments from "./attachments.js";

let recorder = null;
let chunks = [];
let startedAt = 0;
let durationMs = 0;
let timer = null;
let recording = null; // the finished Blob
let stream = null;

const $ = (id) => document.getElementById(id);

function clock(ms, live = false) {
  const seconds = live ? Math.floor(ms / 1000) : Math.round(ms / 1000);
  return `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, "0")}`;
}

function show(state) {
  const box = $("voice-recorder");
  box.hidden = state === "idle";
  box.dataset.state = state;
  $("voice-state").textContent = state === "recording" ? "Recording…" : state === "recorded" ? "Voice note ready" : "";
  $("voice-stop").hidden = state !== "recording";
  $("voice-send").hidden = state !== "recorded";
  $("voice-preview").hidden = state !== "recorded";
  $("composer-record").setAttribute("aria-pressed", String(state === "recording"));
}

function release() {
  clearInterval(timer);
  if (stream) stream.getTracks().forEach((track) => track.stop());
  stream = null;
}

async function startRecording() {
  const error = $("composer-error");
  error.textContent = "";
  if (!navigator.mediaDevices?.getUserMedia || !window.MediaRecorder) {
    error.textContent = "This browser cannot record voice notes.";
    return;
  }
  try {
    stream = await navigator.mediaDevices.getUserMedia({ audio: true });
  } catch (e) {
    error.textContent = "The microphone is not available: allow it in the browser to record a voice note.";
    return;
  }
  const type = ["audio/webm;codecs=opus", "audio/ogg;codecs=opus", "audio/webm"].find((t) => MediaRecorder.isTypeSupported(t)) || "";
  recorder = new MediaRecorder(stream, type ? { mimeType: type } : {});
  chunks = [];
  recorder.addEventListener("dataavailable", (event) => { if (event.data.size) chunks.push(event.data); });
  recorder.addEventListener("stop", () => {
    durationMs = Date.now() - startedAt;
    release();
    if (!recorder) return; // cancelled
    recording = new Blob(chunks, { type: recorder.mimeType || "audio/webm" });
    const preview = $("voice-preview");
    if (preview.src) URL.revokeObjectURL(preview.src);
    preview.src = URL.createObjectURL(recording);
    $("voice-timer").textContent = clock(durationMs);
    show("recorded");
  });
  startedAt = Date.now();
  recorder.start(250);
  $("voice-timer").textContent = "0:00";
  timer = setInterval(() => { $("voice-timer").textContent = clock(Date.now() - startedAt, true); }, 250);
  show("recording");
}

function stopRecording() { if (recorder && recorder.state === "recording") recorder.stop(); }

function cancel() {
  const active = recorder;
  recorder = null;
  if (active && active.state === "recording") active.stop();
  release();
  recording = null;
  show("idle");
}

function send() {
  if (!recording) return;
  const extension = recording.type.includes("ogg") ? "ogg" : "webm";
  const file = new File([recording], `voice-note-${new Date().toISOString().replace(/[:.]/g, "-")}.${extension}`,
    { type: recording.type.split(";")[0] });
  attachments.addFiles([file], { durationMs: Math.max(durationMs, 1), autoSend: true });
  recording = null;
  recorder = null;
  show("idle");
}

export function init() {
  const button = $("composer-record");
  if (!button) return;
  button.addEventListener("click", () => (recorder && recorder.state === "recording" ? stopRecording() : startRecording()));
  $("voice-stop").addEventListener("click", stopRecording);
  $("voice-cancel").addEventListener("click", cancel);
  $("voice-send").addEventListener("click", send);
  show("idle");
}
