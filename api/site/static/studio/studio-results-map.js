// Before and after maps inside the studio, once a run is done: the run's own links (its OGC
// items, which the owner may read while it is a draft), drawn as on the site's scenario pages.
// Before: grey, width by the baseline flow. After: width by the scenario's flow, blue for less
// traffic, orange for more, grey for no real change, closed streets in black dashes. Widths grow
// with the square root of flow (api/site/scenario_data.py line_weight, same scale on both maps,
// with a width key). The colours are read from the legend's swatches (site.css), so the maps and
// their legend cannot disagree. The two maps follow each other when one is panned or zoomed.
"use strict";
window.studioResultMap = (function () {
  const after = document.getElementById("studio-result-map");
  const before = document.getElementById("studio-before-map");
  if (!after || !before || !window.L) return null;
  const cfg = JSON.parse(document.getElementById("studio-map-config").textContent);
  const PAGE = 5000;  // features per request; a city's links take a page or two
  const numbers = new Intl.NumberFormat(document.documentElement.lang || "en", { maximumFractionDigits: 0 });
  const maps = {};
  const layers = {};

  function swatch(kind) {
    const box = document.querySelector("#studio-flow-legend .swatch-" + kind);
    return box ? getComputedStyle(box).backgroundColor : "#767676";
  }

  function width(flow, top) {  // 1.5-9 px, as line_weight on the site
    return Math.round((1.5 + 7.5 * Math.sqrt(Math.max(0, Number(flow) || 0) / top)) * 10) / 10;
  }

  function styles(colours, top) {
    return {
      before: (f) => ({ color: colours.same, weight: width(f.properties.flow_base, top), opacity: 0.9 }),
      after: (f) => {
        const p = f.properties || {};
        if (p.edit === "closed") return { color: colours.edge, weight: 3, dashArray: "4 6", opacity: 0.9 };
        const d = Number(p.d_flow) || 0;
        const colour = Math.abs(d) < cfg.min_change ? colours.same : d > 0 ? colours.more : colours.less;
        return { color: colour, weight: width(p.flow_scen, top), opacity: 0.9 };
      },
    };
  }

  function key(top) {  // three round flows up to the largest, drawn at the width they get
    const list = document.getElementById("studio-width-key");
    if (!list) return;
    list.textContent = "";
    [1, 2, 3].forEach((i) => {
      const raw = (top * i) / 3;
      const step = Math.pow(10, Math.max(0, Math.floor(Math.log10(raw)) - 1));
      const value = Math.round(raw / step) * step;  // two significant digits: 1 200, not 1 187
      const item = document.createElement("li");
      item.innerHTML = '<svg width="40" height="14" aria-hidden="true" focusable="false"><line x1="0" y1="7" x2="40" y2="7" stroke="#767676"></line></svg> ';
      item.querySelector("line").setAttribute("stroke-width", String(width(value, top)));
      item.append(numbers.format(value) + "\u00a0" + list.dataset.unit);
      list.appendChild(item);
    });
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

  function ensureMaps() {
    if (maps.after) return;
    [["before", before], ["after", after]].forEach(([side, el]) => {
      const map = L.map(el, { scrollWheelZoom: false, keyboard: true });
      map.attributionControl.setPrefix("Leaflet");
      window.studioBasemap(map, cfg);
      maps[side] = map;
    });
    let moving = false;  // keep the two views together without an echo loop
    const follow = (from, to) => from.on("moveend", () => {
      if (moving) return;
      moving = true;
      to.setView(from.getCenter(), from.getZoom(), { animate: false });
      moving = false;
    });
    follow(maps.before, maps.after);
    follow(maps.after, maps.before);
  }

  async function show(job) {
    ensureMaps();
    Object.values(maps).forEach((map) => {
      map.invalidateSize();
      map.fitBounds([[cfg.bbox[1], cfg.bbox[0]], [cfg.bbox[3], cfg.bbox[2]]]);
    });
    Object.values(layers).forEach((layer) => layer.remove());
    delete after.dataset.features;
    try {
      const list = await features(job.name);
      const top = list.reduce((m, f) => Math.max(m, Number(f.properties.flow_base) || 0, Number(f.properties.flow_scen) || 0), 1);
      const colours = { less: swatch("less"), more: swatch("more"), same: swatch("same"), edge: "#1b1b1b" };  // the dashes' ink
      const style = styles(colours, top);
      const data = { type: "FeatureCollection", features: list };
      layers.before = L.geoJSON(data, { style: style.before, interactive: false }).addTo(maps.before);
      layers.after = L.geoJSON(data, { style: style.after, interactive: false }).addTo(maps.after);
      key(top);
      after.dataset.features = String(list.length);  // what was drawn (tests and assistive scripts read it)
      before.dataset.features = String(list.length);
    } catch (err) {
      after.dataset.features = "0";
      document.getElementById("studio-flow-error").hidden = false;
    }
  }

  return { show };
})();
