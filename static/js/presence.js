// Who is online and who is typing, this tab's own away/active state, the bell, mention toasts and
// desktop notifications.
import * as socket from "./socket.js";
import { htmlToElement, localiseTimes, timeLabel, toast, urlFor, visible } from "./util.js";

let myId = 0;
let conversationUrl = "";
let typingTimer = null;
let activeSent = true;
let idleTimer = null;

// ---------------------------------------------------------------- presence

function lastSeenText(iso) {
  if (!iso) return "offline";
  const date = new Date(iso);
  const today = date.toDateString() === new Date().toDateString();
  return "last seen " + (today ? "today at " + timeLabel(iso) : date.toLocaleDateString([], { day: "numeric", month: "short" }) + " at " + timeLabel(iso));
}

export function presenceChanged(e) {
  document.querySelectorAll(`[data-presence-user="${CSS.escape(String(e.user_id))}"]`).forEach((dot) => {
    dot.dataset.status = e.status;
    dot.querySelector(".visually-hidden").textContent = e.status;
  });
  document.querySelectorAll(`[data-presence-text="${CSS.escape(String(e.user_id))}"]`).forEach((text) => {
    if (e.last_seen !== undefined && e.last_seen !== null) text.dataset.lastSeen = e.last_seen;
    text.textContent = e.status === "offline" ? lastSeenText(text.dataset.lastSeen) : e.status;
  });
}

// Away: the tab is hidden, or nobody touched it for five minutes.
function reportActive(active) {
  if (active === activeSent) return;
  if (socket.send({ type: "presence", active })) activeSent = active;
}

function touched() {
  if (visible()) reportActive(true);
  clearTimeout(idleTimer);
  idleTimer = setTimeout(() => reportActive(false), 5 * 60 * 1000);
}

// A new socket starts active on the server: say so if the tab is hidden.
export function socketReady() {
  activeSent = true;
  if (!visible()) reportActive(false);
}

// ---------------------------------------------------------------- typing

export function typingStarted(e, { open }) {
  if (!open) return;
  const region = document.getElementById("typing");
  if (!region) return;
  region.textContent = `${e.name} is typing…`;
  clearTimeout(typingTimer);
  typingTimer = setTimeout(() => { region.textContent = ""; }, 5000);
}

// ---------------------------------------------------------------- notifications

function setBell(count) {
  const bell = document.getElementById("bell");
  const badge = document.getElementById("bell-count");
  if (!bell || !badge) return;
  badge.textContent = String(count);
  badge.hidden = count <= 0;
  bell.setAttribute("aria-label", `Notifications, ${count} unread`);
}

// Desktop notifications: only when asked for, and only while this tab is hidden.
function desktopNotify(text, url) {
  if (!("Notification" in window) || Notification.permission !== "granted" || visible()) return;
  const note = new Notification(document.title.split(" · ").pop(), { body: text, tag: url || text });
  note.onclick = () => { window.focus(); if (url) location.href = url; };
}

// open: the message is in the chat open in this tab; muted: its chat is muted.
export function messageCreated(e, { open, muted }) {
  if (e.sender_id === myId) return;
  if (open) {
    const region = document.getElementById("typing");
    if (region) region.textContent = ""; // whoever was typing has sent it
  }
  if (!muted) desktopNotify(`${e.sender_name}: ${e.preview}`, conversationUrl ? urlFor(conversationUrl, e.conversation) : "");
}

export function notificationCreated(e) {
  setBell(e.unread);
  const listEl = document.getElementById("notification-list");
  if (listEl && e.html && e.id) {
    document.getElementById("notification-" + e.id)?.remove();
    const item = htmlToElement(e.html);
    listEl.prepend(item);
    localiseTimes(item);
    document.getElementById("no-notifications")?.setAttribute("hidden", "");
  }
  if (e.kind !== "message") desktopNotify(e.text, e.url);
}

export function notificationsRead(e) { setBell(e.unread); }

export function mentionCreated(e, { reading }) {
  if (!reading) toast(`${e.sender_name} mentioned you: ${e.preview}`);
}

// ---------------------------------------------------------------- start

export function init(options) {
  myId = options.userId;
  conversationUrl = options.urls.conversation || "";
  document.querySelectorAll("[data-presence-text]").forEach((text) => {
    if (text.textContent.trim() === "offline") text.textContent = lastSeenText(text.dataset.lastSeen);
  });
  document.addEventListener("click", (event) => {
    const button = event.target.closest("[data-enable-notifications]");
    if (!button || !("Notification" in window)) return;
    Notification.requestPermission().then((answer) => {
      const status = document.getElementById("notification-permission");
      if (status) status.textContent = answer === "granted" ? "Notifications are on for this device." : "Notifications are off for this device (your browser setting).";
    });
  });
  ["keydown", "pointerdown", "pointermove", "focus"].forEach((name) => window.addEventListener(name, touched, { passive: true }));
  document.addEventListener("visibilitychange", () => { if (visible()) touched(); else reportActive(false); });
  touched();
}
