// "Copy link" on a pending invitation: the accept link to the clipboard, for when the
// email does not arrive. A status line says whether it worked.
document.addEventListener("click", async (event) => {
  const button = event.target.closest("[data-copy-link]");
  if (!button) return;
  const status = document.getElementById("copy-status");
  const link = button.dataset.copyLink;
  try {
    await navigator.clipboard.writeText(link);
    if (status) status.textContent = "Invitation link copied. Paste it into a message to the invitee.";
  } catch {
    if (status) status.textContent = `Copying is not allowed here; the link is ${link}`;
  }
});
