// Grader pages: the live preview of typed answers, waiting for a grade, a regrade's progress bar, file upload.
// Everything works from the keyboard; messages go to aria-live regions so screen readers announce them.
"use strict";

(function () {
  const PREVIEW_DELAY_MS = 150;
  const POLL_MS = 400;

  function debounce(fn, ms) {
    let timer = null;
    return function () {
      clearTimeout(timer);
      timer = setTimeout(fn, ms);
    };
  }

  function shortNumber(x) {
    return String(Number(x.toPrecision(6)));
  }

  // A typed answer, read by the server's parser and shown as MathML (or the parser's message).
  function setUpPreview(form) {
    const set = form.dataset.set;
    const problem = form.dataset.problem;
    form.querySelectorAll("[data-preview]").forEach(function (input) {
      const out = document.getElementById(input.id + "-preview");
      let sequence = 0;
      const update = debounce(function () {
        const mine = ++sequence;
        const text = input.value;
        if (!text.trim()) {
          out.className = "preview";
          out.replaceChildren();
          input.removeAttribute("aria-invalid");
          return;
        }
        fetch("/preview", {
          method: "POST",
          credentials: "same-origin",
          headers: {"Content-Type": "application/json", "Accept": "application/json"},
          body: JSON.stringify({text: text, set: set, problem: problem}),
        }).then(function (response) {
          return response.json().then(function (body) { return {status: response.status, body: body}; });
        }).then(function (answer) {
          if (mine !== sequence) return;  // a newer keystroke has its own request
          const body = answer.body;
          if (answer.status !== 200) {
            out.className = "preview error";
            out.textContent = "No preview: " + (body.detail || "the server refused the request");
          } else if (body.ok) {
            out.className = "preview ok";
            out.innerHTML = body.mathml;  // built by the server from the parsed tree, every text escaped
            const plain = /^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$/.test(text);
            if (body.value !== null && !plain) {
              const value = document.createElement("span");
              value.className = "value";
              value.textContent = "= " + shortNumber(body.value);
              out.appendChild(value);
            }
            input.removeAttribute("aria-invalid");
          } else {
            out.className = "preview error";
            out.textContent = body.error;
            input.setAttribute("aria-invalid", "true");
          }
        }).catch(function () {
          if (mine !== sequence) return;
          out.className = "preview error";
          out.textContent = "No preview: the server did not answer.";
        });
      }, PREVIEW_DELAY_MS);
      input.addEventListener("input", update);
    });
  }

  // A submission being graded: ask until it has a grade, then show the page with its feedback.
  function waitForGrade(element) {
    const url = element.dataset.poll;
    function ask() {
      fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
        .then(function (response) { return response.json(); })
        .then(function (body) {
          if (body.status && body.status !== "queued") {
            window.location.reload();
          } else {
            setTimeout(ask, POLL_MS);
          }
        })
        .catch(function () { setTimeout(ask, POLL_MS * 5); });
    }
    setTimeout(ask, POLL_MS);
  }

  // A regrade's progress bar and its status line.
  function followRegrade(box) {
    const url = box.dataset.progress;
    const bar = box.querySelector("progress");
    const line = box.querySelector(".status-line");
    function show(p) {
      bar.value = p.percent;
      bar.textContent = p.percent + " %";
      line.textContent = p.finished
        ? "Finished: " + p.done + " graded, " + p.failed + " failed, of " + p.total + " (" + p.percent + " %)."
        : (p.done + p.failed) + " of " + p.total + " graded (" + p.percent + " %).";
    }
    function ask() {
      fetch(url, {credentials: "same-origin", headers: {"Accept": "application/json"}})
        .then(function (response) { return response.json(); })
        .then(function (p) {
          show(p);
          if (!p.finished) setTimeout(ask, POLL_MS);
        })
        .catch(function () { setTimeout(ask, POLL_MS * 5); });
    }
    ask();
  }

  // Upload: a chosen file fills the text area (which is what the form sends).
  function setUpUpload() {
    const file = document.getElementById("file");
    const source = document.getElementById("source");
    const name = document.getElementById("filename");
    const status = document.getElementById("file-status");
    if (!file || !source) return;
    file.addEventListener("change", function () {
      const chosen = file.files && file.files[0];
      if (!chosen) return;
      chosen.text().then(function (text) {
        source.value = text;
        name.value = chosen.name;
        const lines = text.split("\n").length;
        status.textContent = "Loaded " + chosen.name + " (" + lines + " lines) into the text below.";
      }).catch(function () {
        status.textContent = "Could not read " + chosen.name + ".";
      });
    });
  }

  // "Go to line N": select that line in the text area, ready to fix.
  function setUpGotoLine() {
    document.querySelectorAll("[data-goto-line]").forEach(function (button) {
      button.addEventListener("click", function () {
        const area = document.getElementById(button.dataset.target);
        const wanted = Number(button.dataset.gotoLine);
        const lines = area.value.split("\n");
        let start = 0;
        for (let i = 0; i < wanted - 1 && i < lines.length; i++) start += lines[i].length + 1;
        const end = start + (lines[wanted - 1] || "").length;
        area.focus();
        area.setSelectionRange(start, end);
        const lineHeight = parseFloat(getComputedStyle(area).lineHeight) || 18;
        area.scrollTop = Math.max(0, (wanted - 4) * lineHeight);
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form[data-set]").forEach(setUpPreview);
    document.querySelectorAll("[data-poll]").forEach(waitForGrade);
    document.querySelectorAll("[data-progress]").forEach(followRegrade);
    setUpUpload();
    setUpGotoLine();
    if (window.location.hash === "#feedback") {
      const feedback = document.getElementById("feedback");
      if (feedback) feedback.focus();
    }
  });
})();
