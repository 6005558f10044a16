"""The SQL page through Flask's test client: tables and example queries from the catalog, every
example runs, server-side results without JavaScript, errors in words, limits from settings,
languages, the JSON twin, and no server path in any answer."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import replace

import pytest

from api.app import create_app
from api.site.sql import SHOWN_ROWS
from opendata.metadata.search import entries
from opendata.query import sql as sandbox
from opendata.store.catalog import Catalog
from tests.opendata.query.sql_cases import CATALOG_ESCAPES

HTML = {"Accept": "text/html"}
COUNT_STOPS = "SELECT kind, count(*) AS n FROM stops GROUP BY kind ORDER BY n DESC, kind"


@pytest.fixture(scope="module")
def twin(site_app) -> dict:
    """The JSON twin of the bare page."""
    return site_app.test_client().get("/sql?f=json").get_json()


def test_every_current_dataset_is_a_table_with_its_duckdb_columns(twin, site_settings):
    published = {e.name: e for e in entries(Catalog(site_settings.catalog_url))}
    assert [t["name"] for t in twin["tables"]] == sorted(published)
    stops = next(t for t in twin["tables"] if t["name"] == "stops")
    columns = dict((c["name"], c["type"]) for c in stops["columns"])
    assert columns["kind"] == "VARCHAR" and columns["geometry"] == "BLOB"
    assert columns["bbox"].startswith("STRUCT(xmin DOUBLE")
    assert stops["rows"] == published["stops"].version.rows


def test_examples_are_generated_from_each_datasets_columns(twin):
    by_name = {t["name"]: [e["title"] for e in t["examples"]] for t in twin["tables"]}
    assert by_name["stops"][:3] == [
        "First 10 rows",
        "Rows per kind",
        "Rows in the middle of the map area (bbox filter)",
    ]
    assert by_name["stops"][3].startswith("Join with ")
    assert by_name["library_visits"] == ["First 10 rows", "Rows per library"]  # no geometry
    assert by_name["hostile_names"][:2] == ["First 10 rows", "Number of rows"]  # names only


def test_every_example_query_runs_and_the_counts_add_up(client, twin):
    ran = 0
    for table in twin["tables"]:
        for example in table["examples"]:
            resp = client.get("/api/sql", query_string={"sql": example["sql"]})
            assert resp.status_code == 200, (example["sql"], resp.get_data(as_text=True))
            body = resp.get_json()
            if example["title"].startswith("Rows per "):
                assert sum(row[-1] for row in body["rows"]) == table["rows"]
            ran += 1
    assert ran >= 3 * len(twin["tables"])


def test_a_query_is_rendered_server_side_as_an_accessible_table(client):
    resp = client.get("/sql", query_string={"sql": COUNT_STOPS}, headers=HTML)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    expected = client.get("/api/sql", query_string={"sql": COUNT_STOPS}).get_json()["rows"]
    body = re.search(r"<tbody[^>]*>(.*?)</tbody>", html, re.S).group(1)
    cells = re.findall(r"<td[^>]*>([^<]*)</td>", body)
    assert cells == [str(v) for row in expected for v in row]
    assert '<th scope="col">kind <span class="col-type">VARCHAR</span></th>' in html
    assert f'<caption id="result-caption">Query result, {len(expected)} rows shown' in html
    assert 'role="region" aria-labelledby="result-caption"' in html


def test_download_links_give_the_same_rows_as_csv_and_json(client):
    page = client.get("/sql", query_string={"sql": COUNT_STOPS, "f": "json"}).get_json()
    links = {d["format"]: d["href"] for d in page["downloads"]}
    text = client.get(links["csv"]).get_data(as_text=True)
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["kind", "n"]
    assert [[k, int(n)] for k, n in rows[1:]] == page["result"]["rows"]
    assert client.get(links["json"]).get_json()["rows"] == page["result"]["rows"]


@pytest.mark.parametrize(
    ("sql", "status", "heading"),
    [
        ("SELEC 1", 400, "The query has an error"),
        ("SELECT * FROM pg_settings", 400, "This query is not allowed"),
        ("SELECT nope FROM stops", 400, "The query has an error"),
    ],
)
def test_errors_are_shown_in_words(client, sql, status, heading):
    resp = client.get("/sql", query_string={"sql": sql}, headers=HTML)
    html = resp.get_data(as_text=True)
    assert resp.status_code == status
    assert f"<h3>{heading}</h3>" in html
    assert 'role="alert"' in html and "<tbody>" not in html


def test_errors_in_finnish_keep_the_engines_message_marked_english(client):
    html = client.get("/sql?lang=fi&sql=SELECT+*+FROM+pg_settings", headers=HTML).get_data(
        as_text=True
    )
    assert "<h3>Tätä kyselyä ei sallita</h3>" in html
    assert '<pre tabindex="0" lang="en"><code>unknown table &#39;pg_settings&#39;' in html


def test_json_twin_of_a_bad_query_is_problem_json(client):
    resp = client.get("/sql", query_string={"sql": "SELECT * FROM pg_settings", "f": "json"})
    assert resp.status_code == 400
    assert resp.headers["Content-Type"] == "application/problem+json"
    assert resp.get_json()["title"] == "SQL statement not allowed"


def test_the_page_shows_at_most_its_row_cap_and_says_so(client):
    page = client.get("/sql", query_string={"sql": "SELECT * FROM range(2000)", "f": "json"})
    result = page.get_json()["result"]
    assert result["row_count"] == SHOWN_ROWS and result["truncated"] is True
    html = client.get("/sql?sql=SELECT+*+FROM+range(2000)", headers=HTML).get_data(as_text=True)
    assert f"The page shows the first {SHOWN_ROWS} rows; there are more." in html


def test_limits_are_stated_from_the_settings(site_settings):
    tight = replace(site_settings, sql_timeout_s=3.0, sql_max_rows=1234, sql_memory_mb=256)
    html = create_app(tight).test_client().get("/sql", headers=HTML).get_data(as_text=True)
    assert "may run for 3 s and use 256 MB of memory, and returns at most 1,234 rows" in html


@pytest.mark.parametrize(
    ("lang", "title", "run"),
    [
        ("fi", "Kysy aineistoilta SQL:llä", "Suorita kysely"),
        ("sv", "Fråga data med SQL", "Kör frågan"),
        ("en", "Query the data with SQL", "Run query"),
    ],
)
def test_the_page_speaks_the_sites_languages(client, lang, title, run):
    resp = client.get(f"/sql?lang={lang}", headers=HTML)
    html = resp.get_data(as_text=True)
    assert f'<html lang="{lang}">' in html and resp.headers["Content-Language"] == lang
    assert f"<h1>{title}</h1>" in html and f">{run}</button>" in html
    assert '<a href="/sql" aria-current="page">SQL</a>' in html


def test_the_editor_starts_with_a_runnable_example_and_needs_no_third_party_script(client):
    html = client.get("/sql", headers=HTML).get_data(as_text=True)
    starter = re.search(r'<textarea id="sql" name="sql"[^>]*>([^<]*)</textarea>', html).group(1)
    assert client.get("/api/sql", query_string={"sql": starter}).status_code == 200
    scripts = re.findall(r'<script[^>]*src="([^"]+)"', html)
    assert scripts == ["/static/site/sql.js"]
    assert client.get("/static/site/sql.js").status_code == 200


def test_no_answer_of_the_page_carries_a_server_path(client, site_settings):
    paths = {str(site_settings.data_dir), str(site_settings.data_dir.resolve())}
    statements = [sql for sql, _ in CATALOG_ESCAPES] + ["DESCRIBE stops", "SHOW ALL TABLES"]
    for sql in statements:
        for fmt in ("html", "json"):
            resp = client.get("/sql", query_string={"sql": sql, "f": fmt})
            assert resp.status_code in (200, 400)
            assert not [p for p in paths if p in resp.get_data(as_text=True)], sql
    assert sandbox.server_paths(sandbox.sources(site_settings))  # the net knows what to look for


def test_the_page_is_in_the_openapi_document(client):
    page = client.get("/openapi?f=json").get_json()["paths"]["/sql"]["get"]
    assert "sql" in {p["name"] for p in page["parameters"]}
    assert {"200", "400", "422", "503"} <= set(page["responses"])
