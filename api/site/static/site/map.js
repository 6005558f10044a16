/* Maps of the citizens' website (Leaflet, served from our own host).
   Each `[data-map]` element has a JSON config in `#<id>-config`. Data layers are drawn as SVG
   from our preview endpoint, large ones from their vector tiles (datatiles.js); tiles come from
   the configured tile URL and may fail without harm.
   Every data string reaches the page through textContent, never innerHTML. */
(function () {
  "use strict";
  if (!window.L) { return; }

  function fmt(text, values) {
    return text.replace(/\{(\w+)\}/g, function (_, key) {
      return values[key] === undefined ? "" : String(values[key]);
    });
  }

  function escapeHtml(text) {
    var div = document.createElement("div");
    div.textContent = text;
    return div.innerHTML;
  }

  /* Numbers in the page language (the browser's CLDR data), never float noise. */
  var numbers = new Intl.NumberFormat(document.documentElement.lang || "en", { maximumFractionDigits: 2 });

  function value(raw, unit) {
    var text = typeof raw === "number" ? numbers.format(raw) : String(raw);
    return unit ? text + "\u00a0" + unit : text;
  }

  /* Internal keys a reader has no use for (api/site/legend.py `is_internal` hides the same). */
  var INTERNAL = /^(_.*|fid|id|osm_id|osm_key|bbox|.*_fid)$/;

  /* A popup lists a feature's attributes under human labels with units (from the dataset's
     column descriptions); a column without a description keeps its name. */
  function popup(feature, texts, labels, order) {
    var props = feature.properties || {};
    var box = document.createElement("div");
    if (props.count !== undefined && Object.keys(props).length === 1) {
      box.textContent = fmt(texts.cluster, { n: numbers.format(props.count) });
      return box;
    }
    var table = document.createElement("table");
    (order || Object.keys(props)).forEach(function (key) {
      if (INTERNAL.test(key) || props[key] === undefined) { return; }
      var label = (labels && labels[key]) || { label: key };
      var row = table.insertRow();
      var th = document.createElement("th");
      th.scope = "row";
      th.textContent = label.label;
      if (label.lang) { th.lang = label.lang; }
      row.appendChild(th);
      row.insertCell().textContent = value(props[key], label.unit);
    });
    box.appendChild(table);
    return box;
  }

  /* Before/after colours: blue for less traffic, orange for more (readable with red-green colour
     blindness), grey for no real change; closed streets in black dashes. */
  var LESS = "#2166ac", MORE = "#b35806", SAME = "#767676", EDGE = "#1b1b1b";

  function styleFor(layer) {
    return function (feature) {
      var kind = feature.geometry && feature.geometry.type;
      var line = kind === "LineString" || kind === "MultiLineString";
      var base = { color: layer.color, weight: line ? 3 : 1.5, opacity: 0.9, fillOpacity: 0.3 };
      var p = feature.properties || {};
      if (layer.mode === "zones") {  /* a zone's trip time: longer, shorter or about the same */
        return { color: "#ffffff", weight: 2, fillOpacity: 0.9, fillColor: p._d > 0 ? MORE : (p._d < 0 ? LESS : SAME) };
      }
      if (layer.mode === "before") { base.weight = p._wb; }
      if (layer.mode === "before") { base.color = SAME; }
      if (layer.mode === "after" || layer.mode === "near") {
        base.weight = p._wa;
        base.color = p._d > 0 ? MORE : (p._d < 0 ? LESS : SAME);
        if (p._edit === "closed") { base.color = EDGE; base.weight = 3; base.dashArray = "4 6"; }
      }
      return base;
    };
  }

  function pointFor(layer) {
    return function (feature, latlng) {
      if (layer.mode === "zones") { return L.circleMarker(latlng, { radius: 9 }); }  /* styleFor */
      var count = (feature.properties || {}).count;
      var radius = count ? Math.min(22, 5 + 3 * Math.log2(count)) : 6;
      return L.circleMarker(latlng, {
        radius: radius, color: "#ffffff", weight: 1.5, fillColor: layer.color, fillOpacity: 0.85
      });
    };
  }

  function setup(el) {
    var cfgEl = document.getElementById(el.id + "-config");
    var status = document.getElementById(el.id + "-status");
    if (!cfgEl) { return; }
    var cfg = JSON.parse(cfgEl.textContent);
    var texts = cfg.texts;
    var still = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;
    var map = L.map(el, {
      scrollWheelZoom: !!cfg.wheel, keyboard: true, zoomControl: false,
      zoomAnimation: !still, fadeAnimation: !still, markerZoomAnimation: !still
    });
    L.control.zoom({ zoomInTitle: texts.zoom_in, zoomOutTitle: texts.zoom_out }).addTo(map);
    map.attributionControl.setPrefix("Leaflet");
    if (cfg.tiles) {  /* a third-party basemap, only when the city opted in (CIVIC_TILE_URL) */
      L.tileLayer(cfg.tiles, { maxZoom: 19, attribution: escapeHtml(cfg.attribution || "") }).addTo(map);
    } else if (cfg.basemap && window.civicBasemap) {  /* our own vector tiles */
      window.civicBasemap(cfg.basemap, escapeHtml(cfg.attribution || "")).addTo(map);
    }
    if (cfg.view) {
      map.setView([cfg.view.lat, cfg.view.lon], cfg.view.zoom);
    } else if (cfg.bbox) {
      map.fitBounds([[cfg.bbox[1], cfg.bbox[0]], [cfg.bbox[3], cfg.bbox[2]]]);
    } else {
      map.setView([60.1699, 24.9384], 13);
    }
    var state = { map: map, el: el, status: status, texts: texts, cfg: cfg, layers: {}, drawn: {}, notes: {} };
    el.civicMap = state;
    (cfg.layers || []).forEach(function (layer) { addLayer(state, layer); });
    if (!(cfg.layers || []).length) { report(state); }
    if (cfg.share) { share(state); }
    var extra = cfg.extra || {};
    if (extra.marker) {
      L.circle(extra.marker, { radius: extra.radius || 300, color: "#1b1b1b", weight: 2, fill: false, dashArray: "4 4", interactive: false }).addTo(map);
      L.circleMarker(extra.marker, { radius: 8, color: "#ffffff", weight: 3, fillColor: "#1b1b1b", fillOpacity: 1, interactive: false }).addTo(map);
    }
    if (extra.click) {
      map.on("click", function (e) {
        var params = new URLSearchParams(window.location.search);
        params.delete("address");
        params.set("lat", e.latlng.lat.toFixed(5));
        params.set("lon", e.latlng.lng.toFixed(5));
        window.location.assign(window.location.pathname + "?" + params.toString() + "#nearby");
      });
    }
    map.on("popupopen", function (e) {
      var close = e.popup.getElement().querySelector(".leaflet-popup-close-button");
      if (close) { close.setAttribute("aria-label", texts.close); }
    });
    return state;
  }

  function report(state) {
    var total = 0;
    Object.keys(state.drawn).forEach(function (k) { total += state.drawn[k]; });
    state.el.setAttribute("data-rendered", String(total));
    var notes = Object.keys(state.notes).map(function (k) { return state.notes[k]; });
    if (state.status) {
      state.status.textContent = [fmt(state.texts.drawn, { n: total })].concat(notes).join(" ");
    }
  }

  /* What a thinned preview shows, in the page language (none for a full preview). */
  function previewNote(layer, meta, texts) {
    if (!meta || meta.method === "full") { return ""; }
    var values = { layer: layer.title, shown: meta.shown, total: meta.total, drawn: meta.drawn };
    return fmt(meta.method === "clustered" ? texts.clustered : texts.sampled, values);
  }

  /* The scenario's own edits (new, changed or charged streets) get a black casing under the
     data line, on the before and the after map, so a reader sees where the change was made. */
  function edits(state, layer, data) {
    if (layer.mode !== "before" && layer.mode !== "after") { return; }
    L.geoJSON(data, {
      filter: function (f) { return !!(f.properties || {})._edit && f.properties._edit !== "closed"; },
      style: function (f) {
        var p = f.properties;
        return { color: EDGE, weight: (layer.mode === "before" ? p._wb : p._wa) + 4, opacity: 0.9 };
      },
      interactive: false
    }).addTo(state.map);
  }

  /* The legend's swatch takes the shape of what is drawn: a line, a dot or an area. */
  function symbol(layer, data) {
    var first = (data.features || [])[0];
    var kind = first && first.geometry ? first.geometry.type : "";
    var shape = /Line/.test(kind) ? "line" : (/Point/.test(kind) ? "point" : "area");
    document.querySelectorAll("[data-symbol='" + CSS.escape(layer.name) + "']").forEach(function (el) {
      el.classList.add("symbol-" + shape);
    });
  }

  function draw(state, layer, data) {
    var passive = layer.mode === "near";  /* a click there picks a place, not a feature */
    edits(state, layer, data);
    symbol(layer, data);
    var drawn = L.geoJSON(data, {
      style: styleFor(layer),
      pointToLayer: pointFor(layer),
      interactive: !passive,
      onEachFeature: function (feature, item) {
        if (!passive) { item.bindPopup(function () { return popup(feature, state.texts, layer.labels, layer.order); }); }
      }
    }).addTo(state.map);
    state.layers[layer.name] = drawn;
    state.drawn[layer.name] = data.features.length;
    var note = previewNote(layer, data.preview, state.texts);
    if (note) { state.notes[layer.name] = note; }
    report(state);
  }

  /* A large layer from its vector tiles (site/datatiles.js); a click on it opens its popup. */
  function drawTiles(state, layer) {
    var tiled = window.civicDataTiles(layer, function (feature, latlng) {
      L.popup().setLatLng(latlng).setContent(popup(feature, state.texts, layer.labels)).openOn(state.map);
    }, function (n) {
      if (state.layers[layer.name] !== tiled) { return; }
      state.drawn[layer.name] = n;
      report(state);
    }).addTo(state.map);
    document.querySelectorAll("[data-symbol='" + CSS.escape(layer.name) + "']").forEach(function (el) {
      el.classList.add("symbol-" + (layer.tiles.shape === "line" ? "line" : "area"));
    });
    state.layers[layer.name] = tiled;
    state.drawn[layer.name] = 0;
    state.notes[layer.name] = fmt(state.texts.tiled, { layer: layer.title, z: layer.tiles.minzoom });
    report(state);
  }

  function addLayer(state, layer) {
    if (state.layers[layer.name]) { return; }
    if (layer.tiles && window.civicDataTiles) {
      drawTiles(state, layer);
      return;
    }
    if (layer.ref) {
      draw(state, layer, JSON.parse(document.getElementById(layer.ref).textContent));
      return;
    }
    state.layers[layer.name] = "loading";
    if (state.status) { state.status.textContent = state.texts.loading; }
    fetch(layer.url, { headers: { Accept: "application/geo+json" } })
      .then(function (resp) {
        if (!resp.ok) { throw new Error(String(resp.status)); }
        return resp.json();
      })
      .then(function (data) {
        if (state.layers[layer.name] !== "loading") { return; }
        draw(state, layer, data);
      })
      .catch(function () {
        delete state.layers[layer.name];
        if (state.status) { state.status.textContent = state.texts.failed; }
      });
  }

  function removeLayer(state, name) {
    var layer = state.layers[name];
    if (layer && layer !== "loading") { state.map.removeLayer(layer); }
    delete state.layers[name];
    delete state.drawn[name];
    delete state.notes[name];
    report(state);
  }

  /* The map viewer: checkboxes toggle layers at once; the URL and the share link follow. */
  function share(state) {
    var form = document.getElementById("layer-form");
    var link = document.getElementById("share-link");
    var available = {};
    ((state.cfg.extra || {}).available || []).forEach(function (l) { available[l.name] = l; });
    function selected() {
      return Array.prototype.map.call(
        form.querySelectorAll("input[data-layer]:checked"), function (i) { return i.value; });
    }
    function update() {
      var c = state.map.getCenter();
      var params = new URLSearchParams();
      var names = selected();
      params.set("layers", names.join(","));
      params.set("lat", c.lat.toFixed(5));
      params.set("lon", c.lng.toFixed(5));
      params.set("z", String(state.map.getZoom()));
      var url = "/map?" + params.toString().replace(/%2C/g, ",");
      var lang = new URLSearchParams(window.location.search).get("lang");
      window.history.replaceState(null, "", lang ? url + "&lang=" + encodeURIComponent(lang) : url);
      if (link) { link.href = url; }
      ["lat", "lon", "z"].forEach(function (key) {
        var input = form.querySelector("input[name=" + key + "]");
        if (!input) {
          input = document.createElement("input");
          input.type = "hidden";
          input.name = key;
          form.appendChild(input);
        }
        input.value = params.get(key);
      });
    }
    form.addEventListener("change", function (e) {
      var box = e.target;
      if (!box.matches("input[data-layer]")) { return; }
      var row = document.querySelector("tr[data-legend='" + CSS.escape(box.value) + "']");
      if (row) { row.hidden = !box.checked; }
      var none = document.getElementById("no-layers");
      if (none) { none.hidden = selected().length > 0; }
      if (box.checked && available[box.value]) { addLayer(state, available[box.value]); }
      if (!box.checked) { removeLayer(state, box.value); }
      update();
    });
    state.map.on("moveend", update);
  }

  /* Maps with the same `extra.sync` group follow each other (before / after side by side). */
  function sync(maps) {
    var busy = false;
    maps.forEach(function (a) {
      a.map.on("move", function () {
        if (busy) { return; }
        busy = true;
        maps.forEach(function (b) {
          if (b !== a) { b.map.setView(a.map.getCenter(), a.map.getZoom(), { animate: false }); }
        });
        busy = false;
      });
    });
  }

  window.civicMaps = Array.prototype.map.call(document.querySelectorAll("[data-map]"), setup);
  var groups = {};
  window.civicMaps.forEach(function (s) {
    var group = s && (s.cfg.extra || {}).sync;
    if (group) { (groups[group] = groups[group] || []).push(s); }
  });
  Object.keys(groups).forEach(function (g) { sync(groups[g]); });

  /* Layers a page offers beside a map (the scenario's zones): a checkbox whose
     `data-toggle-map` names the map and `data-toggle-layer` holds the layer's config. */
  document.querySelectorAll("input[data-toggle-map]").forEach(function (box) {
    var state = (document.getElementById(box.getAttribute("data-toggle-map")) || {}).civicMap;
    if (!state) { return; }
    var layer = JSON.parse(box.getAttribute("data-toggle-layer"));
    function apply() {
      if (box.checked) { addLayer(state, layer); } else { removeLayer(state, layer.name); }
    }
    box.addEventListener("change", apply);
    if (box.checked) { apply(); }
  });
})();
