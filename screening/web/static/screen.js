// The screening page's keyboard: i / e / m decide, r reason, n note, u undo, ? keys, Esc leaves a field.
// Each decision is posted with the session's CSRF token and the page swaps in the next record.
(function () {
  "use strict";
  const csrf = document.body.dataset.csrf;
  let busy = false;

  function record() { return document.getElementById("record"); }

  async function post(form, extra) {
    if (busy) return;
    busy = true;
    const data = new FormData(form);
    for (const [k, v] of Object.entries(extra || {})) data.set(k, v);
    try {
      const response = await fetch(form.action, {
        method: "POST", body: data, credentials: "same-origin",
        headers: { "X-CSRF-Token": csrf, "HX-Request": "true" },
      });
      const html = await response.text();
      const holder = document.createElement("div");
      holder.innerHTML = html;
      const fresh = holder.querySelector("#record");
      if (fresh) {
        record().replaceWith(fresh);
      } else {
        const msg = document.createElement("div");
        msg.innerHTML = html;
        msg.className = "flash error";
        record().prepend(msg);
      }
    } finally {
      busy = false;
    }
  }

  function decide(decision) {
    const form = document.getElementById("decide-form");
    if (form) post(form, { decision: decision });
  }

  document.addEventListener("submit", function (event) {
    const form = event.target;
    if (form.id === "decide-form" || form.id === "undo-form") {
      event.preventDefault();
      post(form, event.submitter && event.submitter.name ? { [event.submitter.name]: event.submitter.value } : {});
    }
  });

  document.addEventListener("keydown", function (event) {
    const target = event.target;
    const typing = target && (target.tagName === "TEXTAREA" || target.tagName === "INPUT" || target.tagName === "SELECT");
    if (event.key === "Escape" && typing) { target.blur(); return; }
    if (typing || event.ctrlKey || event.metaKey || event.altKey) return;
    const key = event.key.toLowerCase();
    if (key === "i") { event.preventDefault(); decide("include"); }
    else if (key === "e") { event.preventDefault(); decide("exclude"); }
    else if (key === "m") { event.preventDefault(); decide("maybe"); }
    else if (key === "u") { event.preventDefault(); const f = document.getElementById("undo-form"); if (f) post(f); }
    else if (key === "r") { event.preventDefault(); const r = document.getElementById("reason"); if (r) r.focus(); }
    else if (key === "n") { event.preventDefault(); const n = document.getElementById("note"); if (n) n.focus(); }
    else if (key === "?") { event.preventDefault(); document.getElementById("help").classList.toggle("hidden"); }
  });
})();
