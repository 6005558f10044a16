// The change in traffic flow inside the studio, once a run is done: the run's own links (its
// OGC items, which the owner may read while it is a draft) coloured with the site's diverging
// palette, blue for less traffic, orange for more, grey for no real change, closed streets in
// black dashes. The colours are read from the legend's swatches (site.css), so the map and its
// legend cannot disagree, and they are the same as on the site's scenario pages.
"use strict";
window.studioResultMap = (function () {
  const el = document.getElementById("studio-result-map");
  if (!el || !window.L) return null;
  const cfg = JSON.parse(document.getElementById("studio-map-config").textContent);
  const PAGE = 5000;  // features per request; a city's links take a page or two
  let map = null;
  let layer = null;

  function swatch(kind) {
    const box = document.querySelector("#studio-flow-legend .swatch-" + kind);
    return box ? getComputedStyle(box).backgroundColor : "#767676";
  }

  function style(colours) {
    return (feature) => {
      const p = feature.properties || {};
      const d = Number(p.d_flow) || 0;
      if (p.edit === "closed") return { color: colours.edge, weight: 3, dashArray: "4 6", opacity: 0.9 };
      const real = Math.abs(d) >= cfg.min_change;
      return { color: !real ? colours.same : d > 0 ? colours.more : colours.less, weight: real ? 4 : 1.5, opacity: 0.9 };
    };
  }

  async function features(name) {  // every link of the run, page by page
    let url = "/collections/scenario_" + encodeURIComponent(name) + "_links/items?f=json&limit=" + PAGE;
    const out = [];
    for (let page = 0; url && page < 10; page += 1) {
      const resp = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/geo+json" } });
      if (!resp.ok) throw new Error(String(resp.status));
      const doc = await resp.json();
      out.push(...doc.features);
      const next = (doc.links || []).find((l) => l.rel === "next" && (l.type || "").includes("json"));
      url = next ? new URL(next.href).pathname + new URL(next.href).search : null;
    }
    return out;
  }

  async function show(job) {
    if (!map) {
      map = L.map(el, { scrollWheelZoom: false, keyboard: true });
      map.attributionControl.setPrefix("Leaflet");
      L.tileLayer(cfg.tiles, { maxZoom: 19, attribution: cfg.attribution }).addTo(map);
    }
    map.invalidateSize();
    map.fitBounds([[cfg.bbox[1], cfg.bbox[0]], [cfg.bbox[3], cfg.bbox[2]]]);
    if (layer) layer.remove();
    delete el.dataset.features;
    try {
      const list = await features(job.name);
      const colours = { less: swatch("less"), more: swatch("more"), same: swatch("same"), edge: "#1b1b1b" };  // the dashes' ink
      layer = L.geoJSON({ type: "FeatureCollection", features: list }, { style: style(colours), interactive: false }).addTo(map);
      el.dataset.features = String(list.length);  // what was drawn (tests and assistive scripts read it)
    } catch (err) {
      el.dataset.features = "0";
      document.getElementById("studio-flow-error").hidden = false;
    }
  }

  return { show };
})();
