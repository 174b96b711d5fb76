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
// the server's refusal of an oversized upload; a folder, picked or dropped, with its paths.
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
  const folder = document.getElementById("id_folder");
  const paths = document.getElementById("upload-paths");
  const send = () => { if (input.files.length) htmx.trigger(form, "submit"); };
  input.addEventListener("change", () => { paths.value = ""; send(); });
  // A folder's files go up through the same input, with their paths inside the folder
  // (in the same order) beside them: the server makes tags of the folders. Hidden files
  // (.DS_Store, .git/...) are left behind.
  const sendWithPaths = (found) => {
    const kept = new DataTransfer();
    const names = [];
    found
      .filter(({ path }) => !path.split("/").some((part) => part.startsWith(".")))
      .sort((a, b) => a.path.localeCompare(b.path))
      .forEach(({ file, path }) => { kept.items.add(file); names.push(path); });
    input.files = kept.files;
    paths.value = JSON.stringify(names);
    send();
  };
  folder.addEventListener("change", () => {
    sendWithPaths(Array.from(folder.files, (file) => ({ file, path: file.webkitRelativePath || file.name })));
    folder.value = "";
  });
  // A dropped folder is walked through the File System API; readEntries answers in batches.
  const walk = (entry, found) => new Promise((resolve) => {
    if (entry.isFile) {
      entry.file((file) => { found.push({ file, path: entry.fullPath.replace(/^\//, "") }); resolve(); }, () => resolve());
      return;
    }
    const reader = entry.createReader();
    const children = [];
    const more = () => reader.readEntries((batch) => {
      if (batch.length) { children.push(...batch); more(); return; }
      Promise.all(children.map((child) => walk(child, found))).then(resolve);
    }, () => resolve());
    more();
  });
  ["dragenter", "dragover"].forEach((name) => zone.addEventListener(name, (event) => {
    event.preventDefault();
    zone.classList.add("over");
  }));
  ["dragleave", "drop"].forEach((name) => zone.addEventListener(name, () => zone.classList.remove("over")));
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    // Entries must be taken before the handler returns: the drop's items are gone after.
    const entries = Array.from(event.dataTransfer.items || [], (item) => item.webkitGetAsEntry && item.webkitGetAsEntry())
      .filter(Boolean);
    if (!entries.some((entry) => entry.isDirectory)) {
      input.files = event.dataTransfer.files;
      paths.value = "";
      send();
      return;
    }
    const found = [];
    Promise.all(entries.map((entry) => walk(entry, found))).then(() => sendWithPaths(found));
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
  form.addEventListener("htmx:afterRequest", () => { progress.hidden = true; form.reset(); paths.value = ""; });
})();
