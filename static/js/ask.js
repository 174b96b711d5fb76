// The Ask page. Static, so that a Content-Security-Policy needs no 'unsafe-inline'.

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

// The passage panel: a citation opens it (htmx swaps the passage in), focus moves to it and
// goes back to the citation when it closes: with its close button, Escape, or a new question.
let openedFrom = null;

function passagePanel() {
  return document.getElementById("passage-panel");
}

function passageClose() {
  const panel = passagePanel();
  if (!panel || !panel.firstElementChild) return;
  panel.replaceChildren();
  if (openedFrom && document.contains(openedFrom)) openedFrom.focus();
  openedFrom = null;
}

document.addEventListener("htmx:beforeRequest", (event) => {
  const source = event.detail.elt;
  if (source.id === "composer") passageClose();
  else if (event.detail.target === passagePanel()) openedFrom = source;
});

document.addEventListener("htmx:afterSwap", (event) => {
  if (event.detail.target !== passagePanel()) return;
  passagePanel().querySelector("h2")?.focus();
});

document.addEventListener("click", (event) => {
  if (event.target.closest("[data-close-passage]")) passageClose();
});

document.addEventListener("keydown", (event) => {
  if (event.key === "Escape" && !event.isComposing) passageClose();
});

// A question that was taken empties the field for the next one.
document.addEventListener("htmx:afterRequest", (event) => {
  const form = event.detail.elt;
  if (form.id === "composer" && event.detail.successful && event.detail.target.id === "thread") {
    form.question.value = "";
  }
});

// Thumbs down asks for the reason: the comment field it brings takes the focus.
// (The SSE extension's swaps fire htmx:afterSwap with no target in their detail.)
document.addEventListener("htmx:afterSwap", (event) => {
  const id = event.detail.target?.id;
  if (!id || !id.startsWith("feedback-")) return;
  // The swap replaced the element: look its id up again for the new one.
  document.getElementById(id)?.querySelector("[data-ask-reason]")?.focus();
});

// An example question from the documents: asked as if typed, in the composer's scope.
document.addEventListener("click", (event) => {
  const suggestion = event.target.closest("button[data-question]");
  if (!suggestion) return;
  const field = document.getElementById("question");
  if (!field) return;
  field.value = suggestion.dataset.question;
  field.form.requestSubmit();
});

// Copy an answer's text (its citation markers included) to the clipboard.
document.addEventListener("click", async (event) => {
  const button = event.target.closest("button[data-copy-answer]");
  if (!button) return;
  const body = document.getElementById(button.dataset.copyAnswer)?.querySelector(".answer-body");
  if (!body) return;
  const label = button.textContent;
  try {
    await navigator.clipboard.writeText(body.innerText.trim());
    button.textContent = "Copied";
  } catch {
    button.textContent = "Copying is blocked here";
  }
  setTimeout(() => { button.textContent = label; }, 2000);
});
