/* Artnex portal behaviour. Every page works without it; it adds copy buttons, the
   before/after divider, an upload preview and a "working…" state on long submits. */
(function () {
  "use strict";

  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text);
    }
    // Plain-http development servers have no Clipboard API: fall back to a selection.
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "fixed";
    area.style.opacity = "0";
    document.body.appendChild(area);
    area.select();
    var ok = document.execCommand("copy");
    document.body.removeChild(area);
    return ok ? Promise.resolve() : Promise.reject(new Error("copy refused"));
  }

  document.querySelectorAll("[data-copy]").forEach(function (button) {
    button.addEventListener("click", function () {
      var source = document.querySelector(button.dataset.copy);
      if (!source) { return; }
      var text = "value" in source && source.tagName !== "PRE" ? source.value : source.textContent;
      var status = button.closest("section") && button.closest("section").querySelector(".copy-status");
      var label = button.textContent;
      copyText(text).then(function () {
        button.textContent = "Copied";
        if (status) { status.textContent = "Copied to the clipboard."; }
      }, function () {
        if (source.select) { source.select(); }
        if (status) { status.textContent = "Press Ctrl+C (⌘C) to copy the selected key."; }
      });
      window.setTimeout(function () { button.textContent = label; }, 2000);
    });
  });

  document.querySelectorAll("[data-select-on-focus]").forEach(function (input) {
    input.addEventListener("focus", function () { input.select(); });
  });

  document.querySelectorAll("[data-compare]").forEach(function (box) {
    var range = box.querySelector("input[type=range]");
    if (!range) { return; }
    var update = function () { box.style.setProperty("--pos", range.value + "%"); };
    range.addEventListener("input", update);
    update();
  });

  document.querySelectorAll("[data-dropzone]").forEach(function (zone) {
    var input = zone.querySelector("input[type=file]");
    var preview = zone.querySelector("[data-dropzone-preview]");
    if (!input) { return; }
    var show = function () {
      if (!preview || !input.files || !input.files[0]) { return; }
      preview.src = URL.createObjectURL(input.files[0]);
      preview.alt = "Selected image: " + input.files[0].name;
      preview.hidden = false;
    };
    input.addEventListener("change", show);
    ["dragenter", "dragover"].forEach(function (name) {
      zone.addEventListener(name, function (event) { event.preventDefault(); zone.classList.add("dragging"); });
    });
    ["dragleave", "drop"].forEach(function (name) {
      zone.addEventListener(name, function () { zone.classList.remove("dragging"); });
    });
    zone.addEventListener("drop", function (event) {
      event.preventDefault();
      if (event.dataTransfer && event.dataTransfer.files.length) {
        input.files = event.dataTransfer.files;
        show();
      }
    });
  });

  document.querySelectorAll("form[data-busy]").forEach(function (form) {
    form.addEventListener("submit", function () {
      var button = form.querySelector("button[type=submit]");
      var note = form.querySelector(".busy-note");
      // Disabled after the submit has started, so the button's own value is still sent.
      window.setTimeout(function () { if (button) { button.disabled = true; } }, 0);
      if (note) { note.textContent = form.dataset.busy; note.classList.add("active"); }
    });
  });
})();
