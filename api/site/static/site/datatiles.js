/* Large data layers (roads, buildings) drawn from their collection's vector tiles (OGC API -
   Tiles, /collections/<name>/tiles/WebMercatorQuad/{z}/{y}/{x}) with the vendored
   protomaps-leaflet, in the layer's legend colour, instead of one big GeoJSON. A click asks the
   loaded tiles which feature lies under the pointer and reads that feature, by its tile feature
   id (the dataset's `fid`), from the OGC API - Features items endpoint, so its popup shows every
   attribute with human labels. No request leaves our host. */
(function () {
  "use strict";
  if (!window.L || !window.protomapsL) { return; }
  var P = window.protomapsL;
  /* How near (in screen pixels) a click must be to a line to pick it. */
  var REACH = 6;

  function rules(layer) {
    var tiles = layer.tiles;
    if (tiles.shape === "line") {
      return [{ dataLayer: tiles.layer, symbolizer: new P.LineSymbolizer({ color: layer.color, width: 3, opacity: 0.9 }) }];
    }
    return [{ dataLayer: tiles.layer, symbolizer: new P.PolygonSymbolizer({ fill: layer.color, opacity: 0.45, stroke: layer.color, width: 1 }) }];
  }

  /* The id (`fid`) of the feature under `latlng` in the loaded tiles, or null. */
  function pick(tiled, layer, latlng) {
    var found = null;
    tiled.queryTileFeaturesDebug(latlng.lng, latlng.lat, REACH).forEach(function (picked) {
      picked.forEach(function (p) {
        if (found === null && p.layerName === layer.tiles.layer && p.feature.id) {
          found = p.feature.id;
        }
      });
    });
    return found;
  }

  /* How many distinct features the loaded tiles of the current zoom hold (the status line's
     count), read from protomaps-leaflet's tile cache (`views`, keys "x:y:z"). */
  function loaded(tiled, layer) {
    var z = Math.min(tiled._map.getZoom(), layer.tiles.maxzoom), seen = {};
    try {
      tiled.views.forEach(function (view) {
        view.tileCache.cache.forEach(function (entry, key) {
          if (Number(key.split(":")[2]) !== z) { return; }
          (entry.data.get(layer.tiles.layer) || []).forEach(function (f) { seen[f.id] = 1; });
        });
      });
    } catch (err) { return 0; }
    return Object.keys(seen).length;
  }

  /* A Leaflet layer of `layer`'s tiles; `show(feature, latlng)` opens a clicked feature's popup,
     `count(n)` hears how many features the visible tiles hold once they are loaded.
     One data tile per screen tile (levelDiff 0), so no tile is asked for below the tiles'
     lowest zoom (those would be 404s). */
  window.civicDataTiles = function (layer, show, count) {
    var tiled = P.leafletLayer({
      url: layer.tiles.template, paintRules: rules(layer), labelRules: [], levelDiff: 0,
      maxDataZoom: layer.tiles.maxzoom, minZoom: layer.tiles.minzoom, attribution: ""
    });
    function click(e) {
      var target = e.originalEvent && e.originalEvent.target;
      if (target && target.classList && target.classList.contains("leaflet-interactive")) { return; }
      var fid = pick(tiled, layer, e.latlng);
      if (fid === null) { return; }
      fetch(layer.tiles.items + encodeURIComponent(fid), { headers: { Accept: "application/geo+json" } })
        .then(function (resp) { return resp.ok ? resp.json() : null; })
        .then(function (feature) { if (feature) { show(feature, e.latlng); } })
        .catch(function () { /* no popup; the map stays usable */ });
    }
    tiled.on("load", function () { if (tiled._map) { count(loaded(tiled, layer)); } });
    var on = null;
    tiled.on("add", function (e) { on = e.target._map; on.on("click", click); });
    tiled.on("remove", function () { if (on) { on.off("click", click); on = null; } });
    return tiled;
  };
})();
