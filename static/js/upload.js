// The workspace page. Static, so that a Content-Security-Policy needs no 'unsafe-inline'.

// A pasted entry that was taken empties the form for the next one.
document.addEventListener("htmx:afterRequest", (event) => {
  if (event.detail.elt.id === "entry-form" && event.detail.successful) event.detail.elt.reset();
});

// "Tick every document" in the documents list's header.
document.addEventListener("change", (event) => {
  if (event.target.id !== "pick-all") return;
  document.querySelectorAll('input[name="documents"][form="bulk-form"]').forEach((box) => {
    box.checked = event.target.checked;
  });
});

// Drag-and-drop onto the upload zone, and a progress bar while the files go up.
(function () {
  const form = document.getElementById("upload-form");
  if (!form) return;
  const zone = document.getElementById("dropzone");
  const input = document.getElementById("id_files");
  const progress = document.getElementById("upload-progress");
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
  form.addEventListener("htmx:xhr:progress", (event) => {
    progress.hidden = false;
    progress.value = (event.detail.loaded / event.detail.total) * 100;
  });
  form.addEventListener("htmx:afterRequest", () => { progress.hidden = true; form.reset(); });
})();
