// Measures: the "Enter a scale" picker on the trajectory page points its Start link at the chosen scale.
(function () {
  "use strict";
  function wire() {
    var form = document.getElementById("administer-form");
    var select = document.getElementById("administer-scale");
    var go = document.getElementById("administer-go");
    if (!form || !select || !go) return;
    select.addEventListener("change", function () {
      go.setAttribute("href", form.getAttribute("data-base") + encodeURIComponent(select.value) + "/");
    });
  }
  document.addEventListener("DOMContentLoaded", wire);
})();
