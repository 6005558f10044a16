"""The catalog page a citizen searches: scenario results in their own section with a type
facet, sorting by relevance, title or last update, stemming, and facets that fold on a phone."""

from __future__ import annotations

import pytest

from opendata.metadata.search import fold

HTML = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}


def test_scenario_results_have_their_own_section(client):
    page = client.get("/datasets?f=json").get_json()
    assert page["items"] and all(i["kind"] == "dataset" for i in page["items"])
    assert page["scenario_items"] and all(i["kind"] == "scenario" for i in page["scenario_items"])
    assert page["scenario_total"] >= len(page["scenario_items"])
    kinds = dict((v["value"], v["count"]) for g in page["facets"] if g["key"] == "kind"
                 for v in g["values"])  # fmt: skip
    assert kinds["scenario"] == page["scenario_total"]
    assert kinds["dataset"] == page["total"]


def test_the_type_facet_lists_only_scenario_results(client):
    page = client.get("/datasets?kind=scenario&f=json").get_json()
    assert page["total"] > 0 and all(i["kind"] == "scenario" for i in page["items"])
    assert page["scenario_items"] == []


def test_scenario_section_is_on_the_html_page(client):
    body = client.get("/datasets?lang=fi", headers=HTML).get_data(as_text=True)
    assert '<h2 id="scenario-results-h">Skenaarioiden tulokset</h2>' in body
    assert '<details class="facets" open data-collapse-narrow>' in body
    assert '<option value="title" selected>Otsikko</option>' in body


@pytest.mark.parametrize("lang", ["fi", "sv", "en"])
def test_title_sort_is_alphabetical_in_the_page_language(client, lang):
    page = client.get(f"/datasets?sort=title&lang={lang}&f=json").get_json()
    titles = [fold(i["title"]) for i in page["items"]]
    assert len(titles) > 3 and titles == sorted(titles)


def test_date_sort_is_newest_first(client):
    items = client.get("/datasets?sort=date&f=json").get_json()["items"]
    assert [i["modified"] for i in items] == sorted((i["modified"] for i in items), reverse=True)


def test_old_sort_by_name_still_works_and_bad_sorts_are_400(client):
    assert client.get("/datasets?sort=name&f=json").status_code == 200
    resp = client.get("/datasets?sort=shoe-size")
    assert resp.status_code == 400 and resp.mimetype == "application/problem+json"


@pytest.mark.parametrize(
    ("q", "lang", "name"),
    [("hållplatserna", "sv", "stops"), ("viheralueita", "fi", "green_areas")],
)
def test_inflected_finnish_and_swedish_words_find_the_dataset(client, q, lang, name):
    page = client.get(f"/datasets?q={q}&lang={lang}&f=json").get_json()
    assert name in [i["name"] for i in page["items"]]


@pytest.mark.e2e
def test_facets_fold_on_a_phone_and_stay_open_on_a_desktop(phone, page, live_site):
    phone.goto(f"{live_site}/datasets?lang=fi", wait_until="load")
    assert phone.evaluate("document.querySelector('details.facets').open") is False
    phone.click("details.facets > summary")
    assert phone.evaluate("document.querySelector('details.facets').open") is True
    assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.goto(f"{live_site}/datasets?lang=fi", wait_until="load")
    assert page.evaluate("document.querySelector('details.facets').open") is True
