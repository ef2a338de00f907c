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

function moveToTop(entry) {
  const listEl = listElement();
  if (!listEl) return;
  if (entry.dataset.pinned === "1") { listEl.prepend(entry); return; }
  const pinned = Array.from(listEl.querySelectorAll(':scope > li[data-pinned="1"]')).filter((e) => e !== entry);
  if (pinned.length) pinned[pinned.length - 1].after(entry); else listEl.prepend(entry);
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
  const preview = entry.querySelector(".entry-preview");
  const isGroup = entry.dataset.kind === "group";
  preview.textContent = (mine ? "You: " : (isGroup && event.sender_name ? event.sender_name + ": " : "")) + event.preview;
  entry.dataset.lastSeq = String(event.seq);
  const time = entry.querySelector("time");
  if (time) { time.setAttribute("datetime", event.created_at); time.textContent = shortWhen(event.created_at); }
  if (!mine && !reading) setUnread(event.conversation, Number(entry.dataset.unread || 0) + 1);
  moveToTop(entry);
}

export function messageUpdated(e) {
  const entry = entryFor(e.conversation);
  if (entry && entry.dataset.lastSeq === String(e.seq)) entry.querySelector(".entry-preview").textContent = e.preview;
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
