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
    // paused the dose): the draft is in the record or on the screen now, never to be typed in again. The status is
    // read from the answer itself: on a reload (HX-Refresh) htmx leaves before it sets detail.successful, and the
    // reloaded row would have been filled again with the reading just saved.
    var xhr = e.detail.xhr, answered = xhr && xhr.status >= 200 && xhr.status < 300;
    if (e.detail.elt && e.detail.elt.id === "vitals-form" && (e.detail.successful || answered)) clear();
  });
  function failed(e) {
    if (e.detail.elt && e.detail.elt.id === "vitals-form") {
      status("Not saved: connection lost. The row is kept here; press Enter to try again.", true);
    }
  }
  document.addEventListener("htmx:sendError", failed);
  document.addEventListener("htmx:responseError", failed);
})();
// Vitals trend: the chart is drawn by the server (templates/treatments/_vitals_trend.html); a row saved in place
// (only the row comes back) is added to it here from the data-* values on the row's Level cell, on the same scales. A reading past
// the chart's right edge widens the time axis (every time-placed mark moves in proportion).
(function () {
  "use strict";
  var NS = "http://www.w3.org/2000/svg";
  function svg() { return document.querySelector("#vitals-trend svg"); }
  function num(el, name) { return parseFloat(el.getAttribute(name)); }
  function plotted(chart) {
    var last = chart.getAttribute("data-plotted");
    if (last) return Date.parse(last);
    var rows = document.querySelectorAll("#vitals-rows td[data-at]"), max = 0;
    rows.forEach(function (r) { max = Math.max(max, Date.parse(r.getAttribute("data-at"))); });
    return max;
  }
  function widen(chart, t0, t1, to) {
    var left = num(chart, "data-left"), k = (t1 - t0) / (to - t0);
    function sx(x) { return (left + (x - left) * k).toFixed(1); }
    chart.querySelectorAll(".xt").forEach(function (el) {
      ["x", "x1", "x2"].forEach(function (a) { if (el.hasAttribute(a)) el.setAttribute(a, sx(num(el, a))); });
    });
    chart.querySelectorAll("g.series").forEach(function (g) {
      var line = g.querySelector("polyline");
      line.setAttribute("points", line.getAttribute("points").trim().split(/\s+/).filter(Boolean).map(function (p) {
        var xy = p.split(","); return sx(parseFloat(xy[0])) + "," + xy[1];
      }).join(" "));
      g.querySelectorAll("circle").forEach(function (c) { c.setAttribute("cx", sx(num(c, "cx"))); });
      g.querySelectorAll("rect").forEach(function (r) { r.setAttribute("x", sx(num(r, "x") + 3) - 3); });
    });
    chart.setAttribute("data-t1", new Date(to).toISOString());
  }
  function add(chart, row) {
    var t = Date.parse(row.getAttribute("data-at"));
    var t0 = Date.parse(chart.getAttribute("data-t0")), t1 = Date.parse(chart.getAttribute("data-t1"));
    if (isNaN(t) || t < t0) return;
    if (t > t1) { widen(chart, t0, t1, t + 10 * 60000); t1 = Date.parse(chart.getAttribute("data-t1")); }
    var left = num(chart, "data-left"), right = num(chart, "data-right");
    var x = left + (t - t0) / (t1 - t0) * (right - left);
    chart.querySelectorAll("g.series").forEach(function (g) {
      var v = parseFloat(row.getAttribute("data-" + g.getAttribute("data-field")));
      if (isNaN(v)) return;
      var lo = num(g, "data-lo"), hi = num(g, "data-hi"), top = num(g, "data-top"), bottom = num(g, "data-bottom");
      var y = bottom - (Math.min(Math.max(v, lo), hi) - lo) / (hi - lo) * (bottom - top);
      var line = g.querySelector("polyline");
      line.setAttribute("points", (line.getAttribute("points") + " " + x.toFixed(1) + "," + y.toFixed(1)).trim());
      var mark;
      if (g.classList.contains("heart")) {
        mark = document.createElementNS(NS, "rect");
        mark.setAttribute("x", (x - 3).toFixed(1)); mark.setAttribute("y", (y - 3).toFixed(1));
        mark.setAttribute("width", "6"); mark.setAttribute("height", "6");
      } else {
        mark = document.createElementNS(NS, "circle");
        mark.setAttribute("cx", x.toFixed(1)); mark.setAttribute("cy", y.toFixed(1));
        mark.setAttribute("r", g.classList.contains("diastolic") ? "3.2" : "3.5");
      }
      g.appendChild(mark);
    });
  }
  document.addEventListener("htmx:afterSettle", function () {
    var chart = svg(); if (!chart) return;
    var since = plotted(chart), newest = since;
    document.querySelectorAll("#vitals-rows td[data-at]").forEach(function (row) {
      var t = Date.parse(row.getAttribute("data-at"));
      if (t > since) { add(chart, row); newest = Math.max(newest, t); }
    });
    chart.setAttribute("data-plotted", new Date(newest).toISOString());
  });
  document.addEventListener("DOMContentLoaded", function () {
    var chart = svg(); if (chart) chart.setAttribute("data-plotted", new Date(plotted(chart)).toISOString());
  });
})();
