// The assistant's answers as they are written: a bubble per stream in the open chat, filled by
// `message.delta` events (only the new text each time), with a Stop button for the person who
// asked. The stored answer then arrives as an ordinary `message.created` (placed by timeline.js
// before the bubble, which goes away on `assistant.finished`). A tab opened mid-stream starts its
// bubble at the first delta it hears.
import * as socket from "./socket.js";
import { toast } from "./util.js";

let myId = 0;
let chat = null;
let list = null;
let convId = null;

function bubble(stream) { return list ? list.querySelector(`li[data-stream="${CSS.escape(stream)}"]`) : null; }
function nearBottom() { return list.scrollHeight - list.scrollTop - list.clientHeight < 160; }

function open(e, name) {
  if (!list || e.conversation !== convId) return null;
  const existing = bubble(e.stream);
  if (existing) return existing;
  const li = document.createElement("li");
  li.className = "msg msg-text msg-streaming";
  li.dataset.stream = e.stream;
  li.dataset.created = new Date().toISOString();
  li.setAttribute("aria-busy", "true"); // read out once stored, not word by word
  const box = document.createElement("div");
  box.className = "msg-bubble";
  const meta = document.createElement("p");
  meta.className = "msg-meta";
  const sender = document.createElement("span");
  sender.className = "msg-sender";
  sender.textContent = name || chat.dataset.assistantName || "Assistant";
  const state = document.createElement("span");
  state.className = "msg-streaming-state muted";
  state.textContent = " is writing…";
  meta.append(sender, state);
  const body = document.createElement("div");
  body.className = "msg-body msg-body-plain";
  box.append(meta, body);
  if (e.asker_id === myId) {
    const stop = document.createElement("button");
    stop.type = "button";
    stop.className = "button button-secondary msg-stop";
    stop.textContent = "Stop";
    stop.setAttribute("aria-label", "Stop the answer");
    stop.addEventListener("click", () => {
      if (socket.send({ type: "assistant.stop", conversation: convId, stream: e.stream })) {
        stop.disabled = true;
        state.textContent = " is stopping…";
      }
    });
    box.append(stop);
  }
  li.append(box);
  const stick = nearBottom();
  list.append(li);
  document.getElementById("empty-chat")?.setAttribute("hidden", "");
  if (stick) list.scrollTop = list.scrollHeight;
  return li;
}

function started(e) { open(e, e.name); }

function delta(e) {
  const li = open(e);
  if (!li) return;
  const stick = nearBottom();
  li.querySelector(".msg-body").textContent += e.text;
  if (stick) list.scrollTop = list.scrollHeight;
}

function finished(e) {
  const li = e.stream ? bubble(e.stream) : null;
  li?.remove();
  if (e.status !== "failed") return;
  // In the assistant chat the failure is stored as a line (a message.created before this event);
  // elsewhere only the asker's tabs and the members who saw the bubble hear it, once.
  if (e.conversation !== convId) { toast(e.error); return; }
  if (chat.dataset.kind === "assistant") return;
  const line = document.createElement("li");
  line.className = "msg msg-system assistant-error";
  const text = document.createElement("p");
  text.className = "msg-system";
  text.setAttribute("role", "alert");
  text.textContent = e.error;
  line.append(text);
  list.append(line);
  list.scrollTop = list.scrollHeight;
}

export function init(options) {
  myId = options.userId;
  chat = document.getElementById("chat");
  list = document.getElementById("messages");
  convId = chat ? Number(chat.dataset.conversationId) : null;
  socket.on("assistant.started", started);
  socket.on("message.delta", delta);
  socket.on("assistant.finished", finished);
}
