"""The scenario job table (SQLAlchemy Core; its own SQLite file in WAL mode by default, the
catalog's database when that is PostgreSQL, any SQLAlchemy URL via CIVIC_SCENARIO_JOBS_URL) and
its state changes: submit (validated against the network first), claim, finish, recover. The
schema is the catalog's Alembic history (`opendata.store.schema`)."""

from __future__ import annotations

import json
import os
import socket
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa

from opendata.errors import NotFound
from opendata.ingest.privacy import keyed_hash
from opendata.settings import Settings
from opendata.store import schema
from twin.scenarios.dryrun import check_names
from twin.scenarios.model import ScenarioSpec
from twin.scenarios.spec import parse_scenario

MAX_ATTEMPTS = 3  # a job that kills its worker this often is failed, not retried forever
STALE_S = 300.0  # a running job whose worker has not beaten for this long is requeued

meta = sa.MetaData()
jobs = sa.Table(
    "scenario_jobs",
    meta,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("name", sa.String(40), nullable=False),
    sa.Column("spec", sa.Text, nullable=False),
    sa.Column("spec_sha256", sa.String(64), nullable=False),
    sa.Column("status", sa.String(8), nullable=False, index=True),
    sa.Column("client", sa.String(64), nullable=False, index=True),
    sa.Column("submitted_at", sa.String(32), nullable=False, index=True),
    sa.Column("started_at", sa.String(32)),
    sa.Column("finished_at", sa.String(32)),
    sa.Column("progress", sa.Text, nullable=False, default=""),
    sa.Column("error", sa.Text),
    sa.Column("summary", sa.Text),
    sa.Column("versions", sa.Text),
    sa.Column("maps", sa.Text),
    sa.Column("worker", sa.String(200)),
    sa.Column("heartbeat", sa.Float),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("owner", sa.String(64), index=True),  # the user who submitted it (None: before auth)
    # draft (owner and admins only) | published | withdrawn; None: a job from before drafts
    sa.Column("visibility", sa.String(10)),
    sa.Column("changed_at", sa.String(32)),  # when it was last published or withdrawn
    sa.Index("ix_scenario_jobs_claim", "status", "submitted_at"),
)
_ENGINES: dict[str, sa.Engine] = {}


@dataclass(frozen=True)
class Job:
    """One submitted scenario run as stored (JSON columns decoded)."""

    id: str
    name: str
    spec: dict[str, Any]
    spec_sha256: str
    status: str
    client: str  # keyed hash of the submitting client, never its address
    submitted_at: str
    started_at: str | None
    finished_at: str | None
    progress: str
    error: str | None
    summary: dict[str, Any] | None
    versions: dict[str, int] | None
    maps: list[str] | None
    worker: str | None
    heartbeat: float | None
    attempts: int
    owner: str | None = None
    visibility: str | None = None
    changed_at: str | None = None

    @property
    def public(self) -> bool:
        """Whether anyone may see it: published, or from before accounts and drafts."""
        return self.visibility in (None, "published")


def now() -> str:
    """The current UTC time as the job table stores it."""
    return _now()


def _now(offset_s: float = 0.0) -> str:
    """UTC time with milliseconds: sortable text, so the queue is FIFO by submission."""
    t = datetime.now(UTC) + timedelta(seconds=offset_s)
    return t.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def store_url(settings: Settings) -> str:
    """`CIVIC_SCENARIO_JOBS_URL`; else the catalog's database when it is shared (not SQLite),
    so every host sees one queue; else `data_dir/scenario_jobs.db` beside the catalog."""
    if settings.scenario_jobs_url:
        return settings.scenario_jobs_url
    if not settings.catalog_url.startswith("sqlite"):
        return settings.catalog_url
    return f"sqlite:///{settings.data_dir / 'scenario_jobs.db'}"


def _pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=FULL")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.close()


def engine(settings: Settings) -> sa.Engine:
    """One engine per store URL per process; the schema is migrated on first use."""
    url = store_url(settings)
    if url not in _ENGINES:
        if url.startswith("sqlite:///"):
            settings.data_dir.mkdir(parents=True, exist_ok=True)
        eng = sa.create_engine(url, pool_pre_ping=not url.startswith("sqlite"))
        if eng.dialect.name == "sqlite":
            sa.event.listen(eng, "connect", _pragmas)
        schema.upgrade(eng)
        _ENGINES[url] = eng
    return _ENGINES[url]


def _job(row: Any) -> Job:
    data = dict(row._mapping)
    for key in ("spec", "summary", "versions", "maps"):
        data[key] = json.loads(data[key]) if data[key] else None
    return Job(**data)


def update(settings: Settings, job_id: str, **values: Any) -> int:
    with engine(settings).begin() as conn:
        return conn.execute(jobs.update().where(jobs.c.id == job_id).values(**values)).rowcount


def enqueue(
    settings: Settings,
    spec: ScenarioSpec,
    spec_dict: dict[str, Any],
    *,
    client: str = "",
    owner: str | None = None,
) -> Job:
    """Queue a parsed (and checked) scenario; returns the stored job."""
    row = {
        "id": str(uuid.uuid4()),
        "name": spec.name,
        "spec": json.dumps(spec_dict, sort_keys=True, default=str),
        "spec_sha256": spec.sha256,
        "status": "queued",
        "client": client,
        "submitted_at": _now(),
        "progress": "queued",
        "attempts": 0,
        "owner": owner,
        "visibility": "draft" if owner else None,
    }
    with engine(settings).begin() as conn:
        conn.execute(jobs.insert().values(**row))
    return get_job(settings, row["id"])


def owners_of(settings: Settings, name: str) -> set[str | None]:
    """Who submitted jobs under scenario `name` (None: before accounts)."""
    query = sa.select(jobs.c.owner).where(jobs.c.name == name).distinct()
    with engine(settings).connect() as conn:
        return set(conn.execute(query).scalars())


def delete_job(settings: Settings, job_id: str) -> None:
    """Remove a job row (a deleted draft)."""
    with engine(settings).begin() as conn:
        conn.execute(jobs.delete().where(jobs.c.id == job_id))


def get_job(settings: Settings, job_id: str) -> Job:
    """One job by id; `NotFound` when there is none."""
    with engine(settings).connect() as conn:
        row = conn.execute(sa.select(jobs).where(jobs.c.id == job_id)).first()
    if row is None:
        raise NotFound(f"no scenario job {job_id!r}")
    return _job(row)


def list_jobs(
    settings: Settings,
    *,
    status: str | None = None,
    owner: str | None = None,
    viewer: str | None | bool = False,
    limit: int = 50,
) -> list[Job]:
    """The newest jobs first, optionally of one status and one owner; with `viewer` (a user
    name, or None for an anonymous visitor) only published jobs and that user's own."""
    query = sa.select(jobs).order_by(jobs.c.submitted_at.desc()).limit(limit)
    if status:
        query = query.where(jobs.c.status == status)
    if owner:
        query = query.where(jobs.c.owner == owner)
    if viewer is not False:
        public = jobs.c.visibility.is_(None) | (jobs.c.visibility == "published")
        query = query.where(public | (jobs.c.owner == viewer) if viewer else public)
    with engine(settings).connect() as conn:
        return [_job(r) for r in conn.execute(query)]


def queue_position(settings: Settings, job: Job) -> int:
    """How many queued jobs run before this one (0: next)."""
    query = sa.select(sa.func.count()).where(
        (jobs.c.status == "queued") & (jobs.c.submitted_at < job.submitted_at)
    )
    with engine(settings).connect() as conn:
        return int(conn.execute(query).scalar_one())


def queued_count(settings: Settings) -> int:
    """How many jobs wait to run."""
    query = sa.select(sa.func.count()).where(jobs.c.status == "queued")
    with engine(settings).connect() as conn:
        return int(conn.execute(query).scalar_one())


def count_by_status(settings: Settings) -> dict[str, int]:
    """How many jobs are in each status (for monitoring)."""
    query = sa.select(jobs.c.status, sa.func.count()).group_by(jobs.c.status)
    with engine(settings).connect() as conn:
        return {status: int(count) for status, count in conn.execute(query)}


def recent_submissions(settings: Settings, client: str, window_s: float) -> list[str]:
    """Submission times of a client within the last `window_s` seconds, oldest first."""
    since = _now(-window_s)
    query = (
        sa.select(jobs.c.submitted_at)
        .where((jobs.c.client == client) & (jobs.c.submitted_at >= since))
        .order_by(jobs.c.submitted_at)
    )
    with engine(settings).connect() as conn:
        return [r[0] for r in conn.execute(query)]


def claim(settings: Settings, worker: str) -> Job | None:
    """Take the oldest queued job. On PostgreSQL the row is locked `FOR UPDATE SKIP LOCKED`, so
    concurrent workers take different jobs without waiting; on SQLite (no row locks, one writer)
    the compare-and-set on the status alone keeps two workers from sharing one."""
    oldest = (
        sa.select(jobs.c.id)
        .where(jobs.c.status == "queued")
        .order_by(jobs.c.submitted_at)
        .limit(1)
        .with_for_update(skip_locked=True)
    )
    while True:
        with engine(settings).begin() as conn:
            job_id = conn.execute(oldest).scalar()
            if job_id is None:
                return None
            claimed = conn.execute(
                jobs.update()
                .where((jobs.c.id == job_id) & (jobs.c.status == "queued"))
                .values(
                    status="running",
                    worker=worker,
                    started_at=_now(),
                    heartbeat=time.time(),
                    progress="starting",
                    attempts=jobs.c.attempts + 1,
                )
            ).rowcount
        if claimed:
            return get_job(settings, job_id)


def _alive(worker: str) -> bool:
    """Whether a worker id (`host:pid:nonce`) names a live process on this host."""
    host, pid, _ = worker.rsplit(":", 2)
    if host != socket.gethostname():
        return True  # another machine: only its heartbeat can tell
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            return not any(line.startswith("State:\tZ") for line in status)
    except OSError:
        return True


def recover(settings: Settings, *, stale_s: float = STALE_S) -> list[str]:
    """Requeue running jobs whose worker died (or failed them after MAX_ATTEMPTS); returns ids."""
    with engine(settings).connect() as conn:
        running = [_job(r) for r in conn.execute(sa.select(jobs).where(jobs.c.status == "running"))]
    requeued = []
    for job in running:
        stale = (job.heartbeat or 0) < time.time() - stale_s
        if job.worker and _alive(job.worker) and not stale:
            continue
        if job.attempts >= MAX_ATTEMPTS:
            error = f"the worker died {job.attempts} times while running this job"
            finish(settings, job.id, "failed", error=error)
            continue
        with engine(settings).begin() as conn:
            conn.execute(
                jobs.update()
                .where((jobs.c.id == job.id) & (jobs.c.status == "running"))
                .values(status="queued", worker=None, progress="requeued after a worker stopped")
            )
        requeued.append(job.id)
    return requeued


def release(settings: Settings, job_id: str) -> None:
    """Give a running job back to the queue (its worker was asked to stop; not an attempt)."""
    with engine(settings).begin() as conn:
        conn.execute(
            jobs.update()
            .where((jobs.c.id == job_id) & (jobs.c.status == "running"))
            .values(
                status="queued",
                worker=None,
                progress="requeued (worker stopped)",
                attempts=sa.case((jobs.c.attempts > 0, jobs.c.attempts - 1), else_=0),
            )
        )


def finish(settings: Settings, job_id: str, status: str, **values: Any) -> None:
    encoded = {
        k: json.dumps(v) if k in ("summary", "versions", "maps") else v for k, v in values.items()
    }
    update(settings, job_id, status=status, finished_at=_now(), progress=status, **encoded)


def client_id(settings: Settings, address: str) -> str:
    """A keyed hash of a client address: enough to rate-limit, useless to identify anyone."""
    return keyed_hash(address, settings.hash_key.encode()) if address else ""


def submit(
    settings: Settings, spec_dict: dict[str, Any], *, client: str = "", owner: str | None = None
) -> Job:
    """Validate a scenario (the spec, and its street names against the published roads) and
    queue it. No city model is built here: the worker applies the edits, and a closure that
    cuts zones off fails the job with that message (`POST /api/scenarios/validate` tells
    beforehand). Raises `SpecError` naming the edit and the problem; nothing is queued then."""
    spec = parse_scenario(spec_dict)
    check_names(settings, spec)
    return enqueue(settings, spec, spec_dict, client=client, owner=owner)
