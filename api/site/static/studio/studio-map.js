// The studio's map: the city's streets (basemap tiles), every edit that has an area drawn on
// it, and drawing a new area by clicking its corners (a speed limit inside it, or a cordon
// charge on every street entering it). Plain Leaflet (vendored), no drawing plugin: a polygon
// is a list of clicked points, which is all a planner needs here. The street search beside the
// map stays the keyboard way to add edits.
"use strict";
window.studioMap = (function () {
  const el = document.getElementById("studio-map");
  if (!el || !window.L) return null;
  const cfg = JSON.parse(document.getElementById("studio-map-config").textContent);
  const map = L.map(el, { scrollWheelZoom: false, keyboard: true });
  map.attributionControl.setPrefix("Leaflet");
  L.tileLayer(cfg.tiles, { maxZoom: 19, attribution: cfg.attribution }).addTo(map);
  map.fitBounds([[cfg.bbox[1], cfg.bbox[0]], [cfg.bbox[3], cfg.bbox[2]]]);
  const edits = L.layerGroup().addTo(map);
  let points = null;
  let sketch = null;

  function parse(wkt) {  // POLYGON ((lon lat, ...)) -> [[lat, lon], ...]; other shapes: null
    const m = /^\s*POLYGON\s*\(\(([^()]+)\)\)\s*$/i.exec(wkt || "");
    if (!m) return null;
    return m[1].split(",").map((pair) => pair.trim().split(/\s+/).map(Number)).map(([x, y]) => [y, x]);
  }

  function wkt(latlngs) {
    const ring = latlngs.concat([latlngs[0]]).map((p) => p.lng.toFixed(6) + " " + p.lat.toFixed(6));
    return "POLYGON ((" + ring.join(", ") + "))";
  }

  function show(list) {  // draw every edit with an area, as it is made
    edits.clearLayers();
    list.forEach((edit) => {
      const ring = parse(edit.polygon);
      if (ring) {
        const colour = edit.type === "cordon_charge" ? "#b3261e" : "#0b5cad";
        L.polygon(ring, { color: colour, weight: 3, fillOpacity: 0.1 }).addTo(edits);
      }
    });
  }

  function start() {
    points = [];
    if (sketch) sketch.remove();
    sketch = L.polyline([], { color: "#1b1b1b", dashArray: "4 4" }).addTo(map);
    el.classList.add("drawing");
    map.doubleClickZoom.disable();  // quick corner clicks must not zoom the map
  }

  map.on("click", (event) => {
    if (points === null) return;
    points.push(event.latlng);
    sketch.setLatLngs(points);
    el.dataset.points = String(points.length);
  });

  function finish() {  // the drawn area as WKT, or null with fewer than three corners
    const done = points && points.length >= 3 ? wkt(points) : null;
    if (sketch) sketch.remove();
    points = null;
    sketch = null;
    el.classList.remove("drawing");
    map.doubleClickZoom.enable();
    delete el.dataset.points;
    return done;
  }

  function refresh() {  // the map was hidden until the builder opened: measure it again
    map.invalidateSize();
    map.fitBounds([[cfg.bbox[1], cfg.bbox[0]], [cfg.bbox[3], cfg.bbox[2]]]);
  }

  return { show, start, finish, refresh };
})();
