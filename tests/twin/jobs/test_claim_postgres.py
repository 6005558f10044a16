"""The job queue on PostgreSQL: workers claim with `FOR UPDATE SKIP LOCKED`, so a worker never
waits on a row another one is taking, and concurrent workers take every job exactly once."""

from __future__ import annotations

import json
import threading
import uuid
from collections import Counter
from pathlib import Path

import pytest
import sqlalchemy as sa

from opendata.settings import Settings
from twin.jobs import queue

pytestmark = pytest.mark.slow  # a PostgreSQL server


def _queue(settings: Settings, count: int) -> list[str]:
    """`count` queued jobs (rows as `enqueue` writes them), oldest first."""
    ids = [str(uuid.uuid4()) for _ in range(count)]
    rows = [
        {"id": job_id, "name": f"job{i}", "spec": json.dumps({}), "spec_sha256": "0" * 64,
         "status": "queued", "client": "", "submitted_at": f"2026-01-01T00:00:{i:02d}.000Z",
         "progress": "queued", "attempts": 0}
        for i, job_id in enumerate(ids)
    ]  # fmt: skip
    with queue.engine(settings).begin() as conn:
        conn.execute(queue.jobs.insert(), rows)
    return ids


def _settings(tmp_path: Path, url: str) -> Settings:
    return Settings(data_dir=tmp_path / "data", catalog_url=url)


def test_jobs_share_the_postgresql_catalog_database(tmp_path: Path, postgres_url: str) -> None:
    settings = _settings(tmp_path, postgres_url)
    assert queue.store_url(settings) == postgres_url
    assert queue.engine(settings).dialect.name == "postgresql"


def test_a_claim_skips_the_row_another_worker_holds(tmp_path: Path, postgres_url: str) -> None:
    settings = _settings(tmp_path, postgres_url)
    first, second = _queue(settings, 2)
    found: dict[str, queue.Job | None] = {}
    claimer = threading.Thread(target=lambda: found.update(job=queue.claim(settings, "b:1:x")))
    other = sa.create_engine(postgres_url)
    with other.begin() as conn:
        conn.execute(sa.select(queue.jobs).where(queue.jobs.c.id == first).with_for_update())
        claimer.start()
        claimer.join(timeout=10)
        waited = claimer.is_alive()  # without SKIP LOCKED the claim waits for this transaction
    claimer.join(timeout=30)
    other.dispose()
    assert not waited
    assert found["job"] is not None and found["job"].id == second
    assert queue.get_job(settings, first).status == "queued"


def test_concurrent_workers_claim_every_job_exactly_once(tmp_path: Path, postgres_url: str) -> None:
    settings = _settings(tmp_path, postgres_url)
    ids = _queue(settings, 40)
    taken: list[str] = []
    lock = threading.Lock()

    def work(name: str) -> None:
        while (job := queue.claim(settings, f"{name}:1:x")) is not None:
            with lock:
                taken.append(job.id)

    threads = [threading.Thread(target=work, args=(f"w{i}",)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert Counter(taken) == Counter(ids)
    assert queue.queued_count(settings) == 0
