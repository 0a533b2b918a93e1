// Session cockpit: keyboard-first vitals rows. Each row is its own htmx POST; the row being typed is kept in
// sessionStorage so a dropped connection or reload loses nothing that was already saved and at most that row.
(function () {
  "use strict";
  var FIELDS = ["taken_at", "systolic_mmHg", "diastolic_mmHg", "heart_rate_bpm", "spo2_percent", "respiratory_rate_per_min"];
  function form() { return document.getElementById("vitals-form"); }
  function key() { var f = form(); return f ? "kc-vitals-draft:" + f.getAttribute("action") : null; }
  function save() {
    var f = form(); if (!f) return;
    var draft = {};
    FIELDS.forEach(function (n) { var el = f.elements[n]; if (el && el.value) draft[n] = el.value; });
    try { sessionStorage.setItem(key(), JSON.stringify(draft)); } catch (e) { /* storage may be off */ }
  }
  function restore() {
    var f = form(); if (!f) return;
    if (f.getAttribute("data-saved") === "yes") { clear(); return; }
    var raw = null;
    try { raw = sessionStorage.getItem(key()); } catch (e) { return; }
    if (!raw) return;
    var draft = JSON.parse(raw);
    FIELDS.forEach(function (n) { var el = f.elements[n]; if (el && !el.value && draft[n]) el.value = draft[n]; });
  }
  function clear() { try { sessionStorage.removeItem(key()); } catch (e) { /* ignore */ } }
  function status(msg, isError) {
    var f = form(); if (!f) return;
    var el = f.querySelector(".conn-status"); if (!el) return;
    el.textContent = msg; el.classList.toggle("error", !!isError);
  }
  document.addEventListener("input", function (e) { if (e.target.form && e.target.form.id === "vitals-form") save(); });
  document.addEventListener("DOMContentLoaded", restore);
  document.addEventListener("htmx:afterSwap", function (e) {
    // The row form answers for itself (hx-target="this"); a first or back-dated reading redraws the panel.
    var t = e.detail.target;
    if ((t && (t.id === "vitals" || t.id === "vitals-form")) || (e.detail.elt && e.detail.elt.id === "vitals-form")) {
      restore();
      // Ready for the next row, unless the nurse has already moved on to another field (the swap lands after the
      // save; taking the focus then would type the next words, a lot number say, into Systolic).
      var f = form(), now = document.activeElement;
      var movedOn = now && now !== document.body && !(f && f.contains(now));
      if (!movedOn && f && f.elements.systolic_mmHg) f.elements.systolic_mmHg.focus();
    }
  });
  document.addEventListener("htmx:afterRequest", function (e) {
    // Saved (whatever comes back: the row, a refusal shown with what was typed, or a reload when the reading
    // paused the dose): the draft is in the record or on the screen now, never to be typed in again.
    if (e.detail.elt && e.detail.elt.id === "vitals-form" && e.detail.successful) clear();
  });
  function failed(e) {
    if (e.detail.elt && e.detail.elt.id === "vitals-form") {
      status("Not saved: connection lost. The row is kept here; press Enter to try again.", true);
    }
  }
  document.addEventListener("htmx:sendError", failed);
  document.addEventListener("htmx:responseError", failed);
})();
