"""The scenario API: POST validates and queues (202) without running the model, bad submissions
get problem+json and queue nothing, submissions are rate-limited per client, and a finished job
links its published datasets and maps."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import replace

import pytest
import requests

from api.app import create_app
from api.auth import accounts
from opendata.settings import Settings
from tests import backend
from tests.api.conftest import ROOT, free_port
from tests.api.conftest import _wait_ready as wait_ready
from tests.twin.jobs.test_worker import copy_store, scenario
from twin.jobs import queue, worker
from twin.scenarios import cache

PROBLEM = "application/problem+json"


@pytest.fixture(scope="module")
def store(bundled: Settings, tmp_path_factory: pytest.TempPathFactory) -> Settings:
    base = copy_store(bundled, tmp_path_factory.mktemp("scenario_api"))
    return replace(base, base_url="http://api.test", scenario_submit_per_minute=50)


@pytest.fixture(scope="module")
def token(store: Settings) -> str:
    """An API token of a planner (every write route needs one)."""
    accounts.add_user(store.catalog_url, "api.planner", "planner")
    return accounts.issue_token(store.catalog_url, "api.planner")


@pytest.fixture(scope="module")
def api(store: Settings, token: str):
    app = create_app(store)
    app.config["TESTING"] = True
    client = app.test_client()
    client.token = token
    return client


def _post(api, body, *, client: str = "10.0.0.1", content_type: str = "application/json"):
    data = body if isinstance(body, bytes | str) else json.dumps(body)
    return api.post(
        "/api/scenarios",
        data=data,
        content_type=content_type,
        environ_base={"REMOTE_ADDR": client},
        headers={"Authorization": f"Bearer {getattr(api, 'token', '')}"},
    )


def _count(store: Settings) -> int:
    return len(queue.list_jobs(store, limit=500))


@pytest.fixture(scope="module")
def done_job(api, store: Settings) -> dict:
    """A closure submitted over HTTP, run by an in-process worker, then published."""
    resp = _post(api, scenario(name="api_closure"), client="10.0.0.99")
    assert resp.status_code == 202
    worker.run_worker(store, once=True)
    path = resp.headers["Location"].removeprefix("http://api.test")
    title = {"fi": "Suljettu", "sv": "Stängd", "en": "Closed"}
    headers = {"Authorization": f"Bearer {api.token}"}
    published = api.post(f"{path}/publish", json={"title": title}, headers=headers)
    assert published.status_code == 200
    return api.get(path).get_json()


def test_post_queues_and_answers_202_with_location(api, store):
    resp = _post(api, scenario(name="api_queued"), client="10.0.0.2")
    doc = resp.get_json()
    assert resp.status_code == 202
    assert resp.headers["Location"] == f"http://api.test/api/scenarios/{doc['id']}"
    assert (doc["status"], doc["queue_position"]) == ("queued", 0)
    assert "summary" not in doc  # nothing ran inside the request
    queue.finish(store, queue.claim(store, worker.worker_id()).id, "failed", error="test")


def test_post_builds_no_city_model_in_the_request(api, store):
    cache._CITIES.items.clear()  # as after a start: no city loaded in this process
    started = time.perf_counter()
    resp = _post(api, scenario(name="api_fast"), client="10.0.0.7")
    elapsed = time.perf_counter() - started
    assert resp.status_code == 202
    assert len(cache._CITIES.items) == 0, f"a city was built in the request ({elapsed:.2f} s)"
    print(f"first POST after clearing the city cache: {elapsed * 1000:.0f} ms")
    queue.finish(store, queue.claim(store, worker.worker_id()).id, "failed", error="test")


BAD = {
    "unknown edit": (scenario(name="x_bad", edits=[{"type": "teleport"}]), 422, "edits[0].type"),
    "unknown key": (
        scenario(name="x_bad", edits=[{"type": "close", "name": "Bulevardi", "lanez": 1}]),
        422,
        "lanez",
    ),
    "selection matching nothing": (
        scenario(name="x_bad", edits=[{"type": "close", "name": "Nonexistent street"}]),
        422,
        "edits[0] (close): the selection matches no road links",
    ),
    "miscased street name": (
        scenario(name="x_bad", edits=[{"type": "close", "name": "mannerheimintie"}]),
        422,
        "no street named 'mannerheimintie'; closest: Mannerheimintie",
    ),
    "not JSON": ("{'name': ", 400, "not valid JSON"),
    "empty body": ("", 400, "empty body"),
    "a JSON list": ("[1, 2]", 400, "must be a JSON object"),
    "too large": (json.dumps({"name": "x" * 70_000}), 413, "larger than 64 KiB"),
    "bundled name, other content": (
        scenario(assignment={"target_gap": 1e-3}),
        409,
        "belongs to a bundled scenario",
    ),
}


@pytest.mark.parametrize("case", BAD, ids=list(BAD))
def test_bad_submission_is_problem_json_and_queues_nothing(api, store, case):
    body, status, fragment = BAD[case]
    before = _count(store)
    resp = _post(api, body, client="10.0.0.3")
    assert (resp.status_code, resp.mimetype) == (status, PROBLEM)
    assert fragment in resp.get_json()["detail"]
    assert _count(store) == before


def test_wrong_media_type_is_415(api, store):
    resp = _post(api, "name = 1", content_type="text/plain", client="10.0.0.4")
    assert (resp.status_code, resp.mimetype) == (415, PROBLEM)


def test_toml_body_is_accepted(api, store):
    toml = "\n".join(
        [
            'name = "toml_body"',
            'title = { en = "Slow Bulevardi", fi = "Hidas Bulevardi" }',
            "[[edits]]",
            'type = "change"',
            'name = "Bulevardi"',
            "max_speed_kmh = 20",
        ]
    )
    resp = _post(api, toml, content_type="application/toml", client="10.0.0.5")
    assert resp.status_code == 202, resp.get_json()
    queue.finish(store, queue.claim(store, worker.worker_id()).id, "failed", error="test")


def test_submissions_over_the_limit_get_429_with_retry_after(store):
    limited = create_app(replace(store, scenario_submit_per_minute=2)).test_client()
    limited.token = accounts.issue_token(store.catalog_url, "api.planner")
    codes = [_post(limited, scenario(name=f"burst_{i}"), client="10.1.1.1") for i in range(3)]
    assert [r.status_code for r in codes] == [202, 202, 429]
    assert codes[2].mimetype == PROBLEM and 1 <= int(codes[2].headers["Retry-After"]) <= 60
    other = _post(limited, scenario(name="burst_other"), client="10.1.1.2")
    assert other.status_code == 202
    while (job := queue.claim(store, worker.worker_id())) is not None:
        queue.finish(store, job.id, "failed", error="test")


def test_done_job_has_summary_datasets_and_maps(done_job):
    assert done_job["status"] == "done"
    assert done_job["summary"]["totals"]["vehicle_hours"]["change"] > 10
    links = done_job["datasets"]["links"]
    assert links["api"] == "http://api.test/api/datasets/scenario_api_closure_links"
    assert links["collection"] == "http://api.test/collections/scenario_api_closure_links"
    assert links["files"]["parquet"].endswith(
        f"/datasets/scenario_api_closure_links/versions/{links['version']}/"
        "scenario_api_closure_links.parquet"
    )
    assert set(done_job["maps"]) == {"flows", "difference", "noise", "accessibility"}


def test_published_dataset_of_a_job_is_served(api, done_job):
    path = done_job["datasets"]["links"]["api"].removeprefix("http://api.test")
    doc = api.get(path).get_json()
    assert doc["name"] == "scenario_api_closure_links"


def test_map_is_served_as_html_with_a_restrictive_csp(api, done_job):
    resp = api.get(done_job["maps"]["difference"].removeprefix("http://api.test"))
    assert (resp.status_code, resp.mimetype) == (200, "text/html")
    assert "script-src 'self' 'unsafe-inline'" in resp.headers["Content-Security-Policy"]
    assert "img-src 'self' data:;" in resp.headers["Content-Security-Policy"]  # no tile host
    assert b"<table>" in resp.data


@pytest.mark.parametrize(
    "path",
    [
        "/api/scenarios/not-a-uuid",
        "/api/scenarios/00000000-0000-0000-0000-000000000000",
        "/api/scenarios/00000000-0000-0000-0000-000000000000/maps/flows",
        "/api/scenarios/bundled/no_such_scenario",
    ],
)
def test_unknown_job_map_or_bundled_scenario_is_404(api, path):
    resp = api.get(path)
    assert (resp.status_code, resp.mimetype) == (404, PROBLEM)


def test_unknown_map_kind_is_404(api, done_job):
    resp = api.get(done_job["links"][0]["href"].removeprefix("http://api.test") + "/maps/x")
    assert resp.status_code == 404 and "use one of flows" in resp.get_json()["detail"]


def test_list_shows_jobs_bundled_and_published(api, done_job):
    doc = api.get("/api/scenarios").get_json()
    assert done_job["id"] in [j["id"] for j in doc["jobs"]]
    assert {b["name"] for b in doc["bundled"]} >= {"close_mannerheimintie", "cordon_esplanadi"}
    assert "api_closure" in [p["name"] for p in doc["published"]]


def test_published_scenario_lists_and_serves_its_maps(api, done_job):
    doc = api.get("/api/scenarios").get_json()
    published = next(p for p in doc["published"] if p["name"] == "api_closure")
    url = published["maps"]["accessibility"]
    assert url == "http://api.test/api/scenarios/published/api_closure/maps/accessibility"
    resp = api.get(url.removeprefix("http://api.test"))
    assert resp.status_code == 200 and b"Change in travel time (min)" in resp.data
    again = api.get(
        url.removeprefix("http://api.test"), headers={"If-None-Match": resp.headers["ETag"]}
    )
    assert again.status_code == 304


@pytest.mark.parametrize(
    ("query", "cookie", "accept", "lang", "title"),
    [
        ("?lang=fi", "sv", "", "fi", "<h1 class='civic-table'>Saavutettavuuden muutos"),
        ("", "sv", "fi", "sv", "<h1 class='civic-table'>Förändring i tillgänglighet"),
        (
            "",
            "",
            "de, fi-FI;q=0.8, en;q=0.5",
            "fi",
            "<h1 class='civic-table'>Saavutettavuuden muutos",
        ),
        ("?lang=da", "", "de", "en", "<h1 class='civic-table'>Change in accessibility"),
    ],
)
def test_published_map_is_served_in_the_readers_language(
    api, done_job, query, cookie, accept, lang, title
):
    client = api.application.test_client()  # its own cookie jar
    if cookie:
        client.set_cookie("civic_lang", cookie)
    path = f"/api/scenarios/published/api_closure/maps/accessibility{query}"
    resp = client.get(path, headers={"Accept-Language": accept} if accept else {})
    assert resp.status_code == 200 and resp.headers["Content-Language"] == lang
    assert {"Cookie", "Accept-Language"} <= set(resp.vary)
    page = resp.get_data(as_text=True)
    assert f'<html lang="{lang}">' in page and title in page


@pytest.mark.parametrize("name", ["..", "API_closure", "no_such_scenario"])
def test_published_map_of_an_unknown_name_is_404(api, name):
    resp = api.get(f"/api/scenarios/published/{name}/maps/flows")
    assert (resp.status_code, resp.mimetype) == (404, PROBLEM)


def test_list_filters_by_status(api, done_job):
    doc = api.get("/api/scenarios?status=done").get_json()
    assert doc["jobs"] and {j["status"] for j in doc["jobs"]} == {"done"}
    assert api.get("/api/scenarios?status=lost").status_code == 400


def test_bundled_spec_can_be_edited_and_resubmitted(api, store):
    spec = api.get("/api/scenarios/bundled/cordon_esplanadi").get_json()
    spec["name"], spec["edits"][0]["amount"] = "cordon_five", 5.0
    resp = _post(api, spec, client="10.0.0.6")
    assert resp.status_code == 202
    queue.finish(store, queue.claim(store, worker.worker_id()).id, "failed", error="test")


def test_every_scenario_route_is_in_openapi(api):
    paths = api.get("/openapi").get_json(force=True)["paths"]
    assert paths["/api/scenarios"].keys() >= {"get", "post"}
    assert "422" in paths["/api/scenarios"]["post"]["responses"]
    for path in ("/api/scenarios/{job_id}", "/api/scenarios/{job_id}/maps/{kind}"):
        assert "get" in paths[path]


@pytest.fixture(scope="module")
def live_service(store: Settings, tmp_path_factory: pytest.TempPathFactory):
    """gunicorn (`python -m api.serve`) and a job worker as real subprocesses on one store."""
    port, log = free_port(), tmp_path_factory.mktemp("live_service") / "service.log"
    env = {
        **os.environ,
        **backend.host_env(store, log.parent / "host"),
        "CIVIC_DATASETS_DIR": str(store.datasets_dir),
        "CIVIC_SOURCE_ROOTS": os.pathsep.join(map(str, store.source_roots)),
        "CIVIC_RATE_LIMIT": "0",
    }
    env.pop("CIVIC_BASE_URL", None)
    commands = [
        [sys.executable, "-m", "api.serve", "--port", str(port), "--workers", "2"],
        [sys.executable, "-m", "twin.jobs.worker", "--poll", "0.2"],
    ]
    with open(log, "wb") as sink:
        procs = [subprocess.Popen(c, cwd=ROOT, env=env, stdout=sink, stderr=sink) for c in commands]
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(base, procs[0], log)
        yield base
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=30)


@pytest.mark.e2e
def test_live_server_and_worker_run_a_posted_scenario(live_service, token):
    spec = scenario("centre_30kmh", name="live_30kmh")
    auth = {"Authorization": f"Bearer {token}"}
    resp = requests.post(f"{live_service}/api/scenarios", json=spec, headers=auth, timeout=30)
    assert resp.status_code == 202
    deadline, job = time.monotonic() + 120, {}
    while time.monotonic() < deadline and job.get("status") not in ("done", "failed"):
        time.sleep(0.3)
        job = requests.get(resp.headers["Location"], headers=auth, timeout=10).json()
    assert job["status"] == "done", job
    assert job["summary"]["totals"]["mean_speed"]["change"] < 0  # 30 km/h slows traffic
    # a private draft: its owner reads it, an anonymous visitor does not know it exists
    assert requests.get(resp.headers["Location"], timeout=10).status_code == 404
    page = requests.get(job["maps"]["noise"], headers=auth, timeout=10)
    assert page.status_code == 200 and "Lden, dB(A)" in page.text
    leaflet = requests.get(f"{live_service}/static/vendor/leaflet-1.9.4/leaflet.js", timeout=10)
    assert leaflet.status_code == 200
