// The zones a closure cuts off: when the dry run (POST /api/scenarios/validate) refuses edits that
// leave zones without any path, it lists them (`cut_off`, each at its centroid). studio.js hands
// every dry-run answer to `window.studioCutoff.show`: circles sized by the zone pairs lost, a
// popup per zone, and a one-line summary under the check result; all cleared when none are cut off.
"use strict";
window.studioCutoff = (function () {
  const strings = document.getElementById("studio-strings");
  const line = document.getElementById("studio-cutoff");
  if (!strings || !line) return null;
  const T = JSON.parse(strings.textContent);
  const map = window.studioMap ? window.studioMap.map : null;
  const layer = map ? L.layerGroup().addTo(map) : null;

  function fill(text, values) {  // "{zone}" -> values.zone, like the other studio strings
    return Object.keys(values).reduce((s, k) => s.split("{" + k + "}").join(String(values[k])), text);
  }

  function marker(zone, most) {  // area grows with the pairs lost: radius 5..20 px
    const radius = 5 + 15 * Math.sqrt(zone.pairs / most);
    const label = document.createElement("span");
    label.textContent = fill(zone.pairs === 1 ? T.cut_off_zone_one : T.cut_off_zone, { zone: zone.zone, n: zone.pairs.toLocaleString(document.documentElement.lang || undefined) });
    return L.circleMarker([zone.lat, zone.lon], {
      radius, color: "#b3261e", weight: 2, fillOpacity: 0.35, className: "studio-cutoff-zone",
    }).bindPopup(label);
  }

  function show(doc) {  // draw the zones `doc` (a dry-run answer, or null) cuts off; else clear
    const zones = (doc && doc.cut_off) || [];
    if (layer) layer.clearLayers();
    line.hidden = zones.length === 0;
    line.textContent = "";
    if (!zones.length) return;
    const most = Math.max(...zones.map((z) => z.pairs));
    if (layer) zones.forEach((z) => marker(z, most).addTo(layer));
    const total = doc.cut_off_total || zones.length;
    let text = fill(total === 1 ? T.cut_off_summary_one : T.cut_off_summary, { n: total.toLocaleString(document.documentElement.lang || undefined) });
    if (total > zones.length) text += " — " + fill(T.cut_off_top, { shown: zones.length });
    line.textContent = text;
  }

  return { show };
})();
