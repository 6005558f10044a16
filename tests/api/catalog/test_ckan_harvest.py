"""A remote CKAN portal harvests us with ckanext-harvest's CKAN harvester: its gather loop (GET
package_search with `rows`/`start`, `sort=id asc`, an `fq` of organization/group filters and
`metadata_modified:[<since>Z TO *]`) emulated with the real `ckanapi` client against a live
server; plus the Solr range and OR syntax it relies on."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from pathlib import Path

import ckanapi
import pytest

from api.app import create_app
from api.catalog.ckan_search import Range, Term, parse_fq
from opendata.settings import Settings
from opendata.store.publish import publish
from tests import backend
from tests.api.conftest_data import buildings, live_server, release, services, streets

NAMES = ("buildings", "services", "streets")  # published in this order, a second apart


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """Three datasets with distinct `metadata_modified` (the catalog stores whole seconds)."""
    root: Path = tmp_path_factory.mktemp("harvested")
    settings = backend.store_settings(root, base_url="http://data.example.test", rate_limit=0)
    frames = {"buildings": buildings(50), "services": services(20), "streets": streets(10)}
    for i, name in enumerate(NAMES):
        if i:
            time.sleep(1.05)
        publish(settings, release(name, frames[name]), frames[name])
    return settings


@pytest.fixture(scope="module")
def client(settings: Settings):
    return create_app(settings).test_client()


@pytest.fixture(scope="module")
def portal(settings: Settings):
    """A live server and a ckanapi client that, like the harvester, only sends GET."""
    with live_server(settings) as url, ckanapi.RemoteCKAN(url, get_only=True) as ckan:
        yield ckan


def harvest(ckan: ckanapi.RemoteCKAN, fq_terms: list[str], rows: int = 100) -> list[dict]:
    """ckanext-harvest's `CKANHarvester._search_for_datasets`, step by step."""
    params = {"rows": str(rows), "start": "0", "sort": "id asc"}
    if fq_terms:
        params["fq"] = " ".join(fq_terms)
    found, seen, previous = [], set(), None
    while True:
        page = ckan.action.package_search(**params)
        assert page != previous, "the paging doesn't seem to work"
        previous = page
        results = [p for p in page["results"] if p["id"] not in seen]
        seen |= {p["id"] for p in page["results"]}
        found.extend(results)
        if not page["results"]:
            return found
        params["start"] = str(int(params["start"]) + int(params["rows"]))


def modified(client, name: str) -> str:
    return client.get(f"/api/3/action/package_show?id={name}").get_json()["result"][
        "metadata_modified"
    ]


def since(stamp: str, hours: float = 0) -> str:
    """The harvester's bound: `(last_time - 1 h).isoformat()` + `Z`."""
    return (datetime.fromisoformat(stamp) - timedelta(hours=hours)).isoformat() + "Z"


@pytest.mark.e2e
@pytest.mark.parametrize("rows", [1, 2, 100])
def test_full_harvest_gets_every_package_exactly_once(portal, rows):
    got = harvest(portal, [], rows=rows)
    ids = [p["id"] for p in got]
    assert sorted(p["name"] for p in got) == sorted(NAMES)
    assert ids == sorted(ids)  # sort=id asc held across pages
    assert len(ids) == len(set(ids)) == 3


@pytest.mark.e2e
def test_incremental_harvest_gets_only_what_changed_since(portal, client):
    middle = modified(client, "services")
    got = harvest(portal, [f"metadata_modified:[{since(middle)} TO *]"], rows=1)
    assert sorted(p["name"] for p in got) == ["services", "streets"]
    hour_before_first = since(modified(client, "buildings"), hours=1)
    everything = harvest(portal, [f"metadata_modified:[{hour_before_first} TO *]"])
    assert len(everything) == 3


@pytest.mark.e2e
def test_nothing_changed_since_the_last_harvest_is_an_empty_harvest(portal, client):
    later = since(modified(client, "streets"), hours=-1)
    assert harvest(portal, [f"metadata_modified:[{later} TO *]"]) == []


@pytest.mark.e2e
def test_organization_and_group_filters_as_the_harvester_builds_them(portal):
    include = harvest(portal, ["organization:helsingin-kaupunki OR organization:nobody"])
    assert sorted(p["name"] for p in include) == ["buildings", "services"]
    exclude = harvest(portal, ["-organization:helsingin-kaupunki", "-groups:educ"])
    assert [p["name"] for p in exclude] == ["streets"]
    groups = harvest(portal, ["groups:tran OR groups:heal", "metadata_modified:[* TO NOW]"])
    assert sorted(p["name"] for p in groups) == ["services", "streets"]


@pytest.mark.e2e
def test_remote_orgs_and_groups_can_be_fetched_by_id(portal):
    pkg = portal.action.package_show(id="streets")
    org = portal.action.organization_show(id=pkg["owner_org"])
    group = portal.action.group_show(id=pkg["groups"][0]["id"])
    assert (org["name"], org["package_count"]) == ("helsingin-seudun-liikenne", 1)
    assert (group["name"], group["package_count"], group["is_organization"]) == ("tran", 1, False)
    assert portal.action.group_list() == ["educ", "envi", "heal", "regi", "tran"]
    with pytest.raises(ckanapi.NotFound):
        portal.action.organization_show(id="nobody")


@pytest.mark.parametrize(
    ("bounds", "expected"),
    [
        ("[{s} TO *]", ["services", "streets"]),
        ("{{{s} TO *]", ["streets"]),
        ("[* TO {s}]", ["buildings", "services"]),
        ("[* TO {s}}}", ["buildings"]),
        ("[{s} TO {s}]", ["services"]),
        ("{{{s} TO {s}}}", []),
    ],
)
def test_range_bounds_are_inclusive_or_exclusive(client, bounds, expected):
    stamp = since(modified(client, "services"))
    fq = "metadata_modified:" + bounds.format(s=stamp)
    found = client.get("/api/3/action/package_search", query_string={"fq": fq, "sort": "name asc"})
    assert [p["name"] for p in found.get_json()["result"]["results"]] == expected, fq


def test_sort_by_id_both_ways(client):
    up = client.get("/api/3/action/package_search?sort=id+asc").get_json()["result"]["results"]
    down = client.get("/api/3/action/package_search?sort=id+desc").get_json()["result"]["results"]
    assert [p["id"] for p in up] == sorted(p["id"] for p in up) == [p["id"] for p in down][::-1]


def test_facet_limit_minus_one_means_every_value(client):
    args = {"facet.field": '["groups"]', "facet.limit": "-1"}
    every = client.get("/api/3/action/package_search", query_string=args).get_json()["result"]
    two = client.get(
        "/api/3/action/package_search", query_string=args | {"facet.limit": "2"}
    ).get_json()["result"]
    assert len(every["facets"]["groups"]) == 5
    assert len(two["facets"]["groups"]) == 2


def test_parse_fq_reads_the_harvester_query():
    clauses = parse_fq(
        "organization:a OR organization:b -groups:c metadata_modified:[2026-01-01T00:00:00Z TO *]"
    )
    assert clauses[:2] == [
        [Term(True, "organization", "a"), Term(True, "organization", "b")],
        [Term(False, "groups", "c")],
    ]
    (bound,) = clauses[2]
    assert isinstance(bound, Range)
    assert (bound.low.isoformat(), bound.high, bound.low_inclusive) == (
        "2026-01-01T00:00:00+00:00",
        None,
        True,
    )


@pytest.mark.parametrize(
    ("fq", "message"),
    [
        ("name:[a TO b]", "ranges like [a TO b] apply to metadata_modified"),
        ("metadata_modified:[yesterday TO *]", "cannot read the date 'yesterday'"),
        ("metadata_modified:[2026-01-01 TO]", "ranges like [a TO b]"),
        ("OR tags:x", "OR needs a term on each side"),
        ("tags:x OR", "OR needs a term on each side"),
        ("secret:1", "unsupported field 'secret'"),
    ],
)
def test_unsupported_queries_are_ckan_search_query_errors(client, fq, message):
    resp = client.get("/api/3/action/package_search", query_string={"fq": fq})
    assert resp.status_code == 409
    error = resp.get_json()["error"]
    assert error["__type"] == "Search Query Error"
    assert message in error["message"]
