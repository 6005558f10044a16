"""The SQL page in a real browser (Debian's Chromium, headless) against a live `civic serve`: run a
query with Ctrl+Enter, an example with a click, a bad query, a CSV download, and the same without
JavaScript. (Clean loads, axe-core and the phone layout run in `test_browser.py`.)"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.api.site.test_browser import load, wait_until

pytestmark = pytest.mark.e2e

COUNT = "SELECT kind, count(*) AS n FROM stops GROUP BY kind ORDER BY n DESC, kind"


def _run_with_keyboard(page, sql: str) -> None:
    page.fill("#sql", sql)
    page.focus("#sql")
    page.keyboard.press("Control+Enter")
    wait_until(page, "!document.querySelector('#sql-output').hasAttribute('aria-busy')")


def _table(page) -> list[list[str]]:
    return [r.locator("td").all_inner_texts() for r in page.locator("#sql-table tbody tr").all()]


def test_ctrl_enter_runs_the_query_with_fetch_and_shows_a_table(page, live_site, requests_seen):
    load(page, live_site, "/sql")
    _run_with_keyboard(page, COUNT)
    rows = _table(page)
    assert rows and sum(int(n) for _, n in rows) == 224
    assert page.locator("#sql-table th").all_inner_texts() == ["kind VARCHAR", "n BIGINT"]
    assert "rows in" in page.inner_text("#sql-status")
    assert "/api/sql" in requests_seen and page.url.startswith(f"{live_site}/sql?sql=SELECT")
    assert page.recorder.foreign == [] and page.recorder.errors == []


def test_an_example_link_fills_the_editor_and_runs(page, live_site):
    load(page, live_site, "/sql")
    link = page.locator(".sql-tables details[open] a[data-sql]").nth(1)
    expected = link.get_attribute("data-sql")
    link.click()
    wait_until(page, "!document.querySelector('#sql-output').hasAttribute('aria-busy')")
    assert page.input_value("#sql") == expected
    assert page.locator("#sql-table tbody tr").count() > 0


def test_a_bad_query_is_explained_in_words(page, live_site):
    load(page, live_site, "/sql?lang=fi")
    _run_with_keyboard(page, "SELECT * FROM pg_settings")
    alert = page.inner_text("#sql-error")
    assert "Tätä kyselyä ei sallita" in alert and "unknown table 'pg_settings'" in alert
    assert page.locator("#sql-table table").count() == 0
    assert page.is_hidden("#sql-downloads")


def test_csv_download_holds_the_rows_of_the_table(page, live_site, tmp_path: Path):
    load(page, live_site, "/sql")
    _run_with_keyboard(page, COUNT)
    shown = _table(page)
    with page.expect_download() as info:
        page.click("#sql-downloads a[data-format=csv]")
    target = tmp_path / "query.csv"
    info.value.save_as(target)
    rows = list(csv.reader(io.StringIO(target.read_text(encoding="utf-8"))))
    assert rows[0] == ["kind", "n"] and rows[1:] == shown


@pytest.mark.parametrize("sql", [COUNT, "SELECT * FROM pg_settings"])
def test_answers_drawn_by_javascript_pass_axe_core(page, live_site, sql):
    from axe_playwright_python.sync_playwright import Axe

    load(page, live_site, "/sql?lang=sv")
    _run_with_keyboard(page, sql)
    assert page.locator("#sql-table tbody tr, #sql-error .sql-problem").count() > 0
    violations = Axe().run(page).response["violations"]
    assert [(v["id"], [n["target"] for n in v["nodes"]]) for v in violations] == []


def test_the_page_works_without_javascript(browser, live_site):
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(f"{live_site}/sql?lang=sv")
        assert page.is_hidden("#sql-shortcut")
        page.fill("#sql", COUNT)
        with page.expect_navigation():
            page.click("#sql-run")
        assert "/sql?sql=SELECT" in page.url and "lang=sv" in page.url
        assert sum(int(r[1]) for r in _table(page)) == 224
        assert page.get_attribute("html", "lang") == "sv"
    finally:
        context.close()


@pytest.fixture()
def requests_seen(page) -> list[str]:
    """Paths of the requests the page makes after loading."""
    seen: list[str] = []
    page.on("request", lambda r: seen.append(urlsplit(r.url).path))
    return seen
