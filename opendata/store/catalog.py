"""The catalog: datasets, their immutable versions and the history of runs (SQLAlchemy Core).

SQLite in WAL mode by default, so many API workers read while one pipeline writes; PostgreSQL
by URL (`postgresql+psycopg://...`, the `postgres` extra). The schema is Alembic's
(`schema.py`); the tables below mirror it for queries. A version row is inserted only after
its files are in place (see `publish.py`), so what the catalog lists is always complete.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from opendata.errors import NotFound
from opendata.store import schema

meta = sa.MetaData()

datasets = sa.Table(
    "datasets",
    meta,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("spec", sa.Text, nullable=False),  # JSON of the spec as loaded
    sa.Column("kind", sa.String(16), nullable=False, default="dataset"),  # dataset | scenario
    sa.Column("current_version", sa.Integer, nullable=True),
    sa.Column("created_at", sa.String(32), nullable=False),
    sa.Column("updated_at", sa.String(32), nullable=False),
)

versions = sa.Table(
    "versions",
    meta,
    sa.Column("dataset", sa.String(64), sa.ForeignKey("datasets.name"), primary_key=True),
    sa.Column("version", sa.Integer, primary_key=True),
    sa.Column("content_hash", sa.String(64), nullable=False),
    sa.Column("path", sa.Text, nullable=False),  # relative to the data dir
    sa.Column("rows", sa.Integer, nullable=False),
    sa.Column("bbox", sa.Text, nullable=True),  # JSON [minx, miny, maxx, maxy] in EPSG:4326
    sa.Column("source_crs", sa.String(32), nullable=True),
    sa.Column("columns", sa.Text, nullable=False),  # JSON list of {name, type, unit, ...}
    sa.Column("report", sa.Text, nullable=False),  # JSON quality report
    sa.Column("provenance", sa.Text, nullable=False),  # JSON: spec hash, source hash, code version
    sa.Column("size_bytes", sa.BigInteger, nullable=False),
    sa.Column("created_at", sa.String(32), nullable=False),
)

runs = sa.Table(
    "runs",
    meta,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("dataset", sa.String(64), nullable=False, index=True),
    sa.Column("started_at", sa.String(32), nullable=False),
    sa.Column("finished_at", sa.String(32), nullable=True),
    sa.Column("status", sa.String(16), nullable=False),  # published | unchanged | failed
    sa.Column("version", sa.Integer, nullable=True),
    sa.Column("message", sa.Text, nullable=True),
    sa.Column("report_dir", sa.Text, nullable=True),
)

# Accounts of the people who may write (scenario planners, publishers, admins). They live in the
# catalog DB beside what they publish; `api.auth` owns the logic. Tokens and sessions are stored
# as SHA-256 of high-entropy random secrets, passwords as argon2 hashes.
users = sa.Table(
    "users",
    meta,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("role", sa.String(16), nullable=False),  # planner | publisher | admin
    sa.Column("password_hash", sa.Text, nullable=True),
    sa.Column("failed_logins", sa.Integer, nullable=False, default=0),
    sa.Column("locked_until", sa.String(32), nullable=True),
    sa.Column("created_at", sa.String(32), nullable=False),
)

credentials = sa.Table(
    "credentials",
    meta,
    sa.Column("secret_hash", sa.String(64), primary_key=True),
    sa.Column("user", sa.String(64), sa.ForeignKey("users.name"), nullable=False, index=True),
    sa.Column("kind", sa.String(8), nullable=False),  # token | session
    sa.Column("created_at", sa.String(32), nullable=False),
    sa.Column("expires_at", sa.String(32), nullable=True),
)


def now() -> str:
    """UTC timestamp in ISO 8601 with seconds."""
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True)
class Version:
    """One published, immutable version of a dataset."""

    dataset: str
    version: int
    content_hash: str
    path: str
    rows: int
    bbox: list[float] | None
    source_crs: str | None
    columns: list[dict[str, Any]]
    report: dict[str, Any]
    provenance: dict[str, Any]
    size_bytes: int
    created_at: str


@dataclass(frozen=True)
class Dataset:
    """A dataset as the catalog knows it: its spec and its current version (if any)."""

    name: str
    spec: dict[str, Any]
    kind: str
    current_version: int | None
    created_at: str
    updated_at: str


def _version(row: Any) -> Version:
    return Version(
        dataset=row.dataset,
        version=row.version,
        content_hash=row.content_hash,
        path=row.path,
        rows=row.rows,
        bbox=json.loads(row.bbox) if row.bbox else None,
        source_crs=row.source_crs,
        columns=json.loads(row.columns),
        report=json.loads(row.report),
        provenance=json.loads(row.provenance),
        size_bytes=row.size_bytes,
        created_at=row.created_at,
    )


def _dataset(row: Any) -> Dataset:
    return Dataset(
        row.name,
        json.loads(row.spec),
        row.kind,
        row.current_version,
        row.created_at,
        row.updated_at,
    )


_ENGINES: dict[str, Engine] = {}
#: Kinds no public read sees: a scenario run still private to its owner, and a withdrawn one
#: (its versions kept for the record). Every reading method below leaves them out.
HIDDEN_KINDS = ("draft", "withdrawn")
_VISIBLE = datasets.c.kind.not_in(HIDDEN_KINDS)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=FULL")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.close()


def engine_for(url: str) -> Engine:
    """One engine per catalog URL per process, its schema migrated to the newest revision;
    SQLite gets WAL and a busy timeout, PostgreSQL a liveness check on checkout."""
    if url not in _ENGINES:
        if url.startswith("sqlite:///"):
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url, pool_pre_ping=not url.startswith("sqlite"))
        if engine.dialect.name == "sqlite":
            sa.event.listen(engine, "connect", _sqlite_pragmas)
        schema.upgrade(engine)
        _ENGINES[url] = engine
    return _ENGINES[url]


class Catalog:
    """Read and write access to the catalog tables."""

    def __init__(self, url: str) -> None:
        self.engine = engine_for(url)

    def begin(self) -> Any:
        """A transaction (context manager yielding a Connection)."""
        return self.engine.begin()

    # -- reading ---------------------------------------------------------------------------
    def datasets(self, *, kind: str | None = None) -> list[Dataset]:
        """Public datasets (of one kind); `kind` may also name a hidden one (`draft`)."""
        query = sa.select(datasets).order_by(datasets.c.name)
        query = query.where(datasets.c.kind == kind) if kind else query.where(_VISIBLE)
        with self.engine.connect() as conn:
            return [_dataset(r) for r in conn.execute(query)]

    def dataset(self, name: str, *, hidden: bool = False) -> Dataset:
        """A public dataset by name (`hidden`: drafts and withdrawn ones too)."""
        query = sa.select(datasets).where(datasets.c.name == name)
        with self.engine.connect() as conn:
            row = conn.execute(query if hidden else query.where(_VISIBLE)).first()
        if row is None:
            raise NotFound(f"no dataset named '{name}'")
        return _dataset(row)

    def versions(self, name: str) -> list[Version]:
        query = sa.select(versions).where(versions.c.dataset == name).order_by(versions.c.version)
        with self.engine.connect() as conn:
            return [_version(r) for r in conn.execute(query)]

    def version(self, name: str, version: int | None = None, *, hidden: bool = False) -> Version:
        """A given version, or the current one when `version` is None (`hidden`: also of a
        draft or withdrawn dataset, for the callers that checked who may see it)."""
        dataset = self.dataset(name, hidden=hidden)  # a hidden dataset's versions are hidden too
        if version is None:
            current = dataset.current_version
            if current is None:
                raise NotFound(f"dataset '{name}' has no published version yet")
            version = current
        query = sa.select(versions).where(
            (versions.c.dataset == name) & (versions.c.version == version)
        )
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        if row is None:
            raise NotFound(f"dataset '{name}' has no version {version}")
        return _version(row)

    def current(self) -> list[tuple[Dataset, Version]]:
        """Every dataset with a published version, with that version."""
        query = (
            sa.select(datasets, versions)
            .join(
                versions,
                (versions.c.dataset == datasets.c.name)
                & (versions.c.version == datasets.c.current_version),
            )
            .where(_VISIBLE)
            .order_by(datasets.c.name)
        )
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return [(_dataset(r), _version(r)) for r in rows]

    def runs(self, name: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
        query = sa.select(runs).order_by(runs.c.id.desc()).limit(limit)
        if name:
            query = query.where(runs.c.dataset == name)
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(query)]

    def run_counts(self) -> dict[str, int]:
        """How many ingest runs ended in each status (for monitoring)."""
        query = sa.select(runs.c.status, sa.func.count()).group_by(runs.c.status)
        with self.engine.connect() as conn:
            return {status: int(count) for status, count in conn.execute(query)}

    # -- writing ---------------------------------------------------------------------------
    def start_run(self, name: str) -> int:
        with self.begin() as conn:
            result = conn.execute(
                runs.insert().values(dataset=name, started_at=now(), status="running")
            )
            return int(result.inserted_primary_key[0])

    def mark_interrupted(self, name: str) -> int:
        """Runs of `name` still marked running belong to killed processes (the caller holds the
        dataset lock, so none is alive): record them as interrupted."""
        with self.begin() as conn:
            result = conn.execute(
                runs.update()
                .where((runs.c.dataset == name) & (runs.c.status == "running"))
                .values(
                    status="interrupted",
                    finished_at=now(),
                    message="the process stopped before finishing (killed or crashed)",
                )
            )
            return int(result.rowcount or 0)

    def finish_run(
        self,
        conn: Connection | None,
        run_id: int,
        *,
        status: str,
        version: int | None = None,
        message: str = "",
        report_dir: str = "",
    ) -> None:
        stmt = (
            runs.update()
            .where(runs.c.id == run_id)
            .values(
                finished_at=now(),
                status=status,
                version=version,
                message=message,
                report_dir=report_dir,
            )
        )
        if conn is not None:
            conn.execute(stmt)
            return
        with self.begin() as own:
            own.execute(stmt)

    def set_kind(self, name: str, kind: str, *, spec: dict[str, Any] | None = None) -> None:
        """Publish a draft, withdraw a published dataset (`kind`), optionally with a new spec."""
        values: dict[str, Any] = {"kind": kind, "updated_at": now()}
        if spec is not None:
            values["spec"] = json.dumps(spec, default=str)
        with self.begin() as conn:
            conn.execute(datasets.update().where(datasets.c.name == name).values(**values))

    def forget(self, name: str) -> list[str]:
        """Delete a draft's rows (never a public dataset's); returns its version paths."""
        with self.begin() as conn:
            kind = conn.execute(sa.select(datasets.c.kind).where(datasets.c.name == name)).scalar()
            if kind != "draft":
                return []
            paths = conn.execute(sa.select(versions.c.path).where(versions.c.dataset == name))
            found = [str(p) for p in paths.scalars()]
            conn.execute(versions.delete().where(versions.c.dataset == name))
            conn.execute(datasets.delete().where(datasets.c.name == name))
        return found

    def next_version(self, conn: Connection, name: str) -> int:
        query = sa.select(sa.func.max(versions.c.version)).where(versions.c.dataset == name)
        return int(conn.execute(query).scalar() or 0) + 1

    def register(
        self, conn: Connection, version: Version, *, spec: dict[str, Any], kind: str
    ) -> None:
        """Insert a version and make it current, inside the caller's transaction."""
        stamp = now()
        exists = conn.execute(
            sa.select(datasets.c.name).where(datasets.c.name == version.dataset)
        ).first()
        values = dict(
            spec=json.dumps(spec, default=str),
            kind=kind,
            current_version=version.version,
            updated_at=stamp,
        )
        if exists:
            conn.execute(
                datasets.update().where(datasets.c.name == version.dataset).values(**values)
            )
        else:
            conn.execute(datasets.insert().values(name=version.dataset, created_at=stamp, **values))
        conn.execute(
            versions.insert().values(
                dataset=version.dataset,
                version=version.version,
                content_hash=version.content_hash,
                path=version.path,
                rows=version.rows,
                bbox=json.dumps(version.bbox) if version.bbox else None,
                source_crs=version.source_crs,
                columns=json.dumps(version.columns),
                report=json.dumps(version.report, default=str),
                provenance=json.dumps(version.provenance, default=str),
                size_bytes=version.size_bytes,
                created_at=version.created_at,
            )
        )
