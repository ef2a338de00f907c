// The list of chats: previews, times, unread badges, order (pinned first), and the invitations badge.
import { htmlToElement, localiseTimes, shortWhen, toast, urlFor } from "./util.js";

let myId = 0;
let entryUrl = "";
let activeConversation = null;

function entryFor(conversation) { return document.getElementById("conv-" + conversation); }
function listElement() { return document.getElementById("conversation-list"); }

export function isMuted(conversation) { return entryFor(conversation)?.dataset.muted === "1"; }

export function setUnread(conversation, count) {
  const entry = entryFor(conversation);
  if (!entry) return;
  entry.dataset.unread = String(count);
  entry.classList.toggle("has-unread", count > 0);
  const badge = entry.querySelector("[data-unread-badge]");
  badge.hidden = count <= 0;
  badge.querySelector("[data-unread-count]").textContent = String(count);
}

// The server's order (selectors.list_conversations): pinned first, then the latest activity, then
// the newest chat. Every entry that changes goes to its place by that order, so a live list reads
// as a fetched one: a pin from another tab, a chat that just began, a new message.
function sortKey(entry) {
  return [entry.dataset.pinned === "1" ? 1 : 0, Date.parse(entry.dataset.lastActivity || "") || 0,
    Number(entry.dataset.conversationId || 0)];
}

function comesBefore(a, b) {
  const x = sortKey(a), y = sortKey(b);
  for (let i = 0; i < x.length; i += 1) if (x[i] !== y[i]) return x[i] > y[i];
  return false;
}

function placeEntry(entry) {
  const listEl = listElement();
  if (!listEl) return;
  const others = Array.from(listEl.querySelectorAll(":scope > li.conversation-entry")).filter((e) => e !== entry);
  const next = others.find((other) => comesBefore(entry, other));
  if (next) next.before(entry);
  else if (others.length) others[others.length - 1].after(entry);
  else listEl.prepend(entry);
}

// What the server writes before a chat's last message (messaging.html.render_conversation_entry):
// "You: " for one's own, the sender's short name in a group, nothing in a direct chat.
function previewText(entry, e) {
  const who = e.sender_id === myId ? "You: "
    : (entry.dataset.kind !== "direct" && e.sender_name ? e.sender_name + ": " : "");
  return who + e.preview;
}

async function refreshEntry(conversation) {
  const listEl = listElement();
  if (!listEl || !entryUrl) return null;
  const response = await fetch(urlFor(entryUrl, conversation), { headers: { "HX-Request": "true" } });
  if (!response.ok) return null;
  const fresh = htmlToElement(await response.text());
  if (!fresh || !listElement()) return null;
  listElement().querySelector("[data-empty-list]")?.remove();
  const old = entryFor(conversation);
  if (old) old.replaceWith(fresh); else listElement().prepend(fresh);
  placeEntry(fresh);
  if (conversation === activeConversation) fresh.querySelector("a")?.setAttribute("aria-current", "page");
  htmx.process(fresh);
  localiseTimes(fresh);
  return fresh;
}

// reading: the chat is open and visible here, so the message is read as it arrives.
export function messageCreated(event, { reading }) {
  const entry = entryFor(event.conversation);
  if (!entry) { refreshEntry(event.conversation); return; }
  // An entry fetched after this message was stored already counts it: count each message once.
  if (event.seq <= Number(entry.dataset.lastSeq || 0)) return;
  const mine = event.sender_id === myId;
  entry.querySelector(".entry-preview").textContent = previewText(entry, event);
  entry.dataset.lastSeq = String(event.seq);
  entry.dataset.lastActivity = event.created_at;
  const time = entry.querySelector("time");
  if (time) { time.setAttribute("datetime", event.created_at); time.textContent = shortWhen(event.created_at); }
  // Sending moves one's own read position to the message (from any tab or device, without a
  // conversation.changed): what was unread before it is read now.
  if (mine) setUnread(event.conversation, 0);
  else if (!reading) setUnread(event.conversation, Number(entry.dataset.unread || 0) + 1);
  placeEntry(entry);
}

// An edit, a delete or a reaction: the last message's preview, with the same "You: " / "Name: ".
export function messageUpdated(e) {
  const entry = entryFor(e.conversation);
  if (entry && entry.dataset.lastSeq === String(e.seq)) entry.querySelector(".entry-preview").textContent = previewText(entry, e);
}

export function conversationChanged(e) {
  const entry = entryFor(e.conversation);
  if (entry && ((entry.dataset.pinned === "1") !== e.pinned || (entry.dataset.muted === "1") !== e.muted)) {
    refreshEntry(e.conversation);
  } else {
    setUnread(e.conversation, e.unread);
  }
}

export function conversationJoined(e) { refreshEntry(e.conversation); }
export function groupChanged(e) { refreshEntry(e.conversation); }
export function conversationLeft(e) { entryFor(e.conversation)?.remove(); }

export function invitationChanged(e) {
  const badge = document.getElementById("invitation-badge");
  if (badge) { badge.textContent = String(e.pending); badge.hidden = e.pending <= 0; }
  const listEl = document.getElementById("invitation-list");
  if (e.status === "pending") {
    toast(`${e.inviter_name} invited you to the group “${e.title}”.`);
    if (listEl && e.html && !document.getElementById("invitation-" + e.id)) {
      const item = htmlToElement(e.html);
      listEl.prepend(item);
      htmx.process(item);
    }
  } else {
    document.getElementById("invitation-" + e.id)?.remove();
  }
  document.getElementById("no-invitations")?.toggleAttribute("hidden", Boolean(listEl && listEl.children.length));
}

// After a reconnect the whole list is fetched again: previews, counts and chats that began meanwhile.
export function socketReady({ first }) {
  if (!first) htmx.trigger(document.body, "chat:refresh-list");
}

export function init(options) {
  myId = options.userId;
  entryUrl = options.urls.entry || "";
  activeConversation = options.activeConversation;
  localiseTimes();
  document.body.addEventListener("htmx:afterSettle", (event) => localiseTimes(event.target));
}
