// KetaClinic: small progressive enhancements. No inline handlers (CSP forbids them).
(function () {
  "use strict";
  // Confirm buttons: <button data-confirm="Are you sure?">
  document.addEventListener("click", function (event) {
    var el = event.target.closest("[data-confirm]");
    if (el && !window.confirm(el.getAttribute("data-confirm"))) { event.preventDefault(); }
  });
  // Elapsed timers: <span data-since="ISO-8601"> shows mm:ss (or h:mm:ss) since that moment.
  function pad(n) { return n < 10 ? "0" + n : "" + n; }
  // Plain units, worded as ketaclinic/plaintime.py words them (the server draws the first text; this keeps it fresh).
  function duration(minutes) {
    minutes = Math.max(0, minutes);
    if (minutes === 0) return "under 1 min";
    var h = Math.floor(minutes / 60), m = minutes % 60;
    if (!h) return m + " min";
    var said = h + (h === 1 ? " hour" : " hours");
    return m ? said + " " + m + " min" : said;
  }
  function due_words(seconds) {
    if (seconds > 0) return "due in " + duration(Math.ceil(seconds / 60));
    if (seconds > -60) return "due now";
    return "overdue by " + duration(Math.floor(-seconds / 60));
  }
  function tick() {
    var now = Date.now();
    document.querySelectorAll("[data-since]").forEach(function (el) {
      var start = Date.parse(el.getAttribute("data-since"));
      if (isNaN(start)) return;
      if (el.getAttribute("data-format") === "minutes") { el.textContent = duration(Math.floor((now - start) / 60000)); return; }
      var s = Math.max(0, Math.floor((now - start) / 1000));
      var h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
      el.textContent = (h ? h + ":" + pad(m) : m) + ":" + pad(sec);
    });
    // Due markers: <span data-due="ISO-8601"> gets class "overdue" once the moment has passed.
    document.querySelectorAll("[data-due]").forEach(function (el) {
      var due = Date.parse(el.getAttribute("data-due"));
      if (isNaN(due)) return;
      el.classList.toggle("overdue", now > due);
      if (el.getAttribute("data-format") === "due") el.textContent = due_words(Math.trunc((due - now) / 1000));
    });
  }
  setInterval(tick, 1000);
  document.addEventListener("DOMContentLoaded", tick);
  document.addEventListener("htmx:afterSwap", tick);
})();
// Dimmed-room display switch: <button data-theme-toggle aria-pressed>. The class on <html> is set before first
// paint by theme.js; this keeps the switch's state in step and remembers the choice on this device.
(function () {
  "use strict";
  var KEY = "kc-theme", root = document.documentElement;
  function show() {
    var dim = root.classList.contains("theme-dim");
    document.querySelectorAll("[data-theme-toggle]").forEach(function (b) { b.setAttribute("aria-pressed", dim ? "true" : "false"); });
  }
  document.addEventListener("click", function (event) {
    if (!event.target.closest("[data-theme-toggle]")) return;
    var dim = root.classList.toggle("theme-dim");
    try { window.localStorage.setItem(KEY, dim ? "dim" : "light"); } catch (e) { /* storage off: this page only */ }
    show();
  });
  document.addEventListener("DOMContentLoaded", show);
})();
