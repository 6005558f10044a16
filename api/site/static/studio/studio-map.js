// The studio's map: the city's streets (basemap tiles), every edit drawn on it (an area, or the
// streets a pointed-at edit selects), drawing a new area by clicking its corners (a speed limit
// inside it, or a cordon charge on every street entering it), and pointing at a street (any
// click while no area is being drawn goes to `onPick`, see studio-pick.js). Plain Leaflet (vendored), no drawing plugin: a polygon
// is a list of clicked points, which is all a planner needs here. The street search beside the
// map stays the keyboard way to add edits.
"use strict";
// The basemap under every studio map: our own vector tiles (site/basemap.js), or the third-party
// raster tiles a city opted into with CIVIC_TILE_URL; by default no request leaves our host.
window.studioBasemap = function (map, cfg) {
  const box = document.createElement("span");
  box.textContent = cfg.attribution || "";  // Leaflet writes attributions as HTML: escape it
  if (cfg.tiles) L.tileLayer(cfg.tiles, { maxZoom: 19, attribution: box.innerHTML }).addTo(map);
  else if (cfg.basemap && window.civicBasemap) window.civicBasemap(cfg.basemap, box.innerHTML).addTo(map);
};
window.studioMap = (function () {
  const el = document.getElementById("studio-map");
  if (!el || !window.L) return null;
  const cfg = JSON.parse(document.getElementById("studio-map-config").textContent);
  const map = L.map(el, { scrollWheelZoom: false, keyboard: true });
  map.attributionControl.setPrefix("Leaflet");
  window.studioBasemap(map, cfg);
  map.fitBounds([[cfg.bbox[1], cfg.bbox[0]], [cfg.bbox[3], cfg.bbox[2]]]);
  const edits = L.layerGroup().addTo(map);
  const found = L.layerGroup().addTo(map);  // the street or stretch just pointed at
  const shapes = new WeakMap();  // edit -> GeoJSON of its streets (not part of the spec)
  let points = null;
  let sketch = null;
  let picked = null;
  let once = null;  // a one-shot click handler (placing a development) before `picked`

  function parse(wkt) {  // POLYGON ((lon lat, ...)) -> [[lat, lon], ...]; other shapes: null
    const m = /^\s*POLYGON\s*\(\(([^()]+)\)\)\s*$/i.exec(wkt || "");
    if (!m) return null;
    return m[1].split(",").map((pair) => pair.trim().split(/\s+/).map(Number)).map(([x, y]) => [y, x]);
  }

  function wkt(latlngs) {
    const ring = latlngs.concat([latlngs[0]]).map((p) => p.lng.toFixed(6) + " " + p.lat.toFixed(6));
    return "POLYGON ((" + ring.join(", ") + "))";
  }

  function show(list) {  // draw every edit with an area or pointed-at streets, as it is made
    edits.clearLayers();
    list.forEach((edit) => {
      const ring = parse(edit.polygon);
      const colour = edit.type === "cordon_charge" ? "#b3261e" : edit.type === "close" ? "#1b1b1b" : "#0b5cad";
      if (ring) L.polygon(ring, { color: colour, weight: 3, fillOpacity: 0.1 }).addTo(edits);
      const at = edit.type === "development" ? point(edit.geometry) : null;
      if (at) L.circleMarker(at, { radius: 9, color: "#6a1b9a", weight: 3, fillOpacity: 0.5 }).addTo(edits);
      if (shapes.has(edit)) L.geoJSON(shapes.get(edit), { style: { color: colour, weight: 6, opacity: 0.8 } }).addTo(edits);
    });
  }

  function remember(edit, geometry) { shapes.set(edit, geometry); }

  function highlight(geometry) {  // the street or stretch found by the last click (or none)
    found.clearLayers();
    if (geometry) L.geoJSON(geometry, { style: { color: "#e66100", weight: 7, dashArray: "6 6" } }).addTo(found);
  }

  function onPick(fn) { picked = fn; }

  function placeOnce(fn) { once = fn; el.classList.add("drawing"); }

  function point(wkt) {  // POINT (lon lat) -> [lat, lon]; other shapes: null
    const m = /^\s*POINT\s*\(\s*([-0-9.]+)\s+([-0-9.]+)\s*\)\s*$/i.exec(wkt || "");
    return m ? [Number(m[2]), Number(m[1])] : null;
  }

  function start() {
    points = [];
    if (sketch) sketch.remove();
    sketch = L.polyline([], { color: "#1b1b1b", dashArray: "4 4" }).addTo(map);
    el.classList.add("drawing");
    map.doubleClickZoom.disable();  // quick corner clicks must not zoom the map
  }

  map.on("click", (event) => {
    if (points === null && once) { const fn = once; once = null; el.classList.remove("drawing"); fn(event.latlng); return; }
    if (points === null) { if (picked) picked(event.latlng); return; }
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

  return { map, show, start, finish, refresh, remember, highlight, onPick, placeOnce, bbox: cfg.bbox };
})();
