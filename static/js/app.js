// Page-wide behaviour that needs no server: the sidebar toggle on narrow screens.
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    const toggle = event.target.closest("[data-sidebar-toggle]");
    if (!toggle) return;
    const app = document.querySelector(".app");
    const open = app.dataset.sidebarOpen !== "true";
    app.dataset.sidebarOpen = String(open);
    toggle.setAttribute("aria-expanded", String(open));
    if (open) document.getElementById("sidebar").querySelector("a, button, input")?.focus();
  });
  document.addEventListener("keydown", function (event) {
    const app = document.querySelector(".app");
    if (event.key === "Escape" && app && app.dataset.sidebarOpen === "true") {
      app.dataset.sidebarOpen = "false";
      const toggle = document.querySelector("[data-sidebar-toggle]");
      toggle.setAttribute("aria-expanded", "false");
      toggle.focus();
    }
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
