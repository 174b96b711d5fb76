// The organization's address, suggested from its name as one types, until one edits the
// address oneself. Setting it fires the input's own availability check (htmx, debounced).
document.addEventListener("DOMContentLoaded", () => {
  document.body.addEventListener("input", (event) => {
    const address = document.querySelector("[data-suggested-from]");
    if (!address) return;
    if (event.target === address) {
      // Typed by the person (our own suggestion's event is not trusted): stop suggesting.
      if (event.isTrusted) address.dataset.edited = address.value ? "yes" : "";
      return;
    }
    if (event.target.id !== address.dataset.suggestedFrom || address.dataset.edited) return;
    address.value = event.target.value
      .normalize("NFKD")
      .replace(/[\u0300-\u036f]/g, "")
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, "-")
      .replace(/^-+|-+$/g, "")
      .slice(0, 40)
      .replace(/-+$/, "");
    address.dispatchEvent(new Event("input", { bubbles: true }));
  });
});
