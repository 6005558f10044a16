// Placing a new development: click a block on the map (or type its coordinates), give the new
// homes and jobs, and add it as a `development` edit (a POINT). It is drawn as a marker and the
// dry run names the zone(s) its residents and jobs go to (window.studioEdits, studio.js).
"use strict";
(function () {
  const edits = window.studioEdits;
  const map = window.studioMap;
  if (!edits) return;
  const T = edits.T;
  const $ = (id) => document.getElementById(id);
  const MAX = 100000;  // homes or jobs in one development: a whole new district at most

  function status(text, isError) {
    const el = $("studio-dev-status");
    el.textContent = text;
    el.classList.toggle("studio-error", Boolean(isError));
  }

  function count(id) {  // a whole number from 0 to MAX, or null
    const raw = $(id).value.trim();
    const n = raw === "" ? 0 : Number(raw);
    return Number.isInteger(n) && n >= 0 && n <= MAX ? n : null;
  }

  function where() {  // [lon, lat] inside the city's box, or null
    const lon = Number($("studio-dev-lon").value);
    const lat = Number($("studio-dev-lat").value);
    const [w, s, e, n] = map ? map.bbox : [-180, -90, 180, 90];
    const filled = $("studio-dev-lon").value.trim() !== "" && $("studio-dev-lat").value.trim() !== "";
    return filled && lon >= w && lon <= e && lat >= s && lat <= n ? [lon, lat] : null;
  }

  if (map) {
    $("studio-dev-place").addEventListener("click", () => {
      status(T.dev_click);
      map.placeOnce((latlng) => {
        $("studio-dev-lon").value = latlng.lng.toFixed(6);
        $("studio-dev-lat").value = latlng.lat.toFixed(6);
        status(T.dev_placed);
        $("studio-dev-dwellings").focus();
      });
    });
  } else {
    $("studio-dev-place").hidden = true;
  }

  $("studio-dev").addEventListener("submit", (event) => {
    event.preventDefault();
    const at = where();
    const dwellings = count("studio-dev-dwellings");
    const jobs = count("studio-dev-jobs");
    if (!at) { status(T.dev_need_place, true); return; }
    if (dwellings === null || jobs === null) { status(T.dev_bad_count.replace("{max}", MAX.toLocaleString()), true); return; }
    if (dwellings + jobs === 0) { status(T.dev_need_some, true); return; }
    status("");
    edits.add({ type: "development", geometry: "POINT (" + at[0] + " " + at[1] + ")", dwellings, jobs });
  });
})();
