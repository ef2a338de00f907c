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

// Each message's ⋯ menu is filled on its first opening from the page's one <template id="message-menu">
// (the server does not repeat the menu in every message: see messaging/message_html.py).
(function () {
  "use strict";
  function fillMenu(details) {
    const template = document.getElementById("message-menu");
    const item = details.closest(".msg");
    if (!template || !item || details.querySelector(".msg-menu")) return;
    const id = item.dataset.id;
    const menu = template.content.firstElementChild.cloneNode(true);
    menu.querySelectorAll("[hx-get], [hx-post], [hx-target], [href], [data-reply]").forEach((button) => {
      for (const name of ["hx-get", "hx-post", "hx-target", "href"]) {
        const value = button.getAttribute(name);
        if (value) button.setAttribute(name, value.replace("/0/", `/${id}/`).replace(/-0$/, `-${id}`));
      }
      if (button.dataset.reply) button.dataset.reply = id;
    });
    if (!item.classList.contains("msg-text")) menu.querySelector("[data-edit]")?.remove();
    if (item.dataset.starred === "true") {
      const star = menu.querySelector("[data-star]");
      star.textContent = "Unstar";
      star.setAttribute("aria-pressed", "true");
    }
    details.append(menu);
    if (window.htmx) htmx.process(menu);
  }
  // The area that clips the menu: the nearest scrolling ancestor (the message list), else the window.
  function clipRect(element) {
    for (let node = element.parentElement; node; node = node.parentElement) {
      if (/(auto|scroll|hidden)/.test(getComputedStyle(node).overflowY)) return node.getBoundingClientRect();
    }
    return { top: 0, bottom: window.innerHeight };
  }
  // Near the bottom (the newest messages, above the composer) the menu opens upwards; it never
  // grows past the visible area of the list: what does not fit scrolls inside the menu.
  function placeMenu(details) {
    const menu = details.querySelector(".msg-menu");
    if (!menu) return;
    menu.classList.remove("msg-menu-up");
    menu.style.maxHeight = "";
    const area = clipRect(details);
    const summary = details.querySelector("summary").getBoundingClientRect();
    const below = Math.min(area.bottom, window.innerHeight) - summary.bottom - 8;
    const above = summary.top - Math.max(area.top, 0) - 8;
    const height = menu.getBoundingClientRect().height;
    const up = height > below && above > below;
    menu.classList.toggle("msg-menu-up", up);
    if (height > (up ? above : below)) menu.style.maxHeight = `${Math.max(up ? above : below, 120)}px`;
  }
  // "toggle" does not bubble: listen in the capture phase.
  document.addEventListener("toggle", (event) => {
    const details = event.target;
    if (details.matches && details.matches("details.msg-actions") && details.open) {
      fillMenu(details);
      placeMenu(details);
    }
  }, true);
  // Escape closes the open menu and puts focus back on its ⋯, where the person was.
  document.addEventListener("keydown", (event) => {
    if (event.key !== "Escape") return;
    const details = event.target.closest?.("details.msg-actions[open]") || document.querySelector("details.msg-actions[open]");
    if (!details) return;
    details.open = false;
    details.querySelector("summary").focus();
  });
})();
