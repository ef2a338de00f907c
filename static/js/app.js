// Page-wide behaviour that needs no server: the conversations drawer on narrow screens. The ☰
// button opens and closes it; the ✕ inside it, a tap on the dimmed page beside it and Escape close it.
(function () {
  "use strict";
  function setDrawer(app, open) {
    app.dataset.sidebarOpen = String(open);
    const toggle = document.querySelector("[data-sidebar-toggle]");
    toggle?.setAttribute("aria-expanded", String(open));
    if (open) document.getElementById("sidebar").querySelector("a, button, input")?.focus();
    else toggle?.focus();
  }
  document.addEventListener("click", function (event) {
    const app = document.querySelector(".app");
    if (!app) return;
    const open = app.dataset.sidebarOpen === "true";
    if (event.target.closest("[data-sidebar-toggle]")) setDrawer(app, !open);
    else if (open && (event.target === app || event.target.closest("[data-sidebar-close]"))) setDrawer(app, false);
  });
  document.addEventListener("keydown", function (event) {
    const app = document.querySelector(".app");
    if (event.key === "Escape" && app && app.dataset.sidebarOpen === "true") setDrawer(app, false);
  });
})();

// A refused htmx request says why in plain text; show it where everyone (and screen readers) notice.
(function () {
  "use strict";
  function toast(text) {
    const region = document.getElementById("toasts");
    if (!region || !text) return;
    const item = document.createElement("p");
    item.className = "toast";
    item.textContent = text;
    region.append(item);
    setTimeout(() => item.remove(), 6000);
  }
  document.addEventListener("htmx:responseError", (event) => {
    toast(event.detail.xhr.responseText.slice(0, 300) || "Something went wrong. Please try again.");
  });
  document.addEventListener("htmx:sendError", () => toast("You appear to be offline. Please try again."));
  window.chatToast = toast;
})();
