"""A real `civic serve` for end-to-end tests: a subprocess on a free port, polled until ready."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import requests

from opendata.settings import Settings
from tests import backend

ROOT = Path(__file__).resolve().parents[1]
#: Variables a developer's shell may carry that would change what the test server does.
CLEARED = ("CIVIC_BASE_URL", "CIVIC_TILE_URL", "CIVIC_LANG_FALLBACK")


def free_port() -> int:
    """A TCP port on localhost that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_ready(base: str, proc: subprocess.Popen, log: Path, timeout: float = 60.0) -> None:
    """Poll `/healthz` until it answers 200; fail with the server's log if it exits first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited early: {log.read_text()[-2000:]}")
        try:
            if requests.get(f"{base}/healthz", timeout=5).status_code == 200:
                return
        except requests.RequestException:  # not listening yet, or a worker still booting
            pass
        time.sleep(0.2)
    raise RuntimeError("server did not become ready")


@contextmanager
def civic_server(
    settings: Settings, log: Path, *, env: Mapping[str, str] | None = None, workers: int = 2
) -> Iterator[str]:
    """`civic serve` over `settings`' store, rate limit off; yields its base URL."""
    port = free_port()
    full = {
        **os.environ,
        **backend.host_env(settings, log.parent / "host"),
        "CIVIC_RATE_LIMIT": "0",
        **(env or {}),
    }
    for key in CLEARED:
        if key not in (env or {}):
            full.pop(key, None)
    command = [
        sys.executable,
        "-c",
        "from api.cli import main; main()",
        "serve",
        "--port",
        str(port),
        "--workers",
        str(workers),
    ]
    with open(log, "wb") as sink:
        proc = subprocess.Popen(command, cwd=ROOT, env=full, stdout=sink, stderr=sink)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_ready(base, proc, log)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
