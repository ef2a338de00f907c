// The open chat's message list: placing live, resumed and pending messages by seq (each once),
// day dividers and sender runs, read and delivery receipts, and "Sent / Delivered / Seen" statuses.
import * as socket from "./socket.js";
import { htmlToElement, readJson, timeLabel, visible } from "./util.js";

let myId = 0;
let chat = null;
let list = null;
let convId = null;
let isDirect = false;
let lastSeq = 0; // the newest message in the list
// Every seq up to this one is in the list or does not exist: what the server rendered, and what
// each resume page covered. Live events may arrive out of order or not at all (the live push is
// best effort), so the list can have holes above it; a resume asks from the first hole.
let confirmed = 0;
let lastReadSent = 0;
let othersRead = 0;
let othersDelivered = 0;
let readSeqs = {}; // groups: every member's read watermark, for "Seen by N"
let joinedAt = {}; // groups: when each member joined (ms), for "Seen by N"
let onRead = () => {};
let stopFollowing = () => {};
const deliveredSent = {};

// ---------------------------------------------------------------- queries other modules may ask

export function openConversation() { return convId; }
export function isReading(conversation) { return Boolean(chat) && conversation === convId && visible(); }

// "Ana Lima", "Hello Bo…" for the composer's "Replying to" line.
export function describe(messageId) {
  const li = list && list.querySelector(`li.msg[data-id="${CSS.escape(String(messageId))}"]`);
  return {
    who: li?.querySelector(".msg-sender")?.textContent || "message",
    what: li?.querySelector(".msg-body")?.textContent.trim().slice(0, 80) || "",
  };
}

// ---------------------------------------------------------------- the list

function messageItems() { return list ? Array.from(list.querySelectorAll(":scope > li.msg")) : []; }
function pendingItem(clientId) {
  return clientId && list ? list.querySelector(`:scope > li.pending[data-client-id="${CSS.escape(clientId)}"]`) : null;
}
function heldSeqs() {
  const seqs = new Set();
  for (const li of messageItems()) if (!li.classList.contains("pending") && li.dataset.seq) seqs.add(Number(li.dataset.seq));
  return seqs;
}
function recomputeLastSeq() {
  lastSeq = Math.max(0, ...heldSeqs());
}
// The seq to resume after: the end of the unbroken run from `confirmed`.
function caughtUp() {
  const held = heldSeqs();
  let seq = confirmed;
  while (held.has(seq + 1)) seq += 1;
  return seq;
}
function behind() { return caughtUp() < lastSeq; }
function nearBottom() { return list.scrollHeight - list.scrollTop - list.clientHeight < 120; }
function scrollToBottom() { list.scrollTop = list.scrollHeight; }

function dayLabel(date) {
  const today = new Date();
  const yesterday = new Date(); yesterday.setDate(today.getDate() - 1);
  if (date.toDateString() === today.toDateString()) return "Today";
  if (date.toDateString() === yesterday.toDateString()) return "Yesterday";
  return date.toLocaleDateString([], { weekday: "long", day: "numeric", month: "long", year: "numeric" });
}

// Day dividers, sender runs, local times, my reactions: worked out in the browser so that the
// server renders each message once for everybody.
function decorate() {
  if (!list) return;
  list.querySelectorAll(":scope > li.day-divider").forEach((d) => d.remove());
  let previous = null;
  for (const li of messageItems()) {
    const created = new Date(li.dataset.created || Date.now());
    if (!previous || new Date(previous.dataset.created || Date.now()).toDateString() !== created.toDateString()) {
      const divider = document.createElement("li");
      // A plain item of the list: a list may hold only list items (role=separator is not one).
      divider.className = "day-divider";
      divider.textContent = dayLabel(created);
      // The day comes before the "New messages" line that may head this message.
      const unreadLine = li.previousElementSibling?.id === "unread-divider" ? li.previousElementSibling : null;
      (unreadLine || li).before(divider);
    }
    const sameRun = previous && previous.dataset.senderId && previous.dataset.senderId === li.dataset.senderId &&
      created - new Date(previous.dataset.created) < 5 * 60 * 1000 && !li.classList.contains("msg-system");
    li.classList.toggle("continued", Boolean(sameRun));
    decorateItem(li);
    previous = li;
  }
  applyStatuses();
  document.getElementById("empty-chat")?.toggleAttribute("hidden", messageItems().length > 0);
}

function decorateItem(li) {
  li.querySelectorAll("time[datetime]").forEach((t) => { t.textContent = timeLabel(t.getAttribute("datetime")); });
  li.querySelectorAll(".reaction[data-user-ids]").forEach((button) => {
    const mine = button.dataset.userIds.split(" ").includes(String(myId));
    button.setAttribute("aria-pressed", String(mine));
  });
}

function applyStatuses() {
  for (const li of messageItems()) {
    if (Number(li.dataset.senderId) !== myId) continue;
    const status = li.querySelector("[data-status]");
    if (!status) continue;
    const seq = Number(li.dataset.seq || 0);
    let text;
    if (li.classList.contains("failed")) text = "Not sent";
    else if (!seq) text = "Sending…";
    else if (isDirect && seq <= othersRead) text = "Seen";
    else if (isDirect && seq <= othersDelivered) text = "Delivered";
    else text = "Sent";
    if (status.textContent !== text) status.textContent = text;
    li.dataset.state = text.toLowerCase().replace("…", "");
    const seen = li.querySelector("[data-seen]");
    if (seen && !isDirect && seq) {
      // A member counts once their watermark reached the message, and only if they were in the
      // group when it was sent: a newcomer's watermark starts at the last message (groups._join)
      // without their having seen the history. The server's "Seen by" list (groups.selectors.
      // list_seen_by) applies the same rule; members not (or no longer) listed do not count.
      const created = Date.parse(li.dataset.created || "");
      const readers = Object.entries(readSeqs).filter(([id, read]) => Number(id) !== myId && read >= seq &&
        id in joinedAt && joinedAt[id] <= created).length;
      const label = readers ? `Seen by ${readers}` : "";
      if (seen.textContent !== label) seen.textContent = label;
    }
  }
}

// Puts one stored message in its place: over an earlier copy of it (same id) or its pending
// bubble (same client_id), else before the first later message, else before the pending ones.
function place(html, seq, clientId) {
  const element = htmlToElement(html);
  if (!element) return;
  const existing = document.getElementById(element.id);
  const pending = pendingItem(clientId);
  if (existing) existing.replaceWith(element);
  else if (pending) pending.replaceWith(element);
  else {
    const later = messageItems().find((li) => !li.classList.contains("pending") && Number(li.dataset.seq || Infinity) > seq);
    if (later) later.before(element);
    else {
      const firstPending = list.querySelector(":scope > li.pending");
      if (firstPending) firstPending.before(element); else list.append(element);
    }
  }
  pending?.remove(); // a copy already in the list and a pending bubble: keep the one
  htmx.process(element);
  if (clientId) socket.outbox.drop(clientId);
}

// A page opened around a search result has newer pages still to load: a live message waits for them.
function newerToLoad() { return Boolean(list && list.querySelector(":scope > #load-newer")); }

function insertMessages(messages) {
  if (!list) return;
  if (newerToLoad()) messages = messages.filter((m) => Number(m.seq) <= lastSeq);
  if (!messages.length) return;
  const stick = nearBottom() || messages.some((m) => m.sender_id === myId);
  for (const m of messages) place(m.html, m.seq, m.sender_id === myId ? m.client_id : null);
  recomputeLastSeq();
  decorate();
  if (stick) scrollToBottom();
}

// A message of mine not stored yet: shown at once from its text (never as HTML).
export function addPending(item) {
  if (!list || item.conversation !== convId || pendingItem(item.client_id)) return;
  const li = document.createElement("li");
  li.className = "msg pending";
  li.id = "pending-" + item.client_id;
  li.dataset.senderId = String(myId);
  li.dataset.clientId = item.client_id;
  li.dataset.created = new Date().toISOString();
  const bubble = document.createElement("div");
  bubble.className = "msg-bubble";
  const meta = document.createElement("p");
  meta.className = "msg-meta";
  const status = document.createElement("span");
  status.className = "msg-status";
  status.dataset.status = "";
  meta.append(status);
  const body = document.createElement("div");
  body.className = "msg-body msg-body-plain";
  body.textContent = item.body;
  bubble.append(meta, body);
  li.append(bubble);
  list.append(li);
  decorate();
  scrollToBottom();
}

// The HTTP path's answer: the stored message's HTML.
export function insertStored(html, clientId) {
  const element = htmlToElement(html);
  if (!element) return;
  insertMessages([{ html, seq: Number(element.dataset.seq || 0), client_id: clientId, sender_id: myId }]);
}

export function sendFailed(clientId, error) {
  const li = pendingItem(clientId);
  if (!li) return;
  li.classList.add("failed");
  const note = document.createElement("p");
  note.className = "field-error";
  note.textContent = error;
  li.querySelector(".msg-bubble").append(note);
  applyStatuses();
}

// ---------------------------------------------------------------- read state

export function markRead() {
  if (!chat || !visible() || !lastSeq || lastSeq <= lastReadSent) return;
  if (socket.send({ type: "read", conversation: convId, seq: lastSeq })) {
    lastReadSent = lastSeq;
    onRead(convId);
    document.getElementById("unread-divider")?.classList.add("seen");
  }
}

function markDelivered(conversation, seq) {
  const now = Date.now();
  if (deliveredSent[conversation] && now - deliveredSent[conversation] < 2000) return;
  deliveredSent[conversation] = now;
  socket.send({ type: "delivered", conversation, seq });
}

// ---------------------------------------------------------------- events

export function messageCreated(e) {
  if (chat && e.conversation === convId) {
    // Sending moves the sender's read and delivered positions to their message (they have read
    // what they answer), with no receipt.updated: the receipts follow here, as a reload shows them.
    if (e.sender_id && e.sender_id !== myId) {
      readSeqs[e.sender_id] = Math.max(readSeqs[e.sender_id] || 0, e.seq);
      if (isDirect) {
        othersRead = Math.max(othersRead, e.seq);
        othersDelivered = Math.max(othersDelivered, e.seq);
      }
    }
    insertMessages([{ html: e.html, seq: e.seq, sender_id: e.sender_id, client_id: e.client_id }]);
    if (behind()) socket.resume(convId); // a message before this one never came
    if (e.sender_id !== myId) {
      if (visible()) markRead(); else markDelivered(e.conversation, e.seq);
    }
  } else if (e.sender_id !== myId) {
    markDelivered(e.conversation, e.seq);
  }
}

export function messageUpdated(e) {
  if (!chat || e.conversation !== convId) return;
  const old = document.getElementById(`msg-${e.conversation}-${e.seq}`);
  if (!old) return;
  const fresh = htmlToElement(e.html);
  // The event's HTML is the same for every reader, without anyone's star: keep this reader's
  // (the menu's Star button knows of a star given in this tab since the page was loaded).
  const star = old.querySelector("[data-star]");
  const starred = star ? star.getAttribute("aria-pressed") === "true" : old.dataset.starred === "true";
  if (starred) fresh.dataset.starred = "true"; else delete fresh.dataset.starred;
  old.replaceWith(fresh);
  htmx.process(fresh);
  decorate();
}

export function messageAck(e) {
  const pending = pendingItem(e.client_id);
  if (!pending) return;
  pending.dataset.seq = String(e.seq);
  applyStatuses();
  // The broadcast normally replaces the pending item at once; if it went astray, fetch it.
  setTimeout(() => { if (pending.isConnected) socket.resume(convId); }, 1500);
}

export function history(e) {
  if (!chat || e.conversation !== convId) return;
  const messages = e.messages || [];
  const asked = Number(e.after_seq) || 0;
  const covered = Math.max(asked, ...messages.map((m) => Number(m.seq) || 0));
  const unbroken = asked <= caughtUp(); // asked from the end of the run, not from above a hole
  insertMessages(messages);
  // The page holds every message in (after_seq, covered]: a seq missing there does not exist.
  if (unbroken) confirmed = Math.max(confirmed, covered);
  if (!e.more) markRead();
}

export function receiptUpdated(e) {
  if (!chat || e.conversation !== convId || e.user_id === myId) return;
  readSeqs[e.user_id] = Math.max(readSeqs[e.user_id] || 0, e.read_seq);
  othersRead = Math.max(othersRead, e.read_seq);
  othersDelivered = Math.max(othersDelivered, e.delivered_seq);
  applyStatuses();
}

// Pin or mute changed in another tab: the header's buttons say what the next click does.
const FLAG_LABELS = { pinned: ["Pin", "Unpin"], muted: ["Mute", "Unmute"] };

export function conversationChanged(e) {
  if (!chat || e.conversation !== convId) return;
  for (const [flag, labels] of Object.entries(FLAG_LABELS)) {
    const form = chat.querySelector(`form[data-flag="${flag}"]`);
    if (!form) continue;
    const on = Boolean(e[flag]);
    form.querySelector(`input[name="${flag}"]`).value = on ? "0" : "1";
    const button = form.querySelector("button[type=submit]");
    button.setAttribute("aria-pressed", String(on));
    button.textContent = labels[on ? 1 : 0];
  }
}

function setMembers(members) {
  joinedAt = Object.fromEntries(members.map((m) => [m.id, Date.parse(m.joined_at)]));
}

// Someone joined, was added or removed, or left: the watermarks follow the members (never back).
export function membersChanged(e) {
  if (!chat || e.conversation !== convId) return;
  const previous = readSeqs;
  readSeqs = Object.fromEntries(e.members.map((m) => [m.id, Math.max(previous[m.id] || 0, m.read_seq)]));
  setMembers(e.members);
  const count = document.getElementById("member-count");
  if (count) count.textContent = `${e.members.length} member${e.members.length === 1 ? "" : "s"}`;
  applyStatuses();
}

export function groupChanged(e) {
  if (!chat || e.conversation !== convId) return;
  const title = document.getElementById("group-title");
  if (title) title.textContent = e.title;
}

// Returns whether it was the open chat (the page then says so and closes the composer).
export function conversationLeft(e) {
  if (!chat || e.conversation !== convId) return false;
  stopFollowing();
  document.getElementById("composer")?.querySelectorAll("textarea, button").forEach((c) => { c.disabled = true; });
  return true;
}

export function socketReady() { markRead(); }

// ---------------------------------------------------------------- start

export function init(options) {
  myId = options.userId;
  onRead = options.onRead || onRead;
  chat = document.getElementById("chat");
  if (!chat) return;
  list = document.getElementById("messages");
  convId = Number(chat.dataset.conversationId);
  isDirect = chat.dataset.kind === "direct";
  lastReadSent = Number(chat.dataset.lastReadSeq || 0);
  othersRead = Number(chat.dataset.othersReadSeq || 0);
  othersDelivered = Number(chat.dataset.othersDeliveredSeq || 0);
  readSeqs = readJson("chat-watermarks") || {};
  setMembers(readJson("chat-members") || []);

  chat.addEventListener("click", (event) => {
    // Choosing an action closes its menu (htmx still sees the click).
    const menuButton = event.target.closest(".msg-menu button");
    if (menuButton) menuButton.closest("details")?.removeAttribute("open");
    const jump = event.target.closest("[data-jump-to]");
    if (jump) {
      const target = document.getElementById(`msg-${convId}-${jump.dataset.jumpTo}`);
      if (target) {
        event.preventDefault();
        target.scrollIntoView({ block: "center" });
        target.classList.add("highlight");
        setTimeout(() => target.classList.remove("highlight"), 2000);
      }
    }
  });
  // Messages swapped in by htmx (older pages, edits, reactions) get the same decoration.
  document.body.addEventListener("htmx:afterSettle", (event) => {
    if (!list.contains(event.target) && event.target !== list) return;
    recomputeLastSeq();
    decorate();
  });

  // Unsent messages of this chat from before a reload are shown as pending again.
  for (const li of messageItems()) socket.outbox.drop(li.dataset.clientId);
  socket.outbox.items().filter((item) => item.conversation === convId).forEach(addPending);

  recomputeLastSeq();
  confirmed = lastSeq; // the server rendered every message up to the newest on the page
  decorate();
  const focusSeq = Number(list.dataset.focusSeq || 0);
  const focusItem = focusSeq && document.getElementById(`msg-${convId}-${focusSeq}`);
  if (focusItem) {
    // Opened at a search result: the page around it; newer pages load as the reader scrolls down,
    // and resuming starts from the chat's newest message, which the server had when it rendered.
    confirmed = Math.max(confirmed, Number(chat.dataset.lastSeq || 0));
    focusItem.classList.add("highlight");
    focusItem.setAttribute("aria-current", "true");
    focusItem.scrollIntoView({ block: "center" });
  }
  const firstUnread = Number(list.dataset.firstUnreadSeq || 0);
  const firstUnreadItem = firstUnread && document.getElementById(`msg-${convId}-${firstUnread}`);
  if (firstUnreadItem) {
    const divider = document.createElement("li");
    divider.className = "unread-divider";
    divider.id = "unread-divider";
    divider.textContent = "New messages";
    firstUnreadItem.before(divider);
    divider.scrollIntoView({ block: "start" });
  } else if (!focusItem) {
    scrollToBottom();
  }
  document.addEventListener("visibilitychange", markRead);
  window.addEventListener("focus", markRead);
  // Whatever was stored after the server rendered this page, and after every reconnect.
  stopFollowing = socket.follow(convId, caughtUp, behind);
}
