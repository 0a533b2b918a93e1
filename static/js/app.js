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
// A refused form keeps what was typed. A form that posts and is redirected back (the cockpit's steps, the drug
// account, a cancellation, a ledger reversal, a waitlist removal) is drawn again from the record, in which the
// refusal changed nothing: what was typed would be gone. Such forms are marked data-keep-typed (on the form or
// around it); when one is sent, its fields are kept in this tab (not passwords, files, hidden fields or the
// disabled), and the next page takes them back: into the same form (same address and hidden fields) when that page
// says a POST to that address was refused (a message marked data-refused="<address>": ketaclinic/formfields.py
// say_refused), and away in any case.
(function () {
  "use strict";
  var KEY = "kc-refused-form";
  function keepable(el) {
    return el.name && el.name !== "csrfmiddlewaretoken" && !el.disabled && !el.readOnly
      && !/^(hidden|password|file|submit|button|reset|image)$/.test(el.type);
  }
  function hidden(f) {
    var out = [];
    Array.prototype.forEach.call(f.elements, function (el) {
      if (el.type === "hidden" && el.name && el.name !== "csrfmiddlewaretoken") out.push(el.name + "=" + el.value);
    });
    return out.join("&");
  }
  // getAttribute: a field named "method" (a destruction's) or "action" (the drug account's) stands in for the property
  function address(f) { return new URL(f.getAttribute("action") || window.location.href, window.location.href).pathname; }
  function kept(f) {
    return (f.getAttribute("method") || "").toLowerCase() === "post" && !!f.closest("[data-keep-typed]")
      && !f.hasAttribute("hx-post") && !f.querySelector("input[type=password]");
  }
  document.addEventListener("submit", function (event) {
    var f = event.target;
    if (event.defaultPrevented || !(f instanceof HTMLFormElement) || !kept(f)) return;
    var fields = [];
    Array.prototype.forEach.call(f.elements, function (el) {
      if (!keepable(el)) return;
      fields.push({ name: el.name, value: el.value, checked: (el.type === "checkbox" || el.type === "radio") ? el.checked : null });
    });
    try {
      sessionStorage.setItem(KEY, JSON.stringify({ address: address(f), hidden: hidden(f), fields: fields }));
    } catch (e) { /* storage off: nothing kept */ }
  });
  function giveBack() {
    var raw = null;
    try { raw = sessionStorage.getItem(KEY); sessionStorage.removeItem(KEY); } catch (e) { return; }
    if (!raw) return;
    var typed = JSON.parse(raw);
    if (!document.querySelector('[data-refused="' + CSS.escape(typed.address) + '"]')) return;
    var form = Array.prototype.find.call(document.querySelectorAll("form"), function (f) {
      return kept(f) && address(f) === typed.address && hidden(f) === typed.hidden;
    });
    if (!form) return;
    var els = Array.prototype.filter.call(form.elements, keepable);
    typed.fields.forEach(function (k) {
      els.forEach(function (el) {
        if (el.name !== k.name) return;
        if (k.checked === null) { if (el.type !== "checkbox" && el.type !== "radio") el.value = k.value; }
        else if (el.value === k.value) el.checked = k.checked;
      });
    });
    for (var d = form.closest("details"); d; d = d.parentElement && d.parentElement.closest("details")) d.open = true;
  }
  document.addEventListener("DOMContentLoaded", giveBack);
})();
