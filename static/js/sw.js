// The service worker, served at /sw.js (scope "/") by accounts.views.service_worker.
//
// It shows Web Push notifications (accounts/push.py sends them), opens the chat on a click, closes
// a chat's notifications when the server says it was read elsewhere, and answers a page load that
// fails with the offline page. It caches nothing else: no private data stays on the device.
const OFFLINE_URL = "/offline/";
const CACHE = "offline-v1";

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.add(new Request(OFFLINE_URL, { cache: "reload" }))));
  self.skipWaiting();
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) if (name !== CACHE) await caches.delete(name);
    await self.clients.claim();
  })());
});

self.addEventListener("fetch", (event) => {
  if (event.request.mode !== "navigate") return; // everything else goes to the network as usual
  event.respondWith((async () => {
    try {
      return await fetch(event.request);
    } catch {
      return (await caches.match(OFFLINE_URL)) || Response.error();
    }
  })());
});

async function closeTagged(tag) {
  for (const notification of await self.registration.getNotifications({ tag })) notification.close();
}

async function show(data) {
  // A later push about the same chat replaces the earlier one (same tag) and still alerts.
  await self.registration.showNotification(data.title || "New message", {
    body: data.body || "",
    tag: data.tag || undefined,
    renotify: Boolean(data.tag),
    icon: "/static/img/icons/icon-192.png",
    badge: "/static/img/icons/icon-192.png",
    data: { url: data.url || "/" },
  });
}

self.addEventListener("push", (event) => {
  let data = {};
  try { data = event.data ? event.data.json() : {}; } catch { data = {}; }
  if (data.type === "close") {
    event.waitUntil(closeTagged(data.tag));
  } else {
    event.waitUntil(show(data));
  }
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const target = new URL(event.notification.data?.url || "/", self.location.origin);
  if (target.origin !== self.location.origin) return; // only ever this site's own pages
  event.waitUntil((async () => {
    const windows = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
    const open = windows.find((client) => new URL(client.url).pathname === target.pathname);
    // focus() is refused without a click's permission: the page is still the right one.
    if (open) return open.focus().catch(() => open);
    if (windows[0] && "navigate" in windows[0]) {
      const client = await windows[0].navigate(target.href);
      return client && client.focus().catch(() => client);
    }
    return self.clients.openWindow(target.href);
  })());
});
