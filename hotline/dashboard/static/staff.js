// PB Hotline staff dashboard: keyboard shortcuts, the player's helpers, live turnout.
// Everything works without this file; it only makes the work faster.
(function () {
  "use strict";

  function typing(el) {
    if (!el) return false;
    var tag = el.tagName;
    return tag === "TEXTAREA" || tag === "SELECT" || el.isContentEditable ||
      (tag === "INPUT" && !/^(checkbox|radio|button|submit|reset)$/i.test(el.type));
  }

  function go(link) { if (link) window.location.href = link.href || link; }

  // ---- the inbox: j/k to move, Enter to open, / to search ----
  function inbox() {
    var table = document.getElementById("ideas-table");
    var search = document.getElementById("q");
    var rows = table ? Array.prototype.slice.call(table.tBodies[0].rows) : [];
    var at = -1;
    function select(i) {
      if (!rows.length) return;
      at = Math.max(0, Math.min(rows.length - 1, i));
      rows.forEach(function (r, k) { r.classList.toggle("is-current", k === at); });
      var link = rows[at].querySelector("a");
      if (link) link.focus();
    }
    rows.forEach(function (row, i) {
      row.addEventListener("click", function (e) {
        if (e.target.closest("a")) return;
        go(row.getAttribute("data-href"));
      });
      row.addEventListener("focusin", function () { at = i; });
    });
    document.addEventListener("keydown", function (e) {
      if (e.ctrlKey || e.metaKey || e.altKey) return;
      if (typing(e.target)) { if (e.key === "Escape") e.target.blur(); return; }
      if (e.key === "/" && search) { e.preventDefault(); search.focus(); search.select(); }
      else if (e.key === "j" && rows.length) { e.preventDefault(); select(at + 1); }
      else if (e.key === "k" && rows.length) { e.preventDefault(); select(at - 1); }
      else if ((e.key === "Enter" || e.key === "o") && at >= 0 && e.target.tagName !== "A") { go(rows[at].getAttribute("data-href")); }
    });
  }

  // ---- one idea: play, correct, judge without the mouse ----
  function idea() {
    var form = document.getElementById("judge-form");
    if (!form) return;
    var player = document.getElementById("player");
    var reasons = document.getElementById("reasons");
    var dirty = false;
    var submitting = false;

    form.addEventListener("input", function () { dirty = true; });
    form.addEventListener("change", function () { dirty = true; showReasons(); });
    form.addEventListener("submit", function () { submitting = true; });
    window.addEventListener("beforeunload", function (e) {
      if (dirty && !submitting) { e.preventDefault(); e.returnValue = ""; }
    });

    function showReasons() {
      var chosen = form.querySelector("input[name=eligibility]:checked");
      if (reasons) reasons.setAttribute("data-hidden", chosen && chosen.value === "not_eligible" ? "false" : "true");
    }
    showReasons();

    function toggle() { if (!player) return; if (player.paused) player.play(); else player.pause(); }
    function skip(seconds) {
      if (!player) return;
      player.currentTime = Math.max(0, Math.min((player.duration || 0), player.currentTime + seconds));
    }
    if (player) {
      var length = document.getElementById("audio-length");
      player.addEventListener("loadedmetadata", function () {
        if (length && isFinite(player.duration)) length.textContent = player.duration.toFixed(1) + " s";
      });
      var words = Array.prototype.slice.call(document.querySelectorAll("#machine-words [data-start]"));
      words.forEach(function (w) {
        w.addEventListener("click", function () {
          player.currentTime = parseFloat(w.getAttribute("data-start")) || 0;
          player.play();
        });
      });
      player.addEventListener("timeupdate", function () {
        var t = player.currentTime, current = null;
        words.forEach(function (w) { if (parseFloat(w.getAttribute("data-start")) <= t) current = w; });
        words.forEach(function (w) { w.classList.toggle("playing", w === current && !player.paused); });
      });
    }

    function leave(link) {
      if (!link) return;
      if (dirty && !window.confirm("Leave this idea without saving your changes?")) return;
      submitting = true;
      go(link);
    }
    function focus(id) { var el = document.getElementById(id); if (el) { el.focus(); if (el.select && el.tagName === "TEXTAREA") el.setSelectionRange(el.value.length, el.value.length); } }
    function judge(value) {
      var radio = form.querySelector("input[name=eligibility][value='" + value + "']");
      if (radio) { radio.checked = true; radio.focus(); dirty = true; showReasons(); }
      if (value === "not_eligible" && reasons) {
        var first = reasons.querySelector("input");
        if (first) first.focus();
      }
    }

    document.addEventListener("keydown", function (e) {
      // Works everywhere, text boxes included.
      if ((e.ctrlKey || e.metaKey) && e.key === "Enter") {
        e.preventDefault();
        var next = document.getElementById("save-next");
        submitting = true;
        if (e.shiftKey && next) next.click(); else document.getElementById("save").click();
        return;
      }
      if (e.ctrlKey && (e.key === " " || e.code === "Space")) { e.preventDefault(); toggle(); return; }
      if (e.ctrlKey || e.metaKey || e.altKey) return;
      if (typing(e.target)) { if (e.key === "Escape") e.target.blur(); return; }
      switch (e.key) {
        case "p": e.preventDefault(); toggle(); break;
        case "[": e.preventDefault(); skip(-5); break;
        case "]": e.preventDefault(); skip(5); break;
        case "e": e.preventDefault(); focus("transcript"); break;
        case "s": e.preventDefault(); focus("summary_en"); break;
        case "n": e.preventDefault(); focus("notes"); break;
        case "g": e.preventDefault(); focus("priority"); break;
        case "0": judge(""); break;
        case "1": judge("eligible"); break;
        case "2": judge("not_eligible"); break;
        case "3": judge("follow_up"); break;
        case "j": leave(document.getElementById("next-link")); break;
        case "k": leave(document.getElementById("prev-link")); break;
        case "?": var d = document.querySelector(".shortcuts"); if (d) { d.open = !d.open; d.querySelector("summary").focus(); } break;
      }
    });
  }

  // ---- turnout, refreshed while the page is open ----
  function turnout() {
    var box = document.getElementById("turnout");
    if (!box || !box.getAttribute("data-refresh")) return;
    window.setInterval(function () {
      if (document.hidden) return;
      fetch(box.getAttribute("data-refresh"), { credentials: "same-origin", headers: { "Accept": "text/html" } })
        .then(function (r) { return r.ok ? r.text() : null; })
        .then(function (html) { if (html) box.innerHTML = html; })   // rendered and escaped by the server
        .catch(function () {});
    }, 30000);
  }

  document.addEventListener("DOMContentLoaded", function () { inbox(); idea(); turnout(); });
})();
