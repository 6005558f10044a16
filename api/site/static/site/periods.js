/* The time slider of a scenario page: redraws the per-period link layer (queues by colour,
   flow by width) for the chosen 15 minutes, before or after the change. Our own code, served
   from our host; the layer comes from our own server (the slider's data-source, about 0.5 MB,
   so it is not in the page) and reaches the map as numbers only. */
(function () {
  "use strict";
  if (!window.L) { return; }
  var el = document.getElementById("map-periods");
  var slider = document.getElementById("period-slider");
  var variant = document.getElementById("period-variant");
  var output = document.getElementById("period-label");
  if (!el || !slider || !variant) { return; }
  var state = (window.civicMaps || []).filter(function (s) { return s && s.el === el; })[0];
  if (!state) { return; }
  var labels = JSON.parse(slider.getAttribute("data-labels"));

  function colour(queue) {
    /* blue to dark orange-brown: ordered, and safe for red-green colour blindness */
    if (queue >= 100) { return "#5c2b06"; }
    if (queue >= 50) { return "#b35806"; }
    if (queue >= 10) { return "#8073ac"; }
    return "#2166ac";
  }

  function style(feature) {
    var p = feature.properties, i = Number(slider.value), after = variant.value === "after";
    var flow = (after ? p._fs : p._fb)[i] || 0, queue = (after ? p._qs : p._qb)[i] || 0;
    return { color: colour(queue), weight: 1.5 + Math.min(8, Math.sqrt(flow / 40)), opacity: 0.9 };
  }

  var data = { features: [] };
  var layer = L.geoJSON(null, { style: style, interactive: false }).addTo(state.map);

  function update() {
    layer.setStyle(style);
    var label = labels[Number(slider.value)] || "";
    slider.setAttribute("aria-valuetext", label);
    output.textContent = label;
    el.setAttribute("data-period", label);
    if (state.status) {
      var texts = (state.cfg.extra || {}).drawn || "{n}";
      state.status.textContent = texts.replace("{n}", String(data.features.length)).replace("{period}", label);
    }
  }

  slider.addEventListener("input", update);
  variant.addEventListener("change", update);
  update();
  fetch(slider.getAttribute("data-source"), { credentials: "same-origin" })
    .then(function (resp) { return resp.ok ? resp.json() : Promise.reject(resp.status); })
    .then(function (json) {
      data = json;
      layer.addData(json);
      update();
      el.setAttribute("data-periods-loaded", String(json.features.length));
    })
    .catch(function () { el.setAttribute("data-periods-loaded", "failed"); });
})();
