/* The SQL page with JavaScript: run queries with fetch to /api/sql (Ctrl+Enter or the button),
   examples fill the editor and run, the URL and the download links follow the query. Without
   JavaScript the form GETs /sql?sql=... and the server renders the same result. */
(function () {
  "use strict";
  var form = document.getElementById("sql-form");
  var editor = document.getElementById("sql");
  var strings = document.getElementById("sql-strings");
  if (!form || !editor || !strings || !window.fetch) { return; }
  strings = JSON.parse(strings.textContent);
  var status = document.getElementById("sql-status");
  var problem = document.getElementById("sql-error");
  var tableBox = document.getElementById("sql-table");
  var downloads = document.getElementById("sql-downloads");
  var output = document.getElementById("sql-output");
  var runs = 0;  // only the latest run may write its answer
  var NUMERIC = /^(U?(TINY|SMALL|BIG|HUGE)?INT(EGER)?|FLOAT|DOUBLE|REAL|DECIMAL.*)$/;
  var KINDS = {
    "Invalid SQL": "invalid",
    "SQL statement not allowed": "refused",
    "SQL time limit exceeded": "timeout",
    "SQL memory limit exceeded": "memory",
    "SQL endpoint busy": "busy"
  };

  function fill(text, values) {
    return text.replace(/\{(\w+)\}/g, function (whole, key) {
      return key in values ? String(values[key]) : whole;
    });
  }

  function number(n) {  // the site's thousands separator: a no-break space
    return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, "\u00a0");
  }

  function element(tag, attrs, text) {
    var el = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { el.setAttribute(k, attrs[k]); });
    if (text !== undefined) { el.textContent = text; }
    return el;
  }

  function cellText(td, value) {
    if (value === null) {
      td.appendChild(element("span", { "class": "null" }, "NULL"));
    } else if (typeof value === "object") {
      td.textContent = JSON.stringify(value);
    } else {
      td.textContent = String(value);
    }
  }

  function showTable(body, shown) {
    var scroll = element("div", {
      "class": "table-scroll", "tabindex": "0", "role": "region", "aria-labelledby": "result-caption"
    });
    var table = element("table");
    table.appendChild(element("caption", { id: "result-caption" }, fill(strings.caption, { n: number(shown.length) })));
    var numeric = body.columns.map(function (c) { return NUMERIC.test(c.type); });
    var head = element("tr");
    body.columns.forEach(function (c, i) {
      var th = element("th", numeric[i] ? { scope: "col", "class": "num" } : { scope: "col" }, c.name + " ");
      th.appendChild(element("span", { "class": "col-type" }, c.type));
      head.appendChild(th);
    });
    table.appendChild(element("thead")).appendChild(head);
    var tbody = element("tbody");
    shown.forEach(function (row) {
      var tr = element("tr");
      row.forEach(function (value, i) {
        var td = element("td", numeric[i] ? { "class": "num" } : {});
        cellText(td, value);
        tr.appendChild(td);
      });
      tbody.appendChild(tr);
    });
    table.appendChild(tbody);
    scroll.appendChild(table);
    tableBox.appendChild(scroll);
  }

  function showResult(body) {
    var shown = body.rows.slice(0, strings.shown_rows);
    var text = body.row_count ? fill(strings.rows, { n: number(shown.length), ms: Math.round(body.elapsed_ms) }) : strings.no_rows;
    if (body.truncated || body.rows.length > shown.length) {
      text += " " + fill(strings.truncated, { n: number(strings.shown_rows), max: strings.max_rows });
    }
    status.textContent = text;
    if (body.columns.length) { showTable(body, shown); }
    downloads.hidden = false;
  }

  function showProblem(body) {
    var words = strings.errors[KINDS[body.title] || "other"];
    var box = element("div", { "class": "sql-problem" });
    box.appendChild(element("h3", {}, words[0]));
    box.appendChild(element("p", {}, words[1]));
    box.appendChild(element("p", {}, strings.engine_says));
    var pre = element("pre", { tabindex: "0", lang: "en" });
    pre.appendChild(element("code", {}, body.detail || body.title || ""));
    box.appendChild(pre);
    problem.appendChild(box);
    status.textContent = "";
  }

  function follow(sql) {
    var params = new URLSearchParams(window.location.search);
    params.set("sql", sql);
    params.delete("f");
    window.history.replaceState(null, "", "/sql?" + params.toString());
    downloads.querySelectorAll("a[data-format]").forEach(function (a) {
      var query = new URLSearchParams({ sql: sql });
      if (a.getAttribute("data-format") !== "json") { query.set("format", a.getAttribute("data-format")); }
      a.href = "/api/sql?" + query.toString();
    });
  }

  function run() {
    var sql = editor.value;
    if (!sql.trim()) { editor.focus(); return; }
    var mine = ++runs;
    problem.textContent = "";
    tableBox.textContent = "";
    downloads.hidden = true;
    status.textContent = strings.running;
    output.setAttribute("aria-busy", "true");
    follow(sql);
    fetch("/api/sql", {
      method: "POST",
      headers: { "Content-Type": "application/json", "Accept": "application/json" },
      body: JSON.stringify({ sql: sql })
    }).then(function (resp) {
      return resp.json().then(function (body) { return { ok: resp.ok, body: body }; });
    }).catch(function () {
      return { ok: false, body: { title: "", detail: "" } };
    }).then(function (answer) {
      if (mine !== runs) { return; }
      output.removeAttribute("aria-busy");
      if (answer.ok) { showResult(answer.body); } else { showProblem(answer.body); }
    });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    run();
  });
  editor.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      run();
    }
  });
  document.querySelectorAll("a[data-sql]").forEach(function (link) {
    link.addEventListener("click", function (event) {
      event.preventDefault();
      editor.value = link.getAttribute("data-sql");
      editor.focus();
      run();
    });
  });
  document.getElementById("sql-shortcut").hidden = false;
})();
