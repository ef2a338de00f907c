// The service worker (chatsite/pwa.py serves it at /sw.js, scope "/"). It caches only the
// offline page and its static files, fetched without cookies: no private data on the device.
const VERSION = {{ version_json|safe }};
const CACHE = "offline-" + VERSION;
const OFFLINE_URL = {{ offline_url_json|safe }};
const PRECACHE = {{ precache_json|safe }};
const ICON = {{ icon_json|safe }};

self.addEventListener("install", (event) => {
  event.waitUntil((async () => {
    const cache = await caches.open(CACHE);
    await cache.addAll(PRECACHE.map((url) => new Request(url, { credentials: "omit" })));
    await self.skipWaiting();
  })());
});

self.addEventListener("activate", (event) => {
  event.waitUntil((async () => {
    for (const name of await caches.keys()) {
      if (name !== CACHE) await caches.delete(name);
    }
    // The page's request starts while the worker boots, so a navigation waits for neither.
    if (self.registration.navigationPreload) await self.registration.navigationPreload.enable();
    await self.clients.claim();
  })());
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  if (request.mode === "navigate") {
    // Pages always come from the network; the offline page only stands in when it is unreachable.
    event.respondWith((async () => {
      try {
        return (await event.preloadResponse) || (await fetch(request));
      } catch (error) {
        return (await caches.match(OFFLINE_URL)) || Response.error();
      }
    })());
    return;
  }
  const url = new URL(request.url);
  if (url.origin === self.location.origin && PRECACHE.includes(url.pathname)) {
    event.respondWith(fetch(request).catch(async () => (await caches.match(url.pathname)) || Response.error()));
  }
});

// {"type": "show", title, body, tag, url, timestamp} or {"type": "close", tag} (accounts/push.py).
async function handlePush(payload) {
  if (!payload || typeof payload.tag !== "string") return;
  if (payload.type === "close") {
    for (const shown of await self.registration.getNotifications({ tag: payload.tag })) shown.close();
    return;
  }
  await self.registration.showNotification(payload.title || "", {
    body: payload.body || "",
    tag: payload.tag,
    renotify: true,
    icon: ICON,
    badge: ICON,
    timestamp: payload.timestamp || Date.now(),
    data: { url: payload.url || "/" },
  });
}

// Focus a tab already on that page, else take another tab of the site there, else open one.
async function openFromNotification(notification) {
  notification.close();
  const target = new URL((notification.data && notification.data.url) || "/", self.location.origin);
  if (target.origin !== self.location.origin) return null;
  const windows = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
  const same = windows.find((client) => client.url === target.href);
  if (same) return same.focus();
  if (windows.length && "navigate" in windows[0]) {
    const moved = await windows[0].navigate(target.href);
    try { await (moved || windows[0]).focus(); } catch (error) { /* focus needs a click; navigating is enough */ }
    return moved;
  }
  return self.clients.openWindow(target.href);
}

self.addEventListener("push", (event) => {
  let payload = null;
  try { payload = event.data ? event.data.json() : null; } catch (error) { payload = null; }
  event.waitUntil(handlePush(payload));
});

self.addEventListener("notificationclick", (event) => {
  event.waitUntil(openFromNotification(event.notification));
});
