/* The time slider of a scenario page: redraws the per-period link layer (queues by colour,
   flow by width) for the chosen 15 minutes, before or after the change. Our own code, served
   from our host; data comes from the page's own JSON and reaches it as numbers only. */
(function () {
  "use strict";
  if (!window.L) { return; }
  var el = document.getElementById("map-periods");
  var source = document.getElementById("scenario-periods");
  var slider = document.getElementById("period-slider");
  var variant = document.getElementById("period-variant");
  var output = document.getElementById("period-label");
  if (!el || !source || !slider || !variant) { return; }
  var state = (window.civicMaps || []).filter(function (s) { return s && s.el === el; })[0];
  if (!state) { return; }
  var labels = JSON.parse(slider.getAttribute("data-labels"));
  var data = JSON.parse(source.textContent);

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

  var layer = L.geoJSON(data, { style: style, interactive: false }).addTo(state.map);

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
})();
