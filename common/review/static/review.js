// Keyboard shortcuts for the review page (served as /static/review.js; the CSP allows scripts from 'self'
// only, so there is no inline script anywhere). Every key has a plain link or button behind it: the page
// works without this file.
//
// Queue:  j / k select the next / previous row, o / Enter / e open it, x ticks it for a bulk decision.
// Item:   c confirm, r reject, u not sure, j next item, k previous item, e open the evidence,
//         q back to the queue.   Everywhere: ? shows or hides the key list, Esc hides it.
// Keys never fire while typing in a field (Esc leaves the field), nor with Ctrl / Alt / Meta held.
(function () {
  "use strict";

  function typing(el) {
    if (!el || !el.tagName) return false;
    var tag = el.tagName.toLowerCase();
    return tag === "input" || tag === "textarea" || tag === "select" || el.isContentEditable;
  }

  function go(selector) {
    var link = document.querySelector(selector);
    if (link && link.href) {
      window.location.assign(link.href);
      return true;
    }
    return false;
  }

  var submitted = false; // one decision per page: a second key press must not post twice
  function decide(selector) {
    var button = document.querySelector(selector);
    if (!button || submitted) return false;
    submitted = true;
    button.click();
    return true;
  }

  function rows() {
    return Array.prototype.slice.call(document.querySelectorAll("#queue tr.item"));
  }

  function select(delta) {
    var all = rows();
    if (!all.length) return false;
    var at = all.findIndex(function (r) { return r.classList.contains("selected"); });
    var next = at < 0 ? 0 : Math.min(all.length - 1, Math.max(0, at + delta));
    if (at >= 0) all[at].classList.remove("selected");
    all[next].classList.add("selected");
    all[next].scrollIntoView({ block: "nearest" });
    return true;
  }

  function selected() {
    return document.querySelector("#queue tr.item.selected");
  }

  function openSelected() {
    var row = selected();
    var link = row && row.querySelector("a.open");
    if (!link) return false;
    window.location.assign(link.href);
    return true;
  }

  function tickSelected() {
    var row = selected();
    var box = row && row.querySelector("input.pick");
    if (!box) return false;
    box.checked = !box.checked;
    return true;
  }

  function toggleHelp(show) {
    var help = document.getElementById("keys-help");
    if (!help) return false;
    help.hidden = show === undefined ? !help.hidden : !show;
    return true;
  }

  function openEvidence() {
    if (go("#evidence-pdf")) return true;
    var table = document.getElementById("signals");
    if (!table) return false;
    table.scrollIntoView({ block: "start" });
    return true;
  }

  var QUEUE = {
    j: function () { return select(1); },
    k: function () { return select(-1); },
    o: openSelected,
    e: openSelected,
    Enter: openSelected,
    x: tickSelected,
  };
  var ITEM = {
    c: function () { return decide("#confirm"); },
    r: function () { return decide("#reject"); },
    u: function () { return decide("#not-sure"); },
    j: function () { return go("#next-item"); },
    k: function () { return go("#prev-item"); },
    e: openEvidence,
    q: function () { return go("#back-to-queue"); },
  };

  document.addEventListener("keydown", function (ev) {
    if (ev.ctrlKey || ev.metaKey || ev.altKey || ev.isComposing) return;
    if (typing(ev.target)) {
      if (ev.key === "Escape") ev.target.blur();
      return;
    }
    if (ev.key === "Enter" && ev.target !== document.body) return; // a focused link or button keeps its Enter
    var done = false;
    if (ev.key === "?") done = toggleHelp();
    else if (ev.key === "Escape") done = toggleHelp(false);
    else {
      var page = document.body.getAttribute("data-page");
      var keys = page === "queue" ? QUEUE : page === "item" ? ITEM : {};
      var action = Object.prototype.hasOwnProperty.call(keys, ev.key) ? keys[ev.key] : null;
      done = action ? action() : false;
    }
    if (done) ev.preventDefault();
  });

  document.addEventListener("DOMContentLoaded", function () {
    if (document.body.getAttribute("data-page") === "queue") select(0);
  });
})();
