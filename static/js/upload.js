// The workspace page. Static, so that a Content-Security-Policy needs no 'unsafe-inline'.

// "Tick every document" in the documents list's header.
document.addEventListener("change", (event) => {
  if (event.target.id !== "pick-all") return;
  document.querySelectorAll('input[name="documents"][form="bulk-form"]').forEach((box) => {
    box.checked = event.target.checked;
  });
});

// A pasted entry that was taken empties the form for the next one (a refusal is said
// instead); drag-and-drop onto the upload zone, a progress bar while the files go up, and
// the server's refusal of an oversized upload.
(function () {
  const entry = document.getElementById("entry-form");
  if (entry) {
    const entryRefusal = document.getElementById("entry-refusal");
    // Only an entry the server took empties the form: one refused (a cap, a duplicate)
    // keeps the typed title and text, to send again.
    entry.addEventListener("htmx:afterRequest", (event) => {
      entryRefusal.hidden = event.detail.successful;
    });
    document.body.addEventListener("entry-added", () => entry.reset());
    entry.addEventListener("htmx:responseError", (event) => {
      entryRefusal.textContent = event.detail.xhr.status === 413
        ? "The entry is too long to send. Upload it as a file instead."
        : "The entry could not be added. Please try again.";
    });
  }
  const form = document.getElementById("upload-form");
  if (!form) return;
  const zone = document.getElementById("dropzone");
  const input = document.getElementById("id_files");
  const progress = document.getElementById("upload-progress");
  const refusal = document.getElementById("upload-refusal");
  const send = () => { if (input.files.length) htmx.trigger(form, "submit"); };
  input.addEventListener("change", send);
  ["dragenter", "dragover"].forEach((name) => zone.addEventListener(name, (event) => {
    event.preventDefault();
    zone.classList.add("over");
  }));
  ["dragleave", "drop"].forEach((name) => zone.addEventListener(name, () => zone.classList.remove("over")));
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    input.files = event.dataTransfer.files;
    send();
  });
  form.addEventListener("htmx:beforeRequest", () => { refusal.hidden = true; });
  form.addEventListener("htmx:xhr:progress", (event) => {
    progress.hidden = false;
    progress.value = (event.detail.loaded / event.detail.total) * 100;
  });
  // Too large a request is refused before it is read (413, a sentence in plain text).
  form.addEventListener("htmx:responseError", (event) => {
    const xhr = event.detail.xhr;
    refusal.textContent = xhr.status === 413 ? xhr.responseText : "The upload failed. Please try again.";
    refusal.hidden = false;
  });
  form.addEventListener("htmx:afterRequest", () => { progress.hidden = true; form.reset(); });
})();
