// Small helpers the feature modules share. No state lives here.

// The page's URLs, rendered by the server with {% url %} (templates/base.html): a module never
// spells a path itself. A URL with an id is rendered for id 0; urlFor puts the real id in its place.
export function pageUrls() {
  const data = document.body.dataset;
  return {
    socket: data.socketUrl,
    conversation: data.conversationUrl,
    entry: data.entryUrl,
  };
}

export function urlFor(template, id) {
  return template.replace("/0/", `/${encodeURIComponent(id)}/`);
}

export function readJson(id) {
  const element = document.getElementById(id);
  if (!element) return null;
  try { return JSON.parse(element.textContent); } catch (e) { return null; }
}

export function htmlToElement(html) {
  const template = document.createElement("template");
  template.innerHTML = html.trim();
  return template.content.firstElementChild;
}

export function newClientId() {
  if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

export function visible() { return document.visibilityState === "visible"; }

export function timeLabel(iso) {
  return new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

export function shortWhen(iso) {
  const date = new Date(iso);
  if (date.toDateString() === new Date().toDateString()) return timeLabel(iso);
  return date.toLocaleDateString([], { day: "numeric", month: "short" });
}

export function localiseTimes(root) {
  (root || document).querySelectorAll("time[data-relative]").forEach((t) => { t.textContent = shortWhen(t.getAttribute("datetime")); });
}

export function toast(text) { if (window.chatToast) window.chatToast(text); }
