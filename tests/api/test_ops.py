"""Operations: /healthz, /readyz and /metrics (also summed over two gunicorn workers of a live
`civic serve`), request ids in headers, problem+json and JSON logs, Flask-Limiter rate limits
and the trusted-proxy rule for client addresses."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
import requests

from api.app import create_app
from opendata.settings import Settings
from tests.live import free_port


def test_healthz_reports_the_catalog(client):
    resp = client.get("/healthz")
    assert resp.status_code == 200
    assert resp.get_json() == {"status": "ok", "collections": 3}


def test_readyz_checks_catalog_store_and_job_queue(client):
    resp = client.get("/readyz")
    assert resp.status_code == 200
    assert resp.get_json() == {
        "status": "ready",
        "checks": {"catalog": "ok", "store": "ok", "jobs": "ok"},
    }


def test_readyz_is_503_naming_an_unreachable_store(settings: Settings, tmp_path: Path):
    app = create_app(replace(settings, store_url=str(tmp_path / "unmounted")))
    resp = app.test_client().get("/readyz")
    assert resp.status_code == 503
    assert resp.mimetype == "application/problem+json"
    body = resp.get_json()
    assert body["detail"] == "not ready: store unreachable (FileNotFoundError)"
    assert str(tmp_path) not in resp.get_data(as_text=True)


def test_readyz_asks_the_object_store_itself_not_the_hosts_cache(
    settings: Settings, tmp_path: Path, s3_env: dict
):
    """A fresh host on an S3 store has no local cache yet and is ready; a store whose bucket
    does not exist is not, although the cache folder is there."""
    from tests import s3

    fresh = replace(settings, data_dir=tmp_path / "fresh-host", store_url=s3.fresh_prefix())
    assert not (fresh.data_dir / "store-cache").exists()
    resp = create_app(fresh).test_client().get("/readyz")
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["checks"]["store"] == "ok"

    missing = replace(fresh, store_url="s3://no-such-bucket/store")
    (missing.data_dir / "store-cache").mkdir(parents=True, exist_ok=True)
    resp = create_app(missing).test_client().get("/readyz")
    assert resp.status_code == 503
    assert resp.get_json()["detail"].startswith("not ready: store unreachable (")
    assert "no-such-bucket" not in resp.get_data(as_text=True)


def test_metrics_count_requests_per_route_and_report_jobs_and_runs(app):
    client = app.test_client()
    for _ in range(3):
        assert client.get("/collections/buildings/items?limit=1").status_code == 200
    text = client.get("/metrics").get_data(as_text=True)
    line = re.search(
        r'civic_http_requests_total\{method="GET",route="/collections/<[a-z_:A-Z]+>/items",'
        r'status="200"\} (\d+)',
        text,
    )
    assert line and int(float(line.group(1))) >= 3
    assert 'civic_http_request_duration_seconds_bucket{le="0.005",route=' in text
    assert 'civic_jobs{status="queued"} 0.0' in text
    assert 'civic_ingest_runs{status="published"}' not in text  # fixtures publish, never ingest


def test_every_answer_carries_a_request_id_also_in_problem_json(client):
    made = client.get("/collections/nope")
    assert made.status_code == 404
    assert re.fullmatch(r"[0-9a-f]{32}", made.headers["X-Request-Id"])
    assert made.get_json()["request_id"] == made.headers["X-Request-Id"]
    passed = client.get("/conformance", headers={"X-Request-Id": "proxy-42.a"})
    assert passed.headers["X-Request-Id"] == "proxy-42.a"
    forged = client.get("/conformance", headers={"X-Request-Id": "x\u00e9<script>"})
    assert re.fullmatch(r"[0-9a-f]{32}", forged.headers["X-Request-Id"])


@pytest.fixture
def limited(settings: Settings):
    """An app allowing 2 requests/s with bursts of 2, directly exposed (no trusted proxy)."""
    return create_app(replace(settings, rate_limit=2, rate_burst=2))


def test_over_the_limit_gets_429_problem_json_with_retry_after(limited):
    client = limited.test_client()
    codes = [client.get("/conformance").status_code for _ in range(3)]
    assert codes == [200, 200, 429]
    resp = client.get("/conformance")
    assert resp.mimetype == "application/problem+json"
    assert 1 <= int(resp.headers["Retry-After"]) <= 2
    assert client.get("/healthz").status_code == 200  # probes are never limited


def test_forwarded_for_is_ignored_without_a_trusted_proxy(limited):
    client = limited.test_client()
    codes = [
        client.get("/conformance", headers={"X-Forwarded-For": f"10.0.0.{i}"}).status_code
        for i in range(3)
    ]
    assert codes == [200, 200, 429]  # a forged header does not buy a fresh bucket


def test_behind_one_trusted_proxy_each_client_has_its_own_bucket(settings: Settings):
    app = create_app(replace(settings, rate_limit=2, rate_burst=2, trusted_proxies=1))
    client = app.test_client()

    def get(forwarded: str) -> int:
        return client.get("/conformance", headers={"X-Forwarded-For": forwarded}).status_code

    assert [get("192.0.2.1") for _ in range(3)] == [200, 200, 429]
    # Only the hop the proxy appended counts: a client-sent address before it is not believed.
    assert [get("6.6.6.6, 192.0.2.2") for _ in range(2)] == [200, 200]
    assert get("7.7.7.7, 192.0.2.2") == 429


def test_a_live_server_sums_metrics_over_its_workers_and_logs_json(live: tuple[str, Path]):
    base, log = live
    ids = []
    for _ in range(12):
        resp = requests.get(f"{base}/collections?f=json", timeout=30)
        assert resp.status_code == 200
        ids.append(resp.headers["X-Request-Id"])
    text = requests.get(f"{base}/metrics", timeout=30).text
    found = re.search(
        r'civic_http_requests_total\{method="GET",route="/collections",status="200"\} (\d+)', text
    )
    assert found and int(float(found.group(1))) >= 12
    lines = [json.loads(x) for x in log.read_text().splitlines() if x.startswith("{")]
    logged = {x.get("request_id") for x in lines if x.get("logger") == "civic.access"}
    assert set(ids) <= logged


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    """A throwaway redis-server (Debian's, `.ci/sysdeps.sh`) on a free port, nothing persisted."""
    binary = shutil.which("redis-server")
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail("redis-server missing in CI: .ci/sysdeps.sh installs it")
        pytest.skip("redis-server not installed (make sysdeps)")
    port = free_port()
    proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no"], stdout=subprocess.DEVNULL)  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline and proc.poll() is None, "redis did not start"
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.mark.parametrize(("storage", "third"), [("memory", 200), ("redis", 429)])
def test_two_hosts_count_a_client_together_only_with_shared_storage(
    settings: Settings, request: pytest.FixtureRequest, storage: str, third: int
):
    url = request.getfixturevalue("redis_url") if storage == "redis" else "memory://"
    limited = replace(settings, rate_limit=2, rate_burst=2, rate_limit_storage=url)
    host_a, host_b = (create_app(limited).test_client() for _ in range(2))
    assert host_a.get("/conformance").status_code == 200
    assert host_b.get("/conformance").status_code == 200
    assert host_a.get("/conformance").status_code == third


def test_requests_pass_when_the_shared_storage_is_down(settings: Settings):
    down = f"redis://127.0.0.1:{free_port()}"
    client = create_app(replace(settings, rate_limit=2, rate_burst=2, rate_limit_storage=down))
    codes = [client.test_client().get("/conformance").status_code for _ in range(3)]
    assert codes == [200, 200, 200]
