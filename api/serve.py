"""`civic serve`: the API under gunicorn (sync workers by default), JSON logs on stderr."""

from __future__ import annotations

import os
import shutil
import tempfile
from typing import Any

import click
from gunicorn.app.base import BaseApplication

from opendata.settings import Settings


class CivicServer(BaseApplication):
    """A gunicorn application that builds the Flask app from `Settings` in each worker."""

    def __init__(self, settings: Settings, options: dict[str, Any]) -> None:
        self.settings = settings
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            if key in self.cfg.settings and value is not None:
                self.cfg.set(key, value)

    def load(self) -> Any:
        from api import ops
        from api.app import create_app

        ops.json_logs()
        app = create_app(self.settings)
        warm(self.settings)
        return app


def warm(settings: Settings) -> None:
    """Before a worker takes requests: open the catalog and job-queue databases and read the
    current street names (one Parquet read), so the first `POST /api/scenarios` after a start
    costs what later ones do. Nothing here is required: on a store with no roads yet, or a
    database that is down, the worker starts anyway and the request reports it."""
    from opendata.store.catalog import Catalog
    from twin.jobs import queue
    from twin.scenarios.dryrun import street_names

    for step in (
        lambda: Catalog(settings.catalog_url).datasets(kind="none"),
        lambda: queue.queued_count(settings),
        lambda: street_names(settings),
    ):
        try:
            step()
        except Exception:  # noqa: BLE001, S112 - a warm-up never stops a worker from starting
            continue


def gunicorn_options(
    settings: Settings, *, workers: int, worker_class: str, threads: int, timeout: int
) -> dict[str, Any]:
    """The gunicorn configuration for these settings."""
    return {
        "bind": f"{settings.host}:{settings.port}",
        "workers": workers,
        "worker_class": worker_class,
        "threads": threads,
        "timeout": timeout,
        "accesslog": None,  # the app logs each request as a JSON line with its request id
        "errorlog": "-",
        "proc_name": "civic-api",
    }


@click.command("serve")
@click.option("--host", default=None, help="Address to bind (default: CIVIC_HOST or 127.0.0.1).")
@click.option("--port", type=int, default=None, help="Port (default: CIVIC_PORT or 8000).")
@click.option(
    "--workers", type=int, default=None, help="Worker processes (default: CIVIC_WORKERS or 2)."
)
@click.option(
    "--worker-class",
    default="sync",
    show_default=True,
    help="gunicorn worker class (sync, gthread).",
)
@click.option(
    "--threads", type=int, default=1, show_default=True, help="Threads per worker (gthread)."
)
@click.option(
    "--timeout", type=int, default=60, show_default=True, help="Worker timeout in seconds."
)
@click.pass_context
def serve_cmd(
    ctx: click.Context,
    host: str | None,
    port: int | None,
    workers: int | None,
    worker_class: str,
    threads: int,
    timeout: int,
) -> None:
    """Serve the web API and pages with gunicorn."""
    settings = ctx.obj["settings"] if ctx.obj and "settings" in ctx.obj else Settings.from_env()
    # Links must name the address actually served unless a public URL is configured.
    settings = settings.with_address(host, port)
    options = gunicorn_options(
        settings,
        workers=workers or settings.workers,
        worker_class=worker_class,
        threads=threads,
        timeout=timeout,
    )
    click.echo(
        f"serving {settings.data_dir} on http://{settings.host}:{settings.port} "
        f"({options['workers']} {worker_class} workers)",
        err=True,
    )
    from twin.jobs.worker import start_workers, stop_workers  # api -> twin, never the other way

    metrics_dir = _metrics_dir()
    procs = start_workers(settings)  # scenario jobs run beside the web workers, never in them
    try:
        CivicServer(settings, options).run()
    finally:
        stop_workers(procs)
        if metrics_dir:
            shutil.rmtree(metrics_dir, ignore_errors=True)


def _metrics_dir() -> str:
    """A folder where every gunicorn worker writes its Prometheus counters, so `/metrics` sums
    them (prometheus_client's multiprocess mode; set before any worker imports the client).
    Returns the folder to remove at exit, "" when the operator chose one."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return ""
    folder = tempfile.mkdtemp(prefix="civic-metrics-")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = folder
    return folder


def main() -> None:
    """`python -m api.serve`: the same command without the `civic` group."""
    serve_cmd(obj={})


if __name__ == "__main__":
    main()
