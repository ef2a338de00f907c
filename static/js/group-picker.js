// The New group form's people picker. A tick in the search results puts the person's chip above
// the search (each result carries its chip, rendered by the server: groups/partials/member_chip.html);
// the chip holds the input the form submits, so picks outlive the next search. A chip's × removes
// the person; results show the people already chosen as ticked.
(function () {
  "use strict";
  const chosen = () => document.getElementById("group-members-chosen");
  const chipFor = (id) => chosen()?.querySelector(`[data-member-id="${CSS.escape(id)}"]`);
  const boxFor = (id) => document.querySelector(`input[data-pick][value="${CSS.escape(id)}"]`);
  const showList = () => { const list = chosen(); if (list) list.hidden = !list.children.length; };

  document.addEventListener("change", (event) => {
    const box = event.target.closest?.("input[data-pick]");
    if (!box || !chosen()) return;
    if (box.checked && !chipFor(box.value)) {
      chosen().append(box.closest("li").querySelector("template[data-chip]").content.firstElementChild.cloneNode(true));
    } else if (!box.checked) {
      chipFor(box.value)?.remove();
    }
    showList();
  });

  document.addEventListener("click", (event) => {
    const button = event.target.closest?.("[data-remove-member]");
    const chip = button?.closest("[data-member-id]");
    if (!chip) return;
    // Focus goes where the person can go on: the next chip's ×, else the previous, else the search.
    const next = (chip.nextElementSibling || chip.previousElementSibling)?.querySelector("[data-remove-member]");
    const box = boxFor(chip.dataset.memberId);
    if (box) box.checked = false;
    chip.remove();
    showList();
    (next || document.getElementById("group-people-search"))?.focus();
  });

  document.addEventListener("htmx:afterSwap", (event) => {
    if (event.target.id !== "group-people-results") return;
    event.target.querySelectorAll("input[data-pick]").forEach((box) => { box.checked = Boolean(chipFor(box.value)); });
  });

  // Enter in the search box searches (htmx's "search" trigger); it does not submit a half-filled form.
  document.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && event.target.id === "group-people-search") event.preventDefault();
  });
})();
