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
  function tick() {
    var now = Date.now();
    document.querySelectorAll("[data-since]").forEach(function (el) {
      var start = Date.parse(el.getAttribute("data-since"));
      if (isNaN(start)) return;
      var s = Math.max(0, Math.floor((now - start) / 1000));
      var h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
      el.textContent = (h ? h + ":" + pad(m) : m) + ":" + pad(sec);
    });
    // Due markers: <span data-due="ISO-8601"> gets class "overdue" once the moment has passed.
    document.querySelectorAll("[data-due]").forEach(function (el) {
      var due = Date.parse(el.getAttribute("data-due"));
      if (!isNaN(due)) el.classList.toggle("overdue", now > due);
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
