"""The database schema through Alembic migrations (`opendata/store/migrations/`): one history
for every table the platform keeps (catalog, runs, scenario jobs, and whatever a room adds).

Every process upgrades the database it opens to the newest revision before first use, so
`civic db upgrade` is the explicit form of what `civic ingest` and `civic serve` do anyway.
Concurrent upgraders are serialised (a PostgreSQL advisory lock, a file lock for SQLite).
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

MIGRATIONS = Path(__file__).with_name("migrations")
#: pg_advisory_xact_lock key of schema upgrades ("civic-db" as 8 ASCII bytes, read as an int64).
_UPGRADE_KEY = int.from_bytes(b"civic-db", "big") - 2**63


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


@cache
def head() -> str:
    """The newest revision of the migration history."""
    return str(ScriptDirectory.from_config(_config()).get_current_head())


def current(engine: sa.Engine) -> str | None:
    """The revision the database is at (None: never migrated, maybe created before migrations)."""
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


@contextmanager
def _sqlite_file_lock(engine: sa.Engine) -> Iterator[None]:
    database = engine.url.database
    if not database or database == ":memory:":
        yield
        return
    with open(f"{database}.migrate.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def upgrade(engine: sa.Engine) -> str:
    """Bring the database to the newest revision (a no-op when it is there); returns it.

    A database made before migrations existed is adopted by the first revision, which creates
    only the tables it lacks, and then migrated like any other."""
    if current(engine) == head():
        return head()
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _UPGRADE_KEY})
            _run(conn)
    else:
        with _sqlite_file_lock(engine), engine.begin() as conn:
            _run(conn)
    return head()


def _run(conn: sa.Connection) -> None:
    config = _config()
    config.attributes["connection"] = conn
    command.upgrade(config, "head")
