// The message box of the open chat: sending (through the outbox, or over HTTP while the socket is
// down), drafts, replies, @mentions, emoji, and "is typing" frames. Files (attachments.js) are
// uploaded first; the message claims them by id in the same send, with the text as its caption.
import * as socket from "./socket.js";
import * as attachments from "./attachments.js";
import { newClientId, readJson } from "./util.js";

let myId = 0;
let chat = null;
let form = null;
let input = null;
let convId = null;
let draftKey = null;
let lastTypingSent = 0;
let members = [];
let hooks = { addPending() {}, insertStored() {}, sendFailed() {}, describe: () => ({ who: "message", what: "" }) };

// ---------------------------------------------------------------- sending

function sendOverHttp(item) {
  // The same service as the socket (the endpoint htmx forms use); the reply is the stored message.
  const data = new FormData();
  data.append("csrfmiddlewaretoken", form.csrfmiddlewaretoken.value);
  data.append("body", item.body);
  data.append("client_id", item.client_id);
  data.append("reply_to", item.reply_to || "");
  for (const id of item.attachments || []) data.append("attachments", id);
  fetch(chat.dataset.sendUrl, { method: "POST", body: data, headers: { "HX-Request": "true" } })
    .then(async (response) => {
      const text = await response.text();
      if (response.ok) hooks.insertStored(text, item.client_id);
      else if (response.status < 500) { socket.outbox.drop(item.client_id); hooks.sendFailed(item.client_id, text); }
    })
    .catch(() => {}); // offline: the send stays in the outbox until the socket is back
}

function submit(event) {
  event.preventDefault();
  const error = document.getElementById("composer-error");
  const text = input.value.trim();
  const max = Number(chat.dataset.maxLength || 4000);
  error.textContent = "";
  if (attachments.busy()) { error.textContent = "Wait for the files to finish uploading, or remove them."; return; }
  if (attachments.failed()) { error.textContent = "A file could not be uploaded: retry it or remove it."; return; }
  const files = attachments.readyIds();
  if (!text && !files.length) { error.textContent = "Write something first."; return; }
  if (text.length > max) {
    error.textContent = `A message can be at most ${max.toLocaleString()} characters long (this one has ${text.length.toLocaleString()}).`;
    return;
  }
  const item = { client_id: newClientId(), conversation: convId, body: text, reply_to: Number(form.reply_to.value) || null };
  if (files.length) item.attachments = files;
  dispatch(item);
  attachments.clear();
  input.value = "";
  autoGrow();
  localStorage.removeItem(draftKey);
  setReply(null);
  input.focus();
}

function dispatch(item) {
  hooks.addPending(item.attachments && !item.body ? { ...item, body: fileLabel(item.attachments.length) } : item);
  if (!socket.outbox.add(item)) sendOverHttp(item);
}

function fileLabel(count) { return count === 1 ? "📎 1 file" : `📎 ${count} files`; }

// A voice note finished uploading: it goes at once, on its own (the text box keeps its draft).
function sendVoiceNote(entry) {
  dispatch({ client_id: newClientId(), conversation: convId, body: "", reply_to: null, attachments: [entry.id] });
  attachments.clear(entry);
}

// A send the server refused (error frame): say why under the box.
export function sendRefused(e) {
  const error = document.getElementById("composer-error");
  if (error && e.for === "message.send") error.textContent = e.error;
}

// ---------------------------------------------------------------- replies

function autoGrow() {
  input.style.height = "auto";
  input.style.height = Math.min(input.scrollHeight, 200) + "px";
}

function setReply(messageId) {
  const box = document.getElementById("composer-reply");
  form.reply_to.value = messageId || "";
  if (!messageId) { box.hidden = true; return; }
  const { who, what } = hooks.describe(messageId);
  document.getElementById("composer-reply-text").textContent = `Replying to ${who}: ${what}`;
  box.hidden = false;
  input.focus();
}

// ---------------------------------------------------------------- @mentions
// A listbox under the caret's word, driven from the keyboard or the mouse.

let mentionList = null;
let mentionChoices = [];
let mentionActive = 0;

function mentionQuery() {
  const before = input.value.slice(0, input.selectionStart);
  const match = /(^|[\s(])@([\w.+-]*)$/.exec(before);
  return match ? match[2].toLowerCase() : null;
}

function closeMentions() {
  mentionList.hidden = true;
  mentionChoices = [];
  input.removeAttribute("aria-activedescendant");
}

function renderMentions() {
  mentionList.replaceChildren();
  mentionChoices.forEach((choice, index) => {
    const option = document.createElement("li");
    option.id = "mention-option-" + index;
    option.setAttribute("role", "option");
    option.setAttribute("aria-selected", String(index === mentionActive));
    option.textContent = choice.username === "all" ? "@all (everyone here)" : `${choice.name} @${choice.username}`;
    option.addEventListener("mousedown", (event) => { event.preventDefault(); chooseMention(index); });
    mentionList.append(option);
  });
  mentionList.hidden = mentionChoices.length === 0;
  if (!mentionList.hidden) input.setAttribute("aria-activedescendant", "mention-option-" + mentionActive);
}

function updateMentions() {
  const query = mentionQuery();
  if (query === null || !members.length) { closeMentions(); return; }
  const everyone = { username: "all", name: "everyone" };
  mentionChoices = members.filter((m) => m.id !== myId)
    .concat([everyone])
    .filter((m) => m.username.toLowerCase().startsWith(query) || m.name.toLowerCase().split(" ").some((w) => w.startsWith(query)))
    .slice(0, 8);
  mentionActive = 0;
  renderMentions();
}

function chooseMention(index) {
  const choice = mentionChoices[index];
  if (!choice) return;
  const at = input.selectionStart;
  const before = input.value.slice(0, at).replace(/@([\w.+-]*)$/, "@" + choice.username + " ");
  input.value = before + input.value.slice(at);
  input.setSelectionRange(before.length, before.length);
  closeMentions();
  input.dispatchEvent(new Event("input"));
}

// The group's members changed (members.changed): the choices follow.
export function membersChanged(e) {
  if (chat && e.conversation === convId) members = e.members.map(({ id, username, name }) => ({ id, username, name }));
}

// ---------------------------------------------------------------- start

function onKeydown(event) {
  if (!mentionList.hidden && mentionChoices.length) {
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      const step = event.key === "ArrowDown" ? 1 : -1;
      mentionActive = (mentionActive + step + mentionChoices.length) % mentionChoices.length;
      renderMentions();
      return;
    }
    if (event.key === "Enter" || event.key === "Tab") { event.preventDefault(); chooseMention(mentionActive); return; }
    if (event.key === "Escape") { event.preventDefault(); closeMentions(); return; }
  }
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    form.requestSubmit();
  }
}

function onInput() {
  autoGrow();
  updateMentions();
  if (input.value) localStorage.setItem(draftKey, input.value); else localStorage.removeItem(draftKey);
  if (Date.now() - lastTypingSent > 3000 && input.value.trim()) {
    lastTypingSent = Date.now();
    socket.send({ type: "typing", conversation: convId });
  }
}

function onClick(event) {
  const reply = event.target.closest("[data-reply]");
  if (reply) { setReply(reply.dataset.reply); return; }
  if (event.target.closest("[data-cancel-reply]")) { setReply(null); return; }
  const emoji = event.target.closest("[data-emoji]");
  if (emoji) {
    const at = input.selectionStart ?? input.value.length;
    input.value = input.value.slice(0, at) + emoji.dataset.emoji + input.value.slice(input.selectionEnd ?? at);
    input.dispatchEvent(new Event("input"));
    emoji.closest("details")?.removeAttribute("open");
    input.focus();
  }
}

export function init(options) {
  myId = options.userId;
  hooks = { ...hooks, ...options.hooks };
  chat = document.getElementById("chat");
  form = document.getElementById("composer");
  if (!chat || !form) return;
  input = form.querySelector("textarea[name=body]");
  mentionList = document.getElementById("mention-list");
  convId = Number(chat.dataset.conversationId);
  draftKey = "chat-draft-" + myId + "-" + convId;
  members = readJson("chat-members") || [];
  form.addEventListener("submit", submit);
  attachments.init({ hooks: { sendNow: sendVoiceNote } });
  input.addEventListener("keydown", onKeydown);
  input.addEventListener("input", onInput);
  chat.addEventListener("click", onClick);
  input.value = localStorage.getItem(draftKey) || "";
  autoGrow();
}
