// Message search boxes (the sidebar's and a chat header's): the filter chips add their filter to the
// box, and htmx fetches the results as the person types (the box's hx-trigger debounces).
function addFilter(input, filter) {
  const text = input.value.replace(/\s+$/, "");
  input.value = (text ? text + " " : "") + filter + (filter.endsWith(":") ? "" : " ");
  input.focus();
  input.setSelectionRange(input.value.length, input.value.length);
  input.dispatchEvent(new Event("input", { bubbles: true }));
}

export function init() {
  document.addEventListener("click", (event) => {
    const chip = event.target.closest("[data-search-chip]");
    if (!chip) return;
    const input = chip.closest("form")?.querySelector("input[name=q]");
    if (input) addFilter(input, chip.dataset.searchChip);
  });
  // Opening a chat header's search puts the cursor in its box.
  document.addEventListener("toggle", (event) => {
    if (event.target.matches?.(".chat-search") && event.target.open) event.target.querySelector("input[name=q]")?.focus();
  }, true);
}
