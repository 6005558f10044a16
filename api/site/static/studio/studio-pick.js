// Pointing at the map: a click finds the street nearest to it (GET /api/network/nearest); the
// planner closes that street whole, or marks the other end of a stretch with a second click
// (the road links on the shortest road path, GET /api/network/stretch) and closes or slows the
// stretch. Each becomes a `select.road_fid` edit, drawn on the map and checked like the others
// (window.studioEdits, studio.js). Typing a street name stays the keyboard way.
"use strict";
(function () {
  const edits = window.studioEdits;
  const map = window.studioMap;
  if (!edits || !map) return;
  const T = edits.T;
  const $ = (id) => document.getElementById(id);
  let street = null;   // the last street found by a click
  let first = null;    // the first end of a stretch, while waiting for the second click
  let stretch = null;  // the stretch found between the two ends

  function status(text, isError) {
    const el = $("studio-pick-found");
    el.textContent = text;
    el.classList.toggle("studio-error", Boolean(isError));
  }

  function show(ids) {  // show only these of the step buttons and rows
    for (const id of ["studio-pick-actions", "studio-stretch-row"]) $(id).hidden = !ids.includes(id);
  }

  const at = (p) => p.lng.toFixed(6) + "," + p.lat.toFixed(6);

  async function pickStreet(latlng) {
    const { status: code, doc } = await edits.call("GET", "/api/network/nearest?lon=" + latlng.lng.toFixed(6) + "&lat=" + latlng.lat.toFixed(6));
    if (code !== 200) { street = null; map.highlight(null); show([]); status(doc ? doc.detail : String(code), true); return; }
    street = Object.assign(doc, { at: latlng });
    map.highlight(doc.street.geometry);
    status((doc.name || T.unnamed) + " — " + T.links.replace("{n}", doc.street.road_fids.length));
    show(["studio-pick-actions"]);
  }

  async function pickEnd(latlng) {
    const { status: code, doc } = await edits.call("GET", "/api/network/stretch?from=" + at(first) + "&to=" + at(latlng));
    first = null;
    if (code !== 200) { map.highlight(null); show([]); status(doc ? doc.detail : String(code), true); return; }
    stretch = doc;
    map.highlight(doc.geometry);
    const names = doc.streets.length ? doc.streets.join(", ") : T.unnamed;
    status(T.stretch_found.replace("{streets}", names).replace("{n}", doc.road_fids.length).replace("{m}", Math.round(doc.length_m)));
    show(["studio-stretch-row"]);
    $("studio-stretch-type").focus();
  }

  map.onPick((latlng) => (first ? pickEnd(latlng) : pickStreet(latlng)));

  function add(edit, geometry) {
    map.remember(edit, geometry);
    map.highlight(null);
    show([]);
    status("");
    edits.add(edit);
  }

  $("studio-pick-whole").addEventListener("click", () => {
    if (!street) return;
    const note = (street.name || T.unnamed) + " (" + T.whole + ")";
    add({ type: "close", road_fid: street.street.road_fids, note }, street.street.geometry);
  });

  $("studio-pick-stretch").addEventListener("click", () => {
    if (!street) return;
    first = street.at;
    show([]);
    status(T.pick_end);
  });

  $("studio-stretch-add").addEventListener("click", () => {
    if (!stretch) return;
    const names = stretch.streets.length ? stretch.streets.join(", ") : T.unnamed;
    const note = names + " (" + T.stretch + " " + Math.round(stretch.length_m) + " m)";
    const speed = Number($("studio-stretch-speed").value);
    if ($("studio-stretch-type").value === "change" && !(speed >= 5 && speed <= 120)) { status(T.need_speed, true); return; }
    const edit = $("studio-stretch-type").value === "close"
      ? { type: "close", road_fid: stretch.road_fids, note }
      : { type: "change", road_fid: stretch.road_fids, speed_kmh: speed, note };
    add(edit, stretch.geometry);
    stretch = null;
  });

  $("studio-stretch-type").addEventListener("change", () => {
    $("studio-stretch-speed-row").hidden = $("studio-stretch-type").value !== "change";
  });
})();
