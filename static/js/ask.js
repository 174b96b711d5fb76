// Enter sends the question, Shift+Enter adds a line.
document.addEventListener("keydown", (event) => {
  const field = event.target;
  if (field.id !== "question" || event.key !== "Enter" || event.shiftKey || event.isComposing) return;
  event.preventDefault();
  if (field.value.trim()) field.form.requestSubmit();
});
// Keep the newest message in view while it streams.
document.addEventListener("htmx:sseMessage", () => {
  const thread = document.getElementById("thread");
  if (thread) thread.lastElementChild?.scrollIntoView({ block: "end", behavior: "smooth" });
});
