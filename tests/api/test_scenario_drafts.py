"""Drafts: a run belongs to its submitter and stays out of every public read until published
(titles in fi/sv/en); another planner can neither see nor change it; publishing makes it open
data, deleting a published run withdraws it (versions kept), deleting a draft removes its files."""

from __future__ import annotations

import re

import pytest
import requests

from api.app import create_app
from api.auth import accounts
from opendata.settings import Settings
from opendata.store.catalog import Catalog
from opendata.store.publish import dataset_dir
from tests.api.conftest_data import live_server
from tests.twin.jobs.test_worker import copy_store, scenario
from twin.jobs import worker
from twin.scenarios.cache import BaselineCache

TITLE = {"fi": "Suljettu katu", "sv": "Stängd gata", "en": "Closed street"}
NAME = "draft_closure"


@pytest.fixture(scope="module")
def store(bundled: Settings, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    base = copy_store(bundled, tmp_path_factory.mktemp("scenario_drafts"))
    for name, role in (("anna", "planner"), ("bob", "planner"), ("root", "admin")):
        accounts.add_user(base.catalog_url, name, role)
    return base


@pytest.fixture(scope="module")
def api(store: Settings):
    return create_app(store).test_client()


@pytest.fixture(scope="module")
def auth(store: Settings) -> dict[str, dict[str, str]]:
    """Authorization headers per user (and none for an anonymous visitor)."""
    out = {"anon": {}}
    for name in ("anna", "bob", "root"):
        out[name] = {"Authorization": f"Bearer {accounts.issue_token(store.catalog_url, name)}"}
    return out


@pytest.fixture(scope="module")
def cache() -> BaselineCache:
    return BaselineCache()


def _run(api, store, auth, cache, name: str) -> str:
    """Submit as anna, run the worker once; the job id."""
    resp = api.post("/api/scenarios", json=scenario(name=name), headers=auth["anna"])
    assert resp.status_code == 202, resp.get_json()
    worker.run_worker(store, once=True, cache=cache)
    return resp.get_json()["id"]


@pytest.fixture(scope="module")
def draft(api, store, auth, cache) -> str:
    return _run(api, store, auth, cache, NAME)


PUBLIC_URLS = (
    f"/api/datasets/scenario_{NAME}_links",
    f"/collections/scenario_{NAME}_links",
    f"/collections/scenario_{NAME}_links/items?limit=1",
    f"/api/scenarios/published/{NAME}/maps/flows",
    f"/api/3/action/package_show?id=scenario_{NAME}_links",
)


def test_owner_sees_the_finished_draft_with_its_maps(api, auth, draft):
    doc = api.get(f"/api/scenarios/{draft}", headers=auth["anna"]).get_json()
    assert (doc["status"], doc["visibility"]) == ("done", "draft")
    assert doc["datasets"]["links"]["name"] == f"scenario_{NAME}_links" and "flows" in doc["maps"]
    page = api.get(f"/api/scenarios/{draft}/maps/flows", headers=auth["anna"])
    assert page.status_code == 200
    assert api.get(f"/api/scenarios/{draft}", headers=auth["root"]).status_code == 200  # admin


@pytest.mark.parametrize("who", ["anon", "bob"])
def test_draft_is_404_to_anyone_but_its_owner(api, auth, draft, who):
    for path in (f"/api/scenarios/{draft}", f"/api/scenarios/{draft}/maps/flows"):
        assert api.get(path, headers=auth[who]).status_code == 404
    expected = 401 if who == "anon" else 404  # no credentials, or someone else's draft
    assert api.delete(f"/api/scenarios/{draft}", headers=auth[who]).status_code == expected
    listed = api.get("/api/scenarios", headers=auth[who]).get_json()
    assert draft not in [j["id"] for j in listed["jobs"]]
    assert NAME not in [p["name"] for p in listed["published"]]


@pytest.mark.parametrize("path", PUBLIC_URLS)
def test_draft_results_are_in_no_public_listing_or_url(api, draft, path):
    assert api.get(path).status_code == 404
    names = [d["name"] for d in api.get("/api/datasets").get_json()["datasets"]]
    assert not [n for n in names if NAME in n]
    assert NAME not in api.get("/api/3/action/package_list").get_data(as_text=True)


#: A draft's own URLs: its site page, catalogue record, OGC collection and items, downloads.
OWN_URLS = (
    f"/datasets/scenario_{NAME}_links",
    f"/datasets/scenario_{NAME}_links/preview.geojson",
    f"/api/datasets/scenario_{NAME}_links",
    f"/collections/scenario_{NAME}_links",
    f"/collections/scenario_{NAME}_links/items?limit=2&f=json",
    f"/collections/scenario_{NAME}_links/items/1?f=json",
    f"/datasets/scenario_{NAME}_totals/versions/1/scenario_{NAME}_totals.csv",
    f"/datasets/scenario_{NAME}_links/latest.geojson",
)


@pytest.fixture(scope="module")
def http(store: Settings, draft: str):
    """A real HTTP server over the store holding the finished draft."""
    with live_server(store) as url:
        yield url


@pytest.mark.parametrize("who", ["anna", "root"])
@pytest.mark.parametrize("path", OWN_URLS)
def test_owner_and_admin_read_the_drafts_own_urls_privately(http, auth, who, path):
    resp = requests.get(http + path, headers=auth[who], timeout=30, allow_redirects=False)
    assert resp.status_code in (200, 302), resp.text[:200]
    assert resp.headers["Cache-Control"] == "private, no-store"
    assert {"Authorization", "Cookie"} <= {v.strip() for v in resp.headers["Vary"].split(",")}


@pytest.mark.parametrize("who", ["anon", "bob"])
@pytest.mark.parametrize("path", OWN_URLS)
def test_drafts_own_urls_are_404_to_everybody_else(http, auth, who, path):
    resp = requests.get(http + path, headers=auth[who], timeout=30, allow_redirects=False)
    assert resp.status_code == 404
    assert NAME not in resp.headers.get("Location", "")


def test_owner_reads_draft_items_with_real_features(http, auth):
    url = f"{http}/collections/scenario_{NAME}_links/items?limit=2&f=json"
    doc = requests.get(url, headers=auth["anna"], timeout=30).json()
    assert doc["type"] == "FeatureCollection" and len(doc["features"]) == 2
    assert doc["numberMatched"] > 2


def test_owner_signed_in_with_a_session_cookie_sees_the_draft_page(http, store):
    accounts.set_password(store.catalog_url, "anna", "a long enough password")
    browser = requests.Session()
    form = browser.get(f"{http}/studio/signin", timeout=30).text
    token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
    login = {"name": "anna", "password": "a long enough password", "csrf_token": token}
    assert browser.post(f"{http}/studio/signin", data=login, timeout=30).status_code == 200
    page = browser.get(f"{http}/datasets/scenario_{NAME}_links?lang=en", timeout=30)
    assert page.status_code == 200 and f"scenario_{NAME}_links" in page.text
    assert requests.get(f"{http}/datasets/scenario_{NAME}_links", timeout=30).status_code == 404


def test_another_planner_cannot_publish_or_take_the_name(api, auth, draft):
    resp = api.post(f"/api/scenarios/{draft}/publish", json={"title": TITLE}, headers=auth["bob"])
    assert resp.status_code == 404
    taken = api.post("/api/scenarios", json=scenario(name=NAME), headers=auth["bob"])
    assert taken.status_code == 409 and "taken by another draft" in taken.get_json()["detail"]


@pytest.mark.parametrize(
    "body",
    [{}, {"title": {"fi": "x", "en": "y"}}, {"title": {**TITLE, "sv": " "}}],
    ids=["no title", "sv missing", "sv empty"],
)
def test_publish_needs_titles_in_fi_sv_and_en(api, auth, draft, body):
    resp = api.post(f"/api/scenarios/{draft}/publish", json=body, headers=auth["anna"])
    assert resp.status_code == 422 and "title" in resp.get_json()["detail"]


@pytest.fixture(scope="module")
def published(api, auth, draft) -> dict:
    resp = api.post(f"/api/scenarios/{draft}/publish", json={"title": TITLE}, headers=auth["anna"])
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def test_publish_makes_it_open_data_with_its_titles(api, published):
    assert published["visibility"] == "published" and published["changed"]
    assert api.get(f"/api/scenarios/{published['id']}").status_code == 200  # anonymous
    record = api.get(f"/api/datasets/scenario_{NAME}_links").get_json()
    assert record["title"]["fi"].startswith("Suljettu katu")
    assert api.get(f"/collections/scenario_{NAME}_links").status_code == 200
    assert NAME in api.get("/api/3/action/package_list").get_data(as_text=True)


def test_another_planner_may_not_withdraw_a_published_run(api, auth, published):
    resp = api.delete(f"/api/scenarios/{published['id']}", headers=auth["bob"])
    assert resp.status_code == 403


def test_delete_withdraws_a_published_run_and_keeps_its_versions(api, store, auth, published):
    resp = api.delete(f"/api/scenarios/{published['id']}", headers=auth["anna"])
    assert resp.status_code == 200
    doc = resp.get_json()
    assert doc["visibility"] == "withdrawn" and doc["changed"]
    assert api.get(f"/api/datasets/scenario_{NAME}_links").status_code == 404
    assert api.get(f"/api/scenarios/{published['id']}").status_code == 404
    assert dataset_dir(store, f"scenario_{NAME}_links").is_dir()  # kept for the record
    again = api.delete(f"/api/scenarios/{published['id']}", headers=auth["anna"])
    assert again.status_code == 409 and "withdrawn already" in again.get_json()["detail"]


def test_deleting_a_draft_removes_its_results_and_files(api, store, auth, cache):
    job = _run(api, store, auth, cache, "draft_to_delete")
    folder = dataset_dir(store, "scenario_draft_to_delete_links")
    assert folder.is_dir()
    assert api.delete(f"/api/scenarios/{job}", headers=auth["anna"]).status_code == 204
    assert not folder.exists()
    assert api.get(f"/api/scenarios/{job}", headers=auth["anna"]).status_code == 404


def _validate(api, auth, edits: list[dict]) -> dict:
    body = {**scenario(name="dry_run"), "edits": edits}
    resp = api.post("/api/scenarios/validate", json=body, headers=auth["anna"])
    assert resp.status_code == 200, resp.get_json()
    return resp.get_json()


def test_validate_resolves_a_closure_to_streets_and_links(api, auth):
    doc = _validate(api, auth, scenario()["edits"])  # Mannerheimintie inside a polygon
    assert doc["valid"] is True and doc["problem"] is None
    edit = doc["edits"][0]
    assert edit["streets"] == ["Mannerheimintie"] and edit["links"] > 0


def test_validate_names_the_problem_of_edits_that_cannot_run(api, auth):
    doc = _validate(api, auth, [{"type": "close", "name": "Mannerheimintie"}])
    assert doc["valid"] is False and "disconnects" in doc["problem"]
    assert doc["edits"][0]["links"] > 0


def test_validate_over_http_names_and_places_the_zones_a_closure_cuts_off(http, auth, store):
    body = {**scenario(name="dry_run"), "edits": [{"type": "close", "name": "Mannerheimintie"}]}
    resp = requests.post(
        f"{http}/api/scenarios/validate", json=body, headers=auth["anna"], timeout=120
    )
    assert resp.status_code == 200, resp.text[:300]
    doc = resp.json()
    example = re.search(r"e\.g\. zone (\d+) -> zone (\d+)", doc["problem"])
    cut = doc["cut_off"]
    assert example and 0 < len(cut) <= 50 and doc["cut_off_total"] >= len(cut)
    assert {int(example[1]), int(example[2])} & {z["zone"] for z in cut}  # the zone it names
    assert [z["pairs"] for z in cut] == sorted((z["pairs"] for z in cut), reverse=True)
    assert cut[0]["pairs"] > 1 and all(isinstance(z["zone"], int) for z in cut)
    west, south, east, north = Catalog(store.catalog_url).version("roads").bbox  # the city's roads
    assert all(west < z["lon"] < east and south < z["lat"] < north for z in cut), cut[:3]


def test_validate_of_runnable_edits_cuts_off_no_zone(api, auth):
    doc = _validate(api, auth, scenario()["edits"])
    assert doc["cut_off"] == [] and doc["cut_off_total"] == 0


def test_validate_suggests_the_real_name_for_a_miscased_unaccented_one(api, auth):
    doc = _validate(api, auth, [{"type": "close", "name": "mannerheimintie"}])
    assert doc["valid"] is False and "matches no road links" in doc["problem"]
    assert doc["edits"][0]["suggestions"] == {"mannerheimintie": ["Mannerheimintie"]}


def test_validate_counts_a_cordons_crossing_links(api, auth):
    cordon = scenario("cordon_esplanadi")["edits"]
    doc = _validate(api, auth, cordon)
    assert doc["valid"] is True and doc["edits"][0]["links"] > 0


def test_validate_needs_an_account(api):
    resp = api.post("/api/scenarios/validate", json=scenario(name="dry_run"))
    assert resp.status_code == 401


@pytest.mark.parametrize(("lang", "words"), [("en", "withdrawn on"), ("fi", "vedettiin pois")])
def test_withdrawn_scenario_page_says_so_and_when(api, auth, published, lang, words):
    job = api.get(f"/api/scenarios/{published['id']}", headers=auth["anna"]).get_json()
    assert job["visibility"] == "withdrawn"  # by the withdrawal test above
    page = api.get(f"/scenarios/{NAME}?lang={lang}")
    assert page.status_code == 410
    text = page.get_data(as_text=True)
    assert words in text and job["changed"][:10] in text


def test_validate_names_the_zone_a_development_lands_in(api, auth, store):
    west, south, east, north = Catalog(store.catalog_url).version("roads").bbox
    point = f"POINT ({(west + east) / 2} {(south + north) / 2})"
    doc = _validate(api, auth, [{"type": "development", "geometry": point, "dwellings": 100}])
    assert doc["valid"] is True
    zones = doc["edits"][0]["zones"]
    assert len(zones) == 1 and zones[0]["share"] == 1.0 and isinstance(zones[0]["zone"], int)
    assert doc["edits"][0]["residents"] > 100  # more than one person per new home
