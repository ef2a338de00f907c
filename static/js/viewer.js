// The full-size image viewer of the open chat (a <dialog>): every image of the timeline in order,
// Left/Right to move, Escape (the dialog's own) to close. Also: a link to a message of this chat
// (#msg-<chat>-<seq>, from the gallery) that is older than the opening page loads older pages
// until the message is there.

let dialog = null;
let images = [];
let index = 0;

const $ = (id) => document.getElementById(id);

function show(i) {
  images = Array.from(document.querySelectorAll("#messages a[data-viewer]"));
  if (!images.length) return;
  index = (i + images.length) % images.length;
  const link = images[index];
  const name = link.dataset.name || "";
  $("viewer-image").src = link.href;
  $("viewer-image").alt = name;
  $("viewer-title").textContent = name;
  $("viewer-position").textContent = `${index + 1} of ${images.length}`;
  $("viewer-download").href = link.href;
  $("viewer-download").setAttribute("download", name);
  $("viewer-prev").hidden = $("viewer-next").hidden = images.length < 2;
}

function open(link) {
  images = Array.from(document.querySelectorAll("#messages a[data-viewer]"));
  show(images.indexOf(link));
  if (!dialog.open) dialog.showModal();
}

async function jumpToHash() {
  const match = /^#msg-(\d+)-(\d+)$/.exec(location.hash);
  if (!match) return;
  for (let page = 0; page < 100 && !document.getElementById(location.hash.slice(1)); page += 1) {
    const older = document.querySelector("#load-older button");
    if (!older || !window.htmx) return;
    await new Promise((resolve) => {
      document.body.addEventListener("htmx:afterSettle", resolve, { once: true });
      older.click();
    });
  }
  const target = document.getElementById(location.hash.slice(1));
  if (!target) return;
  target.scrollIntoView({ block: "center" });
  target.classList.add("highlight");
  setTimeout(() => target.classList.remove("highlight"), 2000);
}

export function init() {
  dialog = $("image-viewer");
  if (!dialog) return;
  document.getElementById("messages").addEventListener("click", (event) => {
    const link = event.target.closest("a[data-viewer]");
    if (!link || event.ctrlKey || event.metaKey || event.shiftKey) return;
    event.preventDefault();
    open(link);
  });
  $("viewer-prev").addEventListener("click", () => show(index - 1));
  $("viewer-next").addEventListener("click", () => show(index + 1));
  $("viewer-close").addEventListener("click", () => dialog.close());
  dialog.addEventListener("keydown", (event) => {
    if (event.key === "ArrowLeft") { event.preventDefault(); show(index - 1); }
    if (event.key === "ArrowRight") { event.preventDefault(); show(index + 1); }
  });
  dialog.addEventListener("click", (event) => { if (event.target === dialog) dialog.close(); }); // the backdrop
  dialog.addEventListener("close", () => { $("viewer-image").removeAttribute("src"); images[index]?.focus(); });
  jumpToHash();
}
