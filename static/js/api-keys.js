// "Copy" beside the key shown once: the key to the clipboard, and a status line that says
// whether it worked. Where the browser refuses, the key is selected to copy by hand.
document.addEventListener("click", async (event) => {
  const button = event.target.closest("[data-copy-target]");
  if (!button) return;
  const field = document.getElementById(button.dataset.copyTarget);
  const status = document.getElementById("copy-status");
  try {
    await navigator.clipboard.writeText(field.value);
    status.textContent = "Key copied. Paste it where the program keeps its secrets.";
  } catch {
    field.select();
    status.textContent = "This browser did not allow copying; the key is selected: press Ctrl+C (⌘C on a Mac).";
  }
});
