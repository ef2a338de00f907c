// Web Push on the page's side (the service worker itself is templates/pwa/sw.js): runs the
// "Notifications on this device" switch of the settings page, and tells the server over the socket
// which subscription this device has and whether this tab is visible, so the server pushes nothing
// to a device that is looking at the site (accounts/push.py report_device).
import * as socket from "./socket.js";
import { visible } from "./util.js";

let registration = null;
let endpoint = "";
let refreshTimer = null;

function refreshEvery() {
  const ttl = Number(document.body.dataset.pushPresenceTtl || 60);
  return Math.max(5, ttl / 2) * 1000;
}

// ---------------------------------------------------------------- this device's visibility

function report() {
  if (!endpoint) return;
  socket.send({ type: "push.device", endpoint, visible: visible() });
  clearTimeout(refreshTimer);
  if (visible()) refreshTimer = setTimeout(report, refreshEvery()); // the server's key expires without it
}

async function learnEndpoint() {
  if (!registration) return;
  const subscription = await registration.pushManager.getSubscription();
  endpoint = subscription ? subscription.endpoint : "";
}

// ---------------------------------------------------------------- the settings switch

function csrfToken() {
  return document.querySelector("[name=csrfmiddlewaretoken]")?.value || "";
}

async function post(url, body) {
  const response = await fetch(url, {
    method: "POST", credentials: "same-origin",
    headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrfToken() },
    body: JSON.stringify(body),
  });
  if (!response.ok) {
    let message = "The server did not store this device. Please try again.";
    try { message = (await response.json()).error.message || message; } catch { /* keep the default */ }
    throw new Error(message);
  }
}

function fromBase64Url(text) {
  const padded = (text + "===".slice((text.length + 3) % 4)).replace(/-/g, "+").replace(/_/g, "/");
  return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
}

async function turnOn(control) {
  const permission = await Notification.requestPermission();
  if (permission !== "granted") throw new Error("Notifications are blocked for this site in your browser's settings.");
  const subscription = await registration.pushManager.subscribe({
    userVisibleOnly: true, applicationServerKey: fromBase64Url(control.dataset.serverKey),
  });
  await post(control.dataset.subscribeUrl, subscription.toJSON());
  endpoint = subscription.endpoint;
  report();
}

async function turnOff(control) {
  const subscription = await registration.pushManager.getSubscription();
  if (subscription) {
    await post(control.dataset.unsubscribeUrl, { endpoint: subscription.endpoint });
    await subscription.unsubscribe();
  }
  endpoint = "";
}

function initSwitch() {
  const control = document.getElementById("push-switch");
  if (!control) return;
  const status = document.getElementById("push-status");
  const say = (text) => { status.textContent = text; };
  if (!registration || !("PushManager" in window) || !("Notification" in window)) {
    control.disabled = true;
    say(window.isSecureContext ? "This browser cannot show notifications from web sites."
      : "Notifications need the site to be opened over HTTPS.");
    return;
  }
  control.disabled = false;
  control.checked = Boolean(endpoint) && Notification.permission === "granted";
  say(control.checked ? "On: this device is told of new messages when the site is not open." : "Off on this device.");
  control.addEventListener("change", async () => {
    control.disabled = true;
    const on = control.checked;
    try {
      if (on) await turnOn(control); else await turnOff(control);
      say(on ? "On: this device is told of new messages when the site is not open." : "Off on this device.");
    } catch (error) {
      control.checked = !on;
      say(error.message || String(error));
    } finally {
      control.disabled = false;
    }
  });
}

// Signing out turns this device's notifications off first: a shared computer must not go on
// showing the previous person's messages.
function initSignOut() {
  for (const form of document.querySelectorAll("form[data-sign-out]")) {
    form.addEventListener("submit", async (event) => {
      if (!endpoint || form.dataset.unsubscribed) return;
      event.preventDefault();
      try {
        await post(form.dataset.pushUnsubscribeUrl, { endpoint });
        const subscription = await registration.pushManager.getSubscription();
        if (subscription) await subscription.unsubscribe();
      } catch (error) {
        console.warn("push: could not turn notifications off before signing out", error);
      }
      form.dataset.unsubscribed = "1";
      form.requestSubmit();
    });
  }
}

// ---------------------------------------------------------------- start

export async function init() {
  socket.on("socket.ready", report);
  document.addEventListener("visibilitychange", report);
  if ("serviceWorker" in navigator && window.isSecureContext) {
    // static/js/pwa.js registers the worker; a worker that never becomes ready leaves the switch off.
    const late = new Promise((resolve) => setTimeout(() => resolve(null), 15000));
    registration = await Promise.race([navigator.serviceWorker.ready, late]);
    if (registration) await learnEndpoint();
  }
  initSwitch();
  initSignOut();
  report();
}
