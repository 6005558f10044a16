/* Small enhancements; every page works without them. Copy buttons appear only with JavaScript. */
(function () {
  "use strict";
  var status = document.getElementById("copy-status");

  function copy(text, button) {
    var done = function () {
      if (status) { status.textContent = button.getAttribute("data-copied") || "✓"; }
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, function () {});
    }
  }

  // Facets fold away on a phone unless a filter is already chosen (the summary opens them).
  if (window.matchMedia && window.matchMedia("(max-width: 47.99rem)").matches) {
    document.querySelectorAll("details[data-collapse-narrow]").forEach(function (box) {
      if (!box.querySelector("input:checked")) { box.open = false; }
    });
  }

  document.querySelectorAll("button[data-copy], button[data-copy-href]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () {
      var id = button.getAttribute("data-copy");
      if (id) {
        copy(document.getElementById(id).textContent, button);
      } else {
        copy(document.getElementById(button.getAttribute("data-copy-href")).href, button);
      }
    });
  });
})();
