/* The city's basemap, drawn in the browser from our own vector tiles (/tiles/basemap.pmtiles,
   built from the published water, green areas, buildings, roads and place names) with the vendored
   protomaps-leaflet: a sober style of water, green, buildings, roads by class, and district,
   square and street names at the zooms where they fit. No request leaves our host. */
(function () {
  "use strict";
  if (!window.L || !window.protomapsL) { return; }
  var P = window.protomapsL;
  var MAJOR = { motorway: 1, trunk: 1, primary: 1, secondary: 1, motorway_link: 1, trunk_link: 1, primary_link: 1, secondary_link: 1 };
  var MINOR = { tertiary: 1, tertiary_link: 1, residential: 1, unclassified: 1, living_street: 1, service: 1, pedestrian: 1, road: 1 };
  function kind(f) { return (f.props && f.props.kind) || ""; }
  function isMajor(z, f) { return !!MAJOR[kind(f)]; }
  function isMinor(z, f) { return !!MINOR[kind(f)]; }
  function isPath(z, f) { return !MAJOR[kind(f)] && !MINOR[kind(f)]; }
  /* Districts from zoom 12 (the city itself only below 14, where it is the whole view); squares
     are labelled from zoom 15, where they are big enough to see. */
  var AREA = { suburb: 1, quarter: 1, neighbourhood: 1, island: 1, locality: 1, town: 1 };
  function isArea(z, f) { return !!AREA[kind(f)] || (kind(f) === "city" && z < 14); }
  function isSquare(z, f) { return kind(f) === "square" || kind(f) === "islet"; }
  function grow(base) { return function (z) { return base * Math.pow(1.6, Math.max(0, z - 14)); }; }

  function rules() {
    return [
      { dataLayer: "green", symbolizer: new P.PolygonSymbolizer({ fill: "#d4e6c3" }) },
      /* water over green: ponds and basins lie inside parks */
      { dataLayer: "water", symbolizer: new P.PolygonSymbolizer({ fill: "#9ec5e4", stroke: "#7aa9cf", width: 0.8 }) },
      { dataLayer: "buildings", minzoom: 14, symbolizer: new P.PolygonSymbolizer({ fill: "#dcd6ce", stroke: "#c4bcb1", width: 0.6 }) },
      { dataLayer: "roads", minzoom: 15, filter: isPath, symbolizer: new P.LineSymbolizer({ color: "#c9c2b8", width: 1, dash: [2, 2] }) },
      { dataLayer: "roads", filter: isMinor, symbolizer: new P.LineSymbolizer({ color: "#bdb5aa", width: grow(3) }) },
      { dataLayer: "roads", filter: isMinor, symbolizer: new P.LineSymbolizer({ color: "#ffffff", width: grow(2) }) },
      { dataLayer: "roads", filter: isMajor, symbolizer: new P.LineSymbolizer({ color: "#c9a66b", width: grow(5) }) },
      { dataLayer: "roads", filter: isMajor, symbolizer: new P.LineSymbolizer({ color: "#f6dfb0", width: grow(3.8) }) }
    ];
  }

  function labels(lang) {
    var props = lang === "sv" ? ["name_sv", "name"] : ["name"];
    var text = { labelProps: props, fill: "#3d3d3d", stroke: "#ffffff", width: 2.5, font: "500 12px sans-serif" };
    return [
      { dataLayer: "places", filter: isArea, symbolizer: new P.CenteredTextSymbolizer({ labelProps: props, fill: "#333", stroke: "#fff", width: 3, font: "600 14px sans-serif", textTransform: "uppercase" }) },
      { dataLayer: "places", minzoom: 15, filter: isSquare, symbolizer: new P.CenteredTextSymbolizer({ labelProps: props, fill: "#5a4a3a", stroke: "#fff", width: 2.5, font: "italic 500 12px sans-serif" }) },
      { dataLayer: "water", minzoom: 15, symbolizer: new P.CenteredTextSymbolizer({ labelProps: props, fill: "#2f5f8a", stroke: "#fff", width: 2, font: "italic 500 12px sans-serif" }) },
      { dataLayer: "roads", minzoom: 15, filter: isMajor, symbolizer: new P.LineLabelSymbolizer(text) },
      { dataLayer: "roads", minzoom: 16, filter: isMinor, symbolizer: new P.LineLabelSymbolizer(text) }
    ];
  }

  /* A Leaflet layer of the basemap at `url`, labelled in the page language. */
  window.civicBasemap = function (url, attribution) {
    var lang = document.documentElement.lang || "en";
    return P.leafletLayer({
      url: url, paintRules: rules(), labelRules: labels(lang), maxDataZoom: 16,
      backgroundColor: "#f4f1ec", attribution: attribution
    });
  };
})();
