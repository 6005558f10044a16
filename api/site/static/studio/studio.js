// The planner studio: build a scenario from edits, check it (dry run), run it, follow its
// progress, read its headline numbers, publish or delete it. Plain DOM code on our own API;
// every write sends the session's CSRF token. No third-party code.
"use strict";
(function () {
  const root = document.getElementById("studio-app");
  if (!root) return;
  const T = JSON.parse(document.getElementById("studio-strings").textContent);
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const $ = (id) => document.getElementById(id);
  let spec = null;
  let job = null;

  async function call(method, url, body) {
    const headers = { Accept: "application/json", "X-CSRFToken": csrf };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const resp = await fetch(url, {
      method, headers, credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    let doc = null;
    try { doc = await resp.json(); } catch (e) { doc = null; }
    return { status: resp.status, doc };
  }

  function say(id, text, isError) {
    const el = $(id);
    el.textContent = text;
    el.classList.toggle("studio-error", Boolean(isError));
  }

  function describe(edit) {
    const where = edit.name ? [].concat(edit.name).join(", ") : edit.polygon ? T.area
      : edit.road_fid ? (edit.note || T.links.replace("{n}", edit.road_fid.length)) : "";
    if (edit.type === "close") return T.edit_close + ": " + where;
    if (edit.type === "change") return T.edit_speed + " " + (edit.speed_kmh || edit.max_speed_kmh) + " km/h: " + where;
    if (edit.type === "cordon_charge") return T.edit_cordon + " " + edit.amount + " " + (edit.currency || "EUR");
    if (edit.type === "development") return T.edit_development + ": " + (edit.dwellings || 0) + " / " + (edit.jobs || 0);
    return edit.type;
  }

  function renderEdits(resolved) {
    const list = $("studio-edits");
    list.replaceChildren();
    spec.edits.forEach((edit, i) => {
      const li = document.createElement("li");
      const text = document.createElement("span");
      text.textContent = describe(edit);
      li.append(text);
      const info = resolved && resolved[i];
      if (info) {
        const detail = document.createElement("span");
        detail.className = "meta";
        let words = "";
        if (info.links !== undefined) words = " — " + T.links.replace("{n}", info.links);
        if (info.streets && info.streets.length) words += " (" + info.streets.join(", ") + ")";
        if (info.zones && info.zones.length) words += " — " + T.in_zone.replace("{z}", info.zones.map((z) => z.zone).join(", "));
        if (info.suggestions) {
          const names = Object.values(info.suggestions).flat();
          words += " — " + (names.length ? T.did_you_mean + " " + names.join(", ") : T.no_such_street);
        }
        detail.textContent = words;
        li.append(detail);
      }
      const remove = document.createElement("button");
      remove.type = "button";
      remove.className = "secondary";
      remove.textContent = T.remove;
      remove.setAttribute("aria-label", T.remove + ": " + describe(edit));
      remove.addEventListener("click", () => { spec.edits.splice(i, 1); renderEdits(); });
      li.append(" ", remove);
      list.append(li);
    });
    $("studio-no-edits").hidden = spec.edits.length > 0;
    if (window.studioMap) window.studioMap.show(spec.edits);
  }

  async function start(event) {
    event.preventDefault();
    const from = $("studio-start-from").value;
    if (from) {
      const { status, doc } = await call("GET", "/api/scenarios/bundled/" + encodeURIComponent(from));
      if (status !== 200) { say("studio-check", doc ? doc.detail : String(status), true); return; }
      spec = doc;
    } else {
      spec = { name: "", title: { en: "" }, edits: [] };
    }
    $("studio-name").value = spec.name ? spec.name + "_v2" : "";
    $("studio-builder").hidden = false;
    if (window.studioMap) window.studioMap.refresh();
    renderEdits();
    $("studio-name").focus();
  }

  function addEdit(event) {
    event.preventDefault();
    const kind = $("studio-edit-type").value;
    const street = $("studio-street").value.trim();
    if (!street) { say("studio-check", T.need_street, true); return; }
    const edit = kind === "close" ? { type: "close", name: street }
      : { type: "change", name: street, speed_kmh: Number($("studio-speed").value) };
    spec.edits.push(edit);
    $("studio-street").value = "";
    renderEdits();
    check();
  }

  function current() {
    const name = $("studio-name").value.trim();
    const title = Object.assign({}, spec.title || {});
    // a working title until publication asks for the real ones (the spec needs en and fi/sv)
    for (const lang of ["fi", "sv", "en"]) if (!title[lang]) title[lang] = name;
    return Object.assign({}, spec, { name, title });
  }

  let checks = 0;  // a slower, older dry run must not overwrite a newer one's answer

  async function check() {
    const mine = ++checks;
    say("studio-check", T.checking);
    const { status, doc } = await call("POST", "/api/scenarios/validate", current());
    if (mine !== checks) return;
    if (window.studioCutoff) window.studioCutoff.show(status === 200 ? doc : null);
    if (status !== 200) { say("studio-check", doc ? doc.detail : String(status), true); return; }
    renderEdits(doc.edits);
    say("studio-check", doc.valid ? T.valid : doc.problem, !doc.valid);
  }

  async function run() {
    const { status, doc } = await call("POST", "/api/scenarios", current());
    if (status !== 202) { say("studio-run-status", doc ? doc.detail : String(status), true); return; }
    job = doc;
    root.dataset.job = job.id;  // the run this page follows (tests and assistive scripts read it)
    $("studio-run").hidden = false;
    $("studio-results").hidden = true;
    follow();
  }

  async function follow() {
    const { status, doc } = await call("GET", "/api/scenarios/" + job.id);
    if (status !== 200) { say("studio-run-status", String(status), true); return; }
    job = doc;
    const bar = $("studio-progress");
    const m = /iteration (\d+), gap ([0-9.e+-]+)/.exec(doc.progress || "");
    const stage = (doc.progress || "").split(":")[0];
    let text = T["status_" + doc.status] + (doc.status === "running" ? " — " + T.stage + ": " + stage : "");
    if (m) text += ", " + T.iteration + " " + m[1] + ", " + T.gap + " " + m[2];
    if (doc.status === "queued") text += " (" + T.queue_position.replace("{n}", doc.queue_position) + ")";
    say("studio-run-status", text, doc.status === "failed");
    if (doc.status === "done") { bar.value = 1; showResults(); return; }
    if (doc.status === "failed") { bar.value = 0; say("studio-run-status", T.status_failed + ": " + doc.error, true); return; }
    bar.removeAttribute("value");  // indeterminate: the model does not know its remaining time
    setTimeout(follow, 1000);
  }

  function noisePct(totals) {
    const gaps = ["relative_gap", "demand_gap"].flatMap((k) => totals[k] ? [totals[k].base, totals[k].scen] : []);
    const known = gaps.filter((g) => typeof g === "number");
    return known.length ? (100 * Math.max(...known)).toPrecision(2) : null;
  }

  function showResults() {
    const summary = job.summary;
    const model = (job.spec.demand && job.spec.demand.model) || "elastic";
    const body = $("studio-totals");
    body.replaceChildren();
    for (const [metric, row] of Object.entries(summary.totals)) {
      const tr = document.createElement("tr");
      const pct = row.pct_change === null ? "–" : row.pct_change.toFixed(1) + " %";
      for (const cell of [metric, fmt(row.base), fmt(row.scen), pct, row.unit || ""]) {
        const td = document.createElement("td");
        td.textContent = cell;
        tr.append(td);
      }
      body.append(tr);
    }
    const noise = noisePct(summary.totals);
    say("studio-noise", noise ? T.noise.replace("{pct}", noise) : "");
    say("studio-demand", T["demand_" + model] || model);
    const maps = $("studio-maps");
    maps.replaceChildren();
    for (const [kind, url] of Object.entries(job.maps || {})) {
      const li = document.createElement("li");
      const a = document.createElement("a");
      a.href = url;
      a.textContent = T["map_" + kind] || kind;
      li.append(a);
      maps.append(li);
    }
    $("studio-results").hidden = false;
    if (window.studioResultMap) window.studioResultMap.show(job);  // after unhiding: it measures
    $("studio-results-h").focus();
  }

  const fmt = (v) => (v === null || v === undefined ? "–" : Number(v).toLocaleString(document.documentElement.lang, { maximumFractionDigits: 1 }));

  async function publish(event) {
    event.preventDefault();
    const title = { fi: $("studio-title-fi").value, sv: $("studio-title-sv").value, en: $("studio-title-en").value };
    const { status, doc } = await call("POST", "/api/scenarios/" + job.id + "/publish", { title });
    say("studio-publish-status", status === 200 ? T.published : (doc ? doc.detail : String(status)), status !== 200);
  }

  async function remove() {
    const { status, doc } = await call("DELETE", "/api/scenarios/" + job.id);
    const ok = status === 200 || status === 204;
    say("studio-publish-status", ok ? (status === 200 ? T.withdrawn : T.deleted) : (doc ? doc.detail : String(status)), !ok);
  }

  async function compare(event) {
    event.preventDefault();
    const ids = [$("studio-compare-a").value, $("studio-compare-b").value];
    const docs = [];
    for (const id of ids) {
      const { status, doc } = await call("GET", "/api/scenarios/" + id);
      if (status !== 200) return;
      docs.push(doc);
    }
    const [a, b] = docs.map((d) => d.summary.totals);
    $("studio-compare-ha").textContent = "A: " + docs[0].name;
    $("studio-compare-hb").textContent = "B: " + docs[1].name;
    const rows = $("studio-compare-rows");
    rows.replaceChildren();
    for (const metric of Object.keys(a)) {
      if (!b[metric]) continue;
      const diff = a[metric].scen === null || b[metric].scen === null ? null : b[metric].scen - a[metric].scen;
      const tr = document.createElement("tr");
      for (const cell of [metric, fmt(a[metric].scen), fmt(b[metric].scen), fmt(diff), a[metric].unit || ""]) {
        const td = document.createElement("td");
        td.textContent = cell;
        tr.append(td);
      }
      rows.append(tr);
    }
    const noise = [noisePct(a), noisePct(b)].filter((p) => p !== null);
    const models = docs.map((d) => (d.spec.demand && d.spec.demand.model) || "elastic");
    let note = noise.length ? T.noise.replace("{pct}", Math.max(...noise.map(Number)).toPrecision(2)) : "";
    note += " " + (models[0] === models[1] ? (T["demand_" + models[0]] || "") : T.demand_differs);
    $("studio-compare-note").textContent = note.trim();
    $("studio-compare-result").hidden = false;
  }

  function draw() {
    if (!window.studioMap) return;
    window.studioMap.start();
    say("studio-check", T.draw_help);
  }

  function addArea(event) {
    event.preventDefault();
    const polygon = window.studioMap ? window.studioMap.finish() : null;
    if (!polygon) { say("studio-check", T.need_corners, true); return; }
    const value = Number($("studio-area-value").value);
    const edit = $("studio-area-type").value === "cordon_charge"
      ? { type: "cordon_charge", polygon, amount: value, currency: "EUR" }
      : { type: "change", polygon, speed_kmh: value };
    spec.edits.push(edit);
    renderEdits();
    check();
  }

  // other parts of the studio (pointing at the map, studio-pick.js) add edits through here
  window.studioEdits = {
    add(edit) { spec.edits.push(edit); renderEdits(); check(); },
    say(text, isError) { say("studio-check", text, isError); },
    call, T,
  };

  $("studio-draw").addEventListener("click", draw);
  $("studio-area").addEventListener("submit", addArea);
  if ($("studio-compare")) $("studio-compare").addEventListener("submit", compare);
  $("studio-start").addEventListener("submit", start);
  $("studio-add").addEventListener("submit", addEdit);
  $("studio-check-button").addEventListener("click", check);
  $("studio-run-button").addEventListener("click", run);
  $("studio-publish").addEventListener("submit", publish);
  $("studio-delete").addEventListener("click", remove);
  $("studio-edit-type").addEventListener("change", () => {
    $("studio-speed-row").hidden = $("studio-edit-type").value !== "change";
  });
})();
