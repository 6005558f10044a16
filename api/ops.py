"""Operations endpoints for load balancers and monitoring: `/healthz` (the process answers and
reads the catalog), `/readyz` (catalog, store and job queue reachable: take this host into the
pool), `/metrics` (Prometheus text: requests and latency per route, jobs by status, ingest runs).

Metrics of several gunicorn workers are summed through prometheus_client's multiprocess mode
(`PROMETHEUS_MULTIPROC_DIR`, which `civic serve` sets); a bare app counts its own process.
"""

from __future__ import annotations

import json
import logging
import os
import time
from typing import Any

from flask import Blueprint, Flask, Response, current_app, g, has_request_context, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import GaugeMetricFamily

from api.http import ApiError, json_response, request_id
from opendata.settings import Settings
from opendata.store import objects
from opendata.store.catalog import Catalog
from twin.jobs import queue

bp = Blueprint("ops", __name__)
CONFORMANCE: list[str] = []
#: Routes whose requests are not counted or rate limited (probes and scrapes).
OPS_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})

REQUESTS = Counter(
    "civic_http_requests_total", "HTTP requests answered", ["route", "method", "status"]
)
LATENCY = Histogram(
    "civic_http_request_duration_seconds",
    "Time to answer a request",
    ["route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)


def _settings() -> Settings:
    return current_app.config["CIVIC_SETTINGS"]


def _health(settings: Settings) -> dict[str, Any]:
    return {"status": "ok", "collections": len(Catalog(settings.catalog_url).current())}


@bp.get("/healthz")
def healthz() -> Response:
    """Alive: the process answers and can read the catalog."""
    try:
        return json_response(_health(_settings()))
    except Exception as err:  # noqa: BLE001 - any failure means unhealthy
        raise ApiError(503, f"catalog unreachable: {type(err).__name__}") from None


def _store_probe(settings: Settings) -> None:
    """The store's folder, or the object store itself (a host's cache of it proves nothing)."""
    if settings.store_is_remote:
        objects.reachable(settings.store_url)
    else:
        os.listdir(settings.store_dir)


def _checks(settings: Settings) -> dict[str, str]:
    """Each dependency a host needs to serve: "ok" or the reason it is not."""
    results = {}
    probes = {
        "catalog": lambda: Catalog(settings.catalog_url).datasets(kind="none"),
        "store": lambda: _store_probe(settings),
        "jobs": lambda: queue.queued_count(settings),
    }
    for name, probe in probes.items():
        try:
            probe()
            results[name] = "ok"
        except Exception as err:  # noqa: BLE001 - a probe reports, never raises
            results[name] = f"unreachable ({type(err).__name__})"
    return results


@bp.get("/readyz")
def readyz() -> Response:
    """Ready: catalog, store and job queue reachable; 503 naming what is not."""
    checks = _checks(_settings())
    failed = [name for name, state in checks.items() if state != "ok"]
    if failed:
        raise ApiError(503, f"not ready: {', '.join(f'{n} {checks[n]}' for n in failed)}")
    return json_response({"status": "ready", "checks": checks})


class StateCollector:
    """Jobs by status and ingest runs by outcome, read from the databases at scrape time."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def collect(self) -> Any:
        jobs = GaugeMetricFamily("civic_jobs", "Scenario jobs by status", labels=["status"])
        for status in ("queued", "running", "failed", "done"):
            jobs.add_metric([status], queue.count_by_status(self.settings).get(status, 0))
        yield jobs
        runs = GaugeMetricFamily("civic_ingest_runs", "Ingest runs by outcome", labels=["status"])
        for status, count in sorted(Catalog(self.settings.catalog_url).run_counts().items()):
            runs.add_metric([status], count)
        yield runs


@bp.get("/metrics")
def metrics() -> Response:
    """Prometheus text exposition of every worker's counters and the current job/run state."""
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(_ProcessMetrics())
    registry.register(StateCollector(_settings()))
    return Response(generate_latest(registry), mimetype=CONTENT_TYPE_LATEST.split(";")[0])


class _ProcessMetrics:
    """This process's request metrics (when not in multiprocess mode)."""

    def collect(self) -> Any:
        yield from REQUESTS.collect()
        yield from LATENCY.collect()


def _start() -> None:
    g.civic_started = time.perf_counter()


def _record(resp: Response) -> Response:
    if request.path in OPS_PATHS or "civic_started" not in g:
        return resp
    route = request.url_rule.rule if request.url_rule else "(unmatched)"
    seconds = time.perf_counter() - g.civic_started
    REQUESTS.labels(route, request.method, str(resp.status_code)).inc()
    LATENCY.labels(route).observe(seconds)
    fields = {"method": request.method, "route": route, "target": request.full_path.rstrip("?"),
              "status": resp.status_code, "ms": round(seconds * 1000, 1),
              "client": request.remote_addr}  # fmt: skip
    ACCESS.info("request", extra={"fields": fields})
    return resp


ACCESS = logging.getLogger("civic.access")


class JsonFormatter(logging.Formatter):
    """One JSON object per log line, with the request id when logged inside a request."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if has_request_context():
            entry.update(request_id=request_id(), path=request.path)
        entry.update(getattr(record, "fields", {}))
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str)


def json_logs(level: int = logging.INFO) -> None:
    """Send the app's logs (access lines, errors) to stderr as JSON lines (`civic serve`)."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    for name in ("civic", "api"):
        logger = logging.getLogger(name)
        logger.handlers[:] = [handler]
        logger.setLevel(level)
        logger.propagate = False


def install(app: Flask) -> None:
    """Time and count every request (per route template, so ids do not explode the labels)."""
    app.before_request(_start)
    app.after_request(_record)


def openapi_paths(settings: Settings) -> dict[str, Any]:
    """The operations endpoints in /openapi."""
    del settings

    def get(op: str, summary: str, mimetype: str) -> dict[str, Any]:
        content = {mimetype: {"schema": {"type": "object" if "json" in mimetype else "string"}}}
        responses = {"200": {"description": summary, "content": content}}
        if op != "getMetrics":
            problem = {"application/problem+json": {"schema": {"type": "object"}}}
            responses["503"] = {"description": "A dependency is unreachable", "content": problem}
        return {"get": {"tags": ["Operations"], "operationId": op, "summary": summary,
                        "parameters": [], "responses": responses}}  # fmt: skip

    return {
        "/healthz": get("getHealth", "Health check (catalog reachable)", "application/json"),
        "/readyz": get("getReadiness", "Readiness (catalog, store, job queue)", "application/json"),
        "/metrics": get("getMetrics", "Prometheus metrics", "text/plain"),
    }
