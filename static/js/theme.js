// Dimmed-room display: runs in <head> before the page is drawn, so a device set to the low-light theme never
// flashes a bright page. The choice is this device's own (localStorage), made with the "Dimmed room" switch in the
// staff header (app.js); the default is the light theme. No inline script: the Content-Security-Policy forbids it.
(function () {
  "use strict";
  try {
    if (window.localStorage.getItem("kc-theme") === "dim") document.documentElement.classList.add("theme-dim");
  } catch (e) { /* storage off: the light theme */ }
})();
