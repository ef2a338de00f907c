// Installable app: every page registers the service worker (chatsite/pwa.py serves /sw.js).
// Pushes need it; so does the offline page. A browser without service workers just has the site.
if ("serviceWorker" in navigator) {
  window.addEventListener("load", () => {
    navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch((error) => {
      console.warn("Service worker not registered:", error);
    });
  });
}
